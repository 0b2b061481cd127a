// `opsflow up`, `status` and `doctor` end to end, as a newcomer runs them: a real dev server with
// its Web UI, a real worker process, history that survives a restart, and a clean Ctrl-C.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { isPortInUse } from '../../src/devstack/ports';
import { temporalCliPath } from '../helpers/temporal';
import { exitOf, freePort, runCli, startCli } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

let env: NodeJS.ProcessEnv;
let ports: { port: number; uiPort: number; metricsPort: number; localcloudPort: number };
let upArgs: string[];
const stateDir = tempDir('up');

beforeAll(async () => {
  ports = { port: await freePort(), uiPort: await freePort(), metricsPort: await freePort(), localcloudPort: await freePort() };
  upArgs = ['up', '--port', String(ports.port), '--ui-port', String(ports.uiPort), '--metrics-port', String(ports.metricsPort), '--localcloud-port', String(ports.localcloudPort)];
  env = {
    ...process.env,
    OPSFLOW_STATE_DIR: stateDir,
    // Its droplets get their own loopback network, apart from a developer's `npm start` (127.100.x.y).
    OPSFLOW_LOCALCLOUD_HOST_NETWORK: '99',
    TEMPORAL_CLI_PATH: temporalCliPath(),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.port}`,
    DIGITALOCEAN_TOKEN: '',
  };
});

function listWorkflows(): string {
  return execFileSync(temporalCliPath(), ['workflow', 'list', '--address', `127.0.0.1:${ports.port}`], { encoding: 'utf8' });
}

test('up serves the Web UI, runs a first workflow, notices a second up, and stops on Ctrl-C', async () => {
  const { child, output } = await startCli(upArgs, env, 'Press Ctrl-C');
  try {
    // The demo: stack A's infrastructure on the local cloud.
    expect(output()).toMatch(/Environment stack-a is provisioned\.[\s\S]*reserved IP 127\.200\./);
    const firstId = /First workflow (\S+) completed/.exec(output())?.[1];
    expect(firstId).toMatch(/^check-worker-/);

    const ui = await fetch(`http://127.0.0.1:${ports.uiPort}/`);
    expect(ui.status).toBe(200);
    expect(listWorkflows()).toContain(firstId);

    const metrics = await (await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/temporal_worker_start/);

    const workflowStatus = await runCli(['status', firstId as string], env);
    expect(workflowStatus.code).toBe(0);
    expect(workflowStatus.stdout).toContain('checkWorker  COMPLETED');
    expect(workflowStatus.stdout).toContain('step: done');

    const examples = path.join(__dirname, '..', '..', 'examples');
    // Provisioning again finds the demo's resources instead of making new ones.
    const provision = await runCli(['provision', path.join(examples, 'stack-a.yaml')], env);
    expect(provision.stderr).toBe('');
    expect(provision.code).toBe(0);
    expect(provision.stdout).toContain('Provisioning stack-a: workflow provision-stack-a');
    expect(provision.stdout).toMatch(/✔ create droplets/);
    expect(provision.stdout).toMatch(/\+ droplet stack-a-app \d+/);
    expect(provision.stdout).toMatch(/Environment stack-a is provisioned\.\n[\s\S]*reserved IP 127\.200\./);

    const badSpec = path.join(stateDir, 'bad.yaml');
    writeFileSync(badSpec, 'name: Bad_Name\nregion: fra1\ndroplets: []\nssh: { key: deploy }\n');
    const refused = await runCli(['provision', badSpec], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('invalid environment spec');
    expect(refused.stderr).toContain('name: must be lowercase');
    expect(refused.stderr).toContain('droplets: ');
    expect(refused.stderr).not.toMatch(/^\s+at /m);

    const destroy = await runCli(['destroy', 'stack-a'], env);
    expect(destroy.code).toBe(0);
    expect(destroy.stdout).toContain('Removed 1 droplet(s), 1 volume(s), 1 firewall(s), 1 VPC(s), 1 reserved IP(s).');

    const faults = await runCli(['localcloud', 'faults', '--dark-region', 'fra1', '--seed', '7'], env);
    expect(faults.code).toBe(0);
    expect(JSON.parse(faults.stdout)).toMatchObject({ seed: 7, darkRegions: ['fra1'] });
    const status = await runCli(['localcloud', 'status'], env);
    expect(status.stdout).toContain(`Local cloud API: http://127.0.0.1:${ports.localcloudPort}`);
    expect(status.stdout).toContain(`Spaces (S3):     http://127.0.0.1:${ports.localcloudPort + 1}`);
    expect((await runCli(['localcloud', 'reset'], env)).stdout).toContain('Local cloud emptied.');

    const again = await runCli(upArgs, env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`opsflow stack already running (pid ${child.pid}`);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exitOf(child)).toBe(0);
  expect(output()).toContain('worker stopped.');
  expect(output()).toContain('local cloud stopped.');
  expect(output()).toContain('Temporal dev server stopped.');
  expect(await isPortInUse('127.0.0.1', ports.port)).toBe(false);
  expect(existsSync(path.join(stateDir, 'stack.json'))).toBe(false);
});

test('a restarted stack still has the earlier history, and doctor reports every check', async () => {
  const { child } = await startCli(upArgs, env, 'Press Ctrl-C');
  try {
    // Two checkWorker runs now: the one from the first start survived the restart.
    expect(listWorkflows().match(/checkWorker/g)?.length).toBeGreaterThanOrEqual(2);

    const doctor = await runCli(['doctor'], env);
    expect(doctor.stdout).toMatch(/^ok +temporal +reached 127\.0\.0\.1:\d+ namespace default/m);
    expect(doctor.stdout).toMatch(/^ok +search attributes +OpsEnvironment, OpsOperation, OpsCloud/m);
    expect(doctor.stdout).toMatch(/^ok +worker +1 worker\(s\) polling task queue opsflow/m);
    expect(doctor.stdout).toMatch(/^ok +worker round trip +check-worker-\S+ ran on/m);
    expect(doctor.stdout).toMatch(new RegExp(`^ok +local cloud +no DIGITALOCEAN_TOKEN, so opsflow uses the local cloud at http://127\\.0\\.0\\.1:${ports.localcloudPort} \\(account ops@opsflow\\.local`, 'm'));
    expect(doctor.stdout).toMatch(/^warn +ssh keys +none configured/m);
    expect(doctor.code).toBe(0);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exitOf(child)).toBe(0);
});

test('doctor against a wrong DigitalOcean token says it was refused, with no stack trace', async () => {
  // A local endpoint that answers as DigitalOcean does to a bad token.
  const server = http.createServer((req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'Unauthorized', message: 'Unable to authenticate you' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  try {
    const doctor = await runCli(['doctor'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1', DIGITALOCEAN_TOKEN: 'dop_v1_wrong', DIGITALOCEAN_API_URL: `http://127.0.0.1:${port}` });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/^fail +digitalocean +the token was refused \(401 Unauthorized\); set DIGITALOCEAN_TOKEN to a valid personal access token$/m);
    expect(doctor.stdout).toMatch(/^fail +temporal +cannot reach Temporal at 127\.0\.0\.1:1/m);
    expect(doctor.stdout + doctor.stderr).not.toMatch(/^\s+at /m);
    expect(doctor.stdout + doctor.stderr).not.toContain('dop_v1_wrong');
  } finally {
    server.close();
  }
});
