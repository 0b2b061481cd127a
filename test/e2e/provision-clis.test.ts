// Issue 4: stack A provisioned on the local cloud twice, as a user would do it: once with the
// `temporal` CLI (`opsflow provision --print-input` makes the input file), once with `opsflow
// provision`, each followed by `opsflow destroy`. The real Temporal CLI binary, the real opsflow
// CLI code, a real dev server, the local cloud's SSH hosts and both workers.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildCli } from '../../src/client/cli';
import type { LocalCloud } from '@opsflow/localcloud';
import { PROJECT_ROOT } from '../../src/paths';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import { startLocalCloud } from '../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../helpers/opsflow-workers';
import { tempDir } from '../helpers/temp';
import { startTemporal, temporalCliPath } from '../helpers/temporal';

jest.setTimeout(4 * 60_000);
const run = promisify(execFile);
const STACK_A = path.join(PROJECT_ROOT, 'examples', 'stack-a.yaml');
const SERVICES = [3000, 8081, 8082, 8083, 8084];

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: OpsflowWorkers;
const savedEnv = { ...process.env };

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1000, actionMs: 150 },
  }));
  workers = await startOpsflowWorkers(env, cloud, { STACK_A_POSTGRES_PASSWORD: 'a-test-password' });
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = env.namespace ?? 'default';
});
afterAll(async () => {
  process.env = savedEnv;
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
});

/** Runs the opsflow CLI in this process and returns what it printed. */
async function opsflow(...args: string[]): Promise<string> {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void printed.push(parts.join(' ')));
  try {
    await buildCli()
      .exitOverride()
      .parseAsync(['node', 'opsflow', ...args]);
  } finally {
    log.mockRestore();
  }
  return printed.join('\n');
}

async function inventory(): Promise<Record<string, unknown[]>> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: cloud.controlHeaders })).json() as Promise<
    Record<string, unknown[]>
  >;
}

async function expectStackAServing(result: Pick<ProvisionResult, 'droplets' | 'urls'>): Promise<void> {
  const address = result.droplets[0]!.publicIp;
  expect([...result.urls].sort()).toEqual(SERVICES.map((port) => `http://${address}:${port}/health`));
  for (const url of result.urls) expect((await fetch(url)).status).toBe(200);
}

async function expectNothingLeft(): Promise<void> {
  const inv = await inventory();
  expect([inv.droplets, inv.volumes, inv.firewalls, inv.vpcs, inv.reserved_ips]).toEqual([[], [], [], [], []]);
}

test('with the temporal CLI: workflow start from the input opsflow prints, then the result', async () => {
  const input = path.join(tempDir('provision-input'), 'stack-a.json');
  writeFileSync(input, await opsflow('provision', STACK_A, '--print-input'));
  await workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const cli = temporalCliPath();
    const where = ['--address', env.address, '--namespace', env.namespace ?? 'default'];
    await run(cli, [
      'workflow',
      'start',
      '--type',
      'provisionEnvironment',
      '--task-queue',
      TASK_QUEUE,
      '--workflow-id',
      'provision-stack-a',
      '--input-file',
      input,
      ...where,
    ]);
    const { stdout } = await run(cli, ['workflow', 'result', '--workflow-id', 'provision-stack-a', '--output', 'json', ...where], {
      maxBuffer: 16 << 20,
    });
    const outcome = JSON.parse(stdout) as { status: string; result: ProvisionResult };
    expect(outcome.status).toMatch(/COMPLETED/);
    const result = outcome.result;
    expect(result.volumes).toEqual([
      expect.objectContaining({
        name: 'stack-a-pgdata',
        mountPoint: '/mnt/pgdata',
        device: '/dev/disk/by-id/scsi-0DO_Volume_stack-a-pgdata',
      }),
    ]);
    expect(result.reservedIp).toMatch(/\./);
    await expectStackAServing(result);
    expect(await opsflow('destroy', 'stack-a', '--yes')).toMatch(
      /Removed 1 droplet\(s\), 1 volume\(s\), 1 firewall\(s\), 1 VPC\(s\), 1 reserved IP\(s\)/,
    );
  });
  await expectNothingLeft();
});

test('with opsflow provision: progress, then the result with addresses, mount, reserved IP and healthy URLs', async () => {
  await workers.withWorkflowWorker(TASK_QUEUE, async () => {
    // The first run's workflow id is taken by a closed run; the CLI starts a new one.
    const printed = await opsflow('provision', STACK_A);
    expect(printed).toMatch(/Environment stack-a is provisioned\./);
    expect(printed).toMatch(/volume {6}stack-a-pgdata \(\S+\) on stack-a-app, mounted at \/mnt\/pgdata/);
    expect(printed).toMatch(/reserved IP \d+\.\d+\.\d+\.\d+/);
    for (const port of SERVICES) expect(printed).toMatch(new RegExp(`healthy +http://127\\.[0-9.]+:${port}/health`));
    const address = /droplet +stack-a-app \(\d+\) +public (\S+)/.exec(printed)![1]!;
    expect((await inventory()).droplets).toHaveLength(1);
    await expectStackAServing({
      droplets: [{ publicIp: address } as ProvisionResult['droplets'][number]],
      urls: SERVICES.map((port) => `http://${address}:${port}/health`),
    });
    await opsflow('destroy', 'stack-a', '--yes');
  });
  await expectNothingLeft();
});
