// `opsflow localcloud start` makes the control token, keeps it where the other `opsflow localcloud`
// commands find it (0600), never prints it, and those commands work with it while the API token
// opens nothing of the control API.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildCli } from '../../../src/client/cli';
import { PROJECT_ROOT } from '../../../src/paths';
import { exitOf, freePort } from '../../../test/helpers/processes';
import { tempDir } from '../../../test/helpers/temp';

jest.setTimeout(3 * 60_000);

const stateDir = tempDir('localcloud-cli');
const cloudDir = path.join(stateDir, 'localcloud');
const savedEnv = { ...process.env };
let child: ChildProcess;
let printed = '';

beforeAll(async () => {
  process.env.OPSFLOW_STATE_DIR = stateDir;
  const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
  const args = [
    path.join(PROJECT_ROOT, 'src', 'client', 'cli.ts'),
    'localcloud',
    'start',
    '--port',
    String(await freePort()),
    '--ssh-port',
    String(await freePort()),
    '--no-spaces',
  ];
  child = spawn(tsx, args, { env: { ...process.env, OPSFLOW_STATE_DIR: stateDir } });
  child.stdout?.on('data', (c: Buffer) => (printed += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (printed += c.toString()));
  // Started once it has said where its state is (the last line before it waits).
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', () => printed.includes('Use it:') && resolve());
    child.once('exit', (code) => reject(new Error(`localcloud start exited with ${code}:\n${printed}`)));
  });
});
afterAll(async () => {
  process.env = savedEnv;
  child?.kill('SIGTERM');
  if (child) await exitOf(child);
});

async function opsflow(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  try {
    await buildCli()
      .exitOverride()
      .parseAsync(['node', 'opsflow', ...args]);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

test('the control token is kept 0600 where the CLI finds it, and never printed', () => {
  const controlToken = readFileSync(path.join(cloudDir, 'control-token'), 'utf8').trim();
  const endpoint = JSON.parse(readFileSync(path.join(cloudDir, 'endpoint.json'), 'utf8')) as { token: string; controlToken: string };
  expect(controlToken).toMatch(/^lcc_[0-9a-f]{64}$/);
  expect(endpoint.controlToken).toBe(controlToken);
  expect(endpoint.token).not.toBe(controlToken);
  expect(statSync(path.join(cloudDir, 'control-token')).mode & 0o777).toBe(0o600);
  expect(statSync(path.join(cloudDir, 'endpoint.json')).mode & 0o777).toBe(0o600);
  expect(printed).toContain(`Control token:   in ${cloudDir}/control-token`);
  expect(printed).not.toContain(controlToken);
});

test('the localcloud commands use it; the API token opens nothing of the control API', async () => {
  expect(JSON.parse(await opsflow('localcloud', 'faults', '--hold-actions', 'power_off,reboot'))).toMatchObject({
    holdActions: ['power_off', 'reboot'],
  });
  expect(await opsflow('localcloud', 'status')).toContain('"pending_actions": 0');
  await opsflow('localcloud', 'faults', '--clear');
  const endpoint = JSON.parse(readFileSync(path.join(cloudDir, 'endpoint.json'), 'utf8')) as { apiUrl: string; token: string };
  const withApiToken = await fetch(`${endpoint.apiUrl}/_localcloud/faults`, { headers: { Authorization: `Bearer ${endpoint.token}` } });
  expect(withApiToken.status).toBe(401);
});
