// Issue 12 item 2: environments own their operations. Stack A on the local cloud, a real Temporal
// dev server, the real opsflow CLI code and the real temporal CLI binary, a real S3 server:
// - provision, deploy and a backup leave an inventory `opsflow env show` prints the same before
//   and after a worker restart (and across the entity's continue-as-new); the backup trusts the
//   host key provisioning pinned, with no hostKey in its policy and no known_hosts file;
// - a deploy held open by a gate holds the environment: a destroy and a second deploy, through
//   `temporal workflow start` and through `opsflow`, are refused at once naming it, nothing done;
// - a holder whose run was terminated does not block the environment;
// - `opsflow destroy stack.a` (only stack-a exists) is refused and deletes nothing; destroy says
//   what it removes and keeps and wants --yes.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { LocalCloud } from '@opsflow/localcloud';
import { createActivities } from '../../../src/activities';
import { backupDepsFromEnv } from '../../../src/activities/backups/backup-steps';
import { buildCli } from '../../../src/client/cli';
import { loadBackupPolicies } from '../../../src/specs/load';
import { PROJECT_ROOT } from '../../../src/paths';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { Inventory } from '../../../src/workflows/environment/inventory';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { RunBackupsResult } from '../../../src/workflows/backups/run-backups';
import { TEST_BACKUP_KEY } from '../../helpers/backup-keys';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { privateTempDir, startSpaces, type TestSpaces } from '../../helpers/spaces';
import { startTemporal, temporalCliPath, workflowBundlePath } from '../../helpers/temporal';
import { until } from '../../helpers/until';

jest.setTimeout(5 * 60_000);
const run = promisify(execFile);
const STACK_A = path.join(PROJECT_ROOT, 'examples', 'stack-a.yaml');
const SECRETS = { STACK_A_POSTGRES_PASSWORD: 'claims-test-password' };

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let spaces: TestSpaces;
let workers: OpsflowWorkers;
let worker: { worker: Worker; done: Promise<void> } | undefined;
let dir: string;
let provisioned: ProvisionResult;
const savedEnv = { ...process.env };

/**
 * A gate on a deploy's first read of the host ('running images'): the deploy holds the claim there.
 * Each gate holds one run, the first to reach it that no earlier gate held.
 */
let gate: { entered: (workflowId: string) => void; release: Promise<void> } | undefined;
const gatedRuns = new Set<string>();
const openGates: (() => void)[] = [];
function armGate(): { entered: Promise<string>; release: () => void } {
  let entered!: (workflowId: string) => void;
  let release!: () => void;
  const enteredP = new Promise<string>((r) => (entered = r));
  const releaseP = new Promise<void>((r) => (release = r));
  gate = { entered, release: releaseP };
  openGates.push(release);
  return { entered: enteredP, release };
}

/** The worker as src/worker.ts wires it (backups from the worker's environment), with the gate. */
function activities() {
  const keyFile = path.join(dir, 'deploy');
  writeFileSync(keyFile, workers.deployKey);
  chmodSync(keyFile, 0o600);
  const workerEnv = {
    DIGITALOCEAN_TOKEN: cloud.token,
    DIGITALOCEAN_API_URL: cloud.apiUrl,
    OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
    // No known_hosts: a backup can only trust the key the inventory pinned.
    OPSFLOW_KNOWN_HOSTS: path.join(dir, 'no-known-hosts'),
    OPSFLOW_BACKUP_KEY: TEST_BACKUP_KEY,
    OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY: spaces.accessKey,
    OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY: spaces.secretKey,
  };
  const real = createActivities({
    opsflowVersion: 'test',
    providers: [],
    backups: backupDepsFromEnv(workerEnv),
    ssh: {
      privateKey: () => workers.deployKey,
      resolveSecret: async (ref) => {
        const value = ref.startsWith('env:') ? (SECRETS as Record<string, string>)[ref.slice(4)] : undefined;
        if (value === undefined) throw new Error(`no test secret for ${ref}`);
        return value;
      },
      retryBackoffMs: { first: 200, max: 1000 },
      heartbeatIntervalMs: 1000,
    },
  });
  return {
    ...real,
    async runRemoteCommand(input: Parameters<typeof real.runRemoteCommand>[0]) {
      const held = gate;
      const ctx = Context.current();
      const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
      if (held && input.label === 'running images' && !gatedRuns.has(workflowId)) {
        gate = undefined;
        gatedRuns.add(workflowId);
        const beat = setInterval(() => ctx.heartbeat(), 1000);
        held.entered(workflowId);
        await held.release.finally(() => clearInterval(beat));
      }
      return real.runRemoteCommand(input);
    },
  };
}

async function startWorker(): Promise<void> {
  const w = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: { codePath: workflowBundlePath() },
    activities: activities(),
  });
  worker = { worker: w, done: w.run() };
}

async function stopWorker(): Promise<void> {
  if (!worker) return;
  worker.worker.shutdown();
  await worker.done;
  worker = undefined;
}

/** Runs the opsflow CLI in this process; returns what it printed, or throws its error. */
async function opsflow(...args: string[]): Promise<string> {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void printed.push(parts.join(' ')));
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((text: string | Uint8Array) => printed.push(String(text)) > 0);
  try {
    await buildCli()
      .exitOverride()
      .parseAsync(['node', 'opsflow', ...args]);
  } catch (err) {
    throw Object.assign(err as Error, { printed: printed.join('\n') });
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return printed.join('\n');
}

async function temporal(...args: string[]): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [...args, '--address', env.address, '--namespace', env.namespace ?? 'default'], {
    maxBuffer: 16 << 20,
  });
  return stdout;
}

async function failureOf(workflowId: string): Promise<ApplicationFailure> {
  const err = await env.client.workflow
    .getHandle(workflowId)
    .result()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

async function activitiesScheduled(workflowId: string): Promise<string[]> {
  const names: string[] = [];
  for (const event of (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) names.push(scheduled.activityType?.name ?? '?');
  }
  return names;
}

const inventory = () => env.client.workflow.getHandle('environment-stack-a').query<Inventory>('inventory');
/** The inventory once the entity has handled the last release (an operation ends as its signal is sent, not handled). */
const released = () => until('stack-a released', async () => ((await inventory()).holder ? undefined : inventory()));

/** What the local cloud holds (its own view, not opsflow's). */
async function cloudHolds(): Promise<Record<string, { name?: string }[]>> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: cloud.controlHeaders })).json() as Promise<
    Record<string, { name?: string }[]>
  >;
}

beforeAll(async () => {
  dir = privateTempDir('claims');
  [env, spaces] = await Promise.all([startTemporal(), startSpaces()]);
  ({ cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1000, actionMs: 150 },
  }));
  workers = await startOpsflowWorkers(env, cloud, SECRETS);
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = env.namespace ?? 'default';
  await startWorker();
});

afterAll(async () => {
  process.env = savedEnv;
  gate = undefined;
  for (const release of openGates) release();
  await stopWorker();
  await workers?.stop();
  await cloud?.stop();
  await spaces?.stop();
  await env?.teardown();
});

test('env show after provision, deploy and a backup: the same hosts, host keys, images, backups and log after a worker restart; the backup found its host key in the inventory', async () => {
  // The entity made ahead with a short history limit, so this run also crosses continue-as-new.
  await env.client.workflow.start('environmentEntity', {
    taskQueue: TASK_QUEUE,
    workflowId: 'environment-stack-a',
    args: [{ environment: 'stack-a', historyLimit: 25 }],
  });

  expect(await opsflow('provision', STACK_A)).toMatch(/Environment stack-a is provisioned\./);
  provisioned = (await env.client.workflow.getHandle('provision-stack-a').result()) as ProvisionResult;
  expect(await opsflow('deploy', 'stack-a', '--set', 'payment=1.0.8')).toMatch(
    /Released to stack-a: payment ghcr\.io\/acme\/payment:1\.0\.8/,
  );

  const policyFile = path.join(dir, 'backup-stack-a.yaml');
  writeFileSync(
    policyFile,
    [
      'name: stack-a-app-files',
      'targets:',
      '  - { name: app-dir, kind: directory, path: /opt/app, exclude: ["./.env"], in: { environment: stack-a, droplet: app } }',
      `destination: { bucket: ${spaces.bucket}, prefix: claims/, endpoint: "${spaces.endpoint}", accessKey: "env:OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY", secretKey: "env:OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY" }`,
      'retention: { keepDays: 7, minVerified: 1 }',
      'verify: { restore: false }',
      'schedule: { every: 24h }',
      '',
    ].join('\n'),
  );
  expect(await opsflow('schedules', 'apply', policyFile)).toMatch(/create {2}backup-stack-a-app-files/);
  const [policy] = loadBackupPolicies(policyFile).policies;
  expect(policy!.targets[0]).not.toHaveProperty('in.hostKey');
  expect(existsSync(path.join(dir, 'no-known-hosts'))).toBe(false);
  const backup = (await env.client.workflow.execute('runBackups', {
    taskQueue: TASK_QUEUE,
    workflowId: 'backup-stack-a-app-files-now',
    args: [{ policy }],
  })) as RunBackupsResult;
  expect([backup.failures, backup.results.map((r) => [r.target, r.ok])]).toEqual([[], [['app-dir', true]]]);
  const described = await env.client.workflow.getHandle('backup-stack-a-app-files-now').describe();
  expect(described.searchAttributes.OpsEnvironment).toEqual(['stack-a']); // the environment, not the policy

  await released();
  const before = await opsflow('env', 'show', 'stack-a');
  const host = provisioned.hosts[0]!;
  expect(before).toContain(`Environment stack-a: provisioned on digitalocean fra1`);
  expect(before).toMatch(new RegExp(`app +${host.address.replace(/\./g, '\\.')} .*host key ${host.hostKey.replace(/[+/]/g, '\\$&')}`));
  expect(before).toMatch(/payment +ghcr\.io\/acme\/payment:1\.0\.8/);
  expect(before).toMatch(/auth +ghcr\.io\/acme\/auth:2\.0\.1/);
  expect(before).toMatch(/stack-a-app-files +schedule backup-stack-a-app-files +targets app-dir \(directory\)/);
  expect(before).toMatch(/provision +succeeded provision-stack-a[\s\S]*deploy +succeeded deploy-stack-a-/);
  expect(await opsflow('env', 'list')).toMatch(/^stack-a +provisioned +1 host\(s\) +1 backup policy +last: deploy succeeded$/m);

  // Continue-as-new happened and carried the inventory.
  const runs: string[] = [];
  for await (const r of env.client.workflow.list({ query: "WorkflowId = 'environment-stack-a'" })) runs.push(r.runId);
  expect(runs.length).toBeGreaterThan(1);

  await stopWorker();
  await startWorker(); // a new worker: no cache, the entity is replayed from its history
  expect(await opsflow('env', 'show', 'stack-a')).toBe(before);
});

test('a deploy held open holds stack-a: destroy and a second deploy, through the temporal CLI and opsflow, are refused at once naming it; nothing is done', async () => {
  const held = armGate();
  const started = await opsflow('deploy', 'stack-a', '--set', 'auth=2.0.2', '--detach');
  const first = /workflow (deploy-stack-a-\S+)/.exec(started)![1]!;
  try {
    expect(await held.entered).toBe(first); // the first deploy holds the claim and waits at its first read of the host
    // destroyEnvironment through the temporal CLI: refused by the claim inside the workflow.
    await temporal(
      'workflow',
      'start',
      '--type',
      'destroyEnvironment',
      '--task-queue',
      TASK_QUEUE,
      '--workflow-id',
      'destroy-stack-a-by-cli',
      '--input',
      '{"environment":"stack-a"}',
    );
    const destroyRefused = await failureOf('destroy-stack-a-by-cli');
    expect(destroyRefused.type).toBe('EnvironmentBusy');
    expect(destroyRefused.message).toContain(`environment stack-a is busy: deploy ${first} is running`);
    expect(await activitiesScheduled('destroy-stack-a-by-cli')).toEqual(['claimEnvironment']);

    // A second deploy through the temporal CLI, from the input opsflow prints.
    const inputFile = path.join(dir, 'deploy.json');
    writeFileSync(inputFile, await opsflow('deploy', 'stack-a', '--set', 'fleet=1.1.3', '--print-input'));
    await temporal(
      'workflow',
      'start',
      '--type',
      'deployRelease',
      '--task-queue',
      TASK_QUEUE,
      '--workflow-id',
      'deploy-stack-a-by-cli',
      '--input-file',
      inputFile,
    );
    const deployRefused = await failureOf('deploy-stack-a-by-cli');
    expect([deployRefused.type, deployRefused.message]).toEqual(['EnvironmentBusy', expect.stringContaining(`deploy ${first} is running`)]);
    expect(await activitiesScheduled('deploy-stack-a-by-cli')).toEqual(['claimEnvironment']);

    // Through opsflow: destroy is refused before it starts anything; a deploy started is refused by its claim.
    await expect(opsflow('destroy', 'stack-a', '--yes')).rejects.toThrow(
      `environment stack-a is busy: deploy ${first} is running; nothing was deleted`,
    );
    const viaOpsflow = (await opsflow('deploy', 'stack-a', '--set', 'fleet=1.1.3').catch((e: unknown) => e)) as WorkflowFailedError;
    expect([(viaOpsflow.cause as ApplicationFailure).type, viaOpsflow.cause?.message]).toEqual([
      'EnvironmentBusy',
      expect.stringContaining(`deploy ${first} is running`),
    ]);

    expect((await inventory()).holder).toMatchObject({ workflowId: first, operation: 'deploy' });
  } finally {
    held.release();
    // The first deploy was never disturbed (and ends before the next test, pass or fail).
    await env.client.workflow.getHandle(first).result();
  }
  // The cloud still holds all of stack-a.
  const holds = await cloudHolds();
  expect([holds.droplets?.map((d) => d.name), holds.volumes?.map((v) => v.name)]).toEqual([['stack-a-app'], ['stack-a-pgdata']]);
  const after = await released();
  expect([after.holder, after.application?.images.auth, after.operations.at(-1)]).toEqual([
    undefined,
    'ghcr.io/acme/auth:2.0.2',
    expect.objectContaining({ workflowId: first, outcome: 'succeeded' }),
  ]);
});

test('a holder whose run was terminated does not block the environment: the next operation takes over and the log says it was abandoned', async () => {
  const held = armGate();
  const started = await opsflow('deploy', 'stack-a', '--set', 'booking=3.2.1', '--detach');
  const dead = /workflow (deploy-stack-a-\S+)/.exec(started)![1]!;
  try {
    expect(await held.entered).toBe(dead);
    await env.client.workflow.getHandle(dead).terminate('the operator killed it mid-way');
  } finally {
    held.release();
  }
  expect((await inventory()).holder?.workflowId).toBe(dead); // it never released

  expect(await opsflow('deploy', 'stack-a', '--set', 'booking=3.2.1')).toMatch(
    /Released to stack-a: booking ghcr\.io\/acme\/booking:3\.2\.1/,
  );
  const after = await released();
  expect(after.holder).toBeUndefined();
  expect(after.operations.find((o) => o.workflowId === dead)).toMatchObject({
    outcome: 'abandoned',
    detail: 'its run ended terminated without releasing the environment',
  });
  expect(after.operations.at(-1)).toMatchObject({ operation: 'deploy', outcome: 'succeeded' });
});

test('`opsflow destroy stack.a` with only stack-a existing is refused and deletes nothing; destroy says what it removes and keeps, wants --yes, and with --wait waits for the running deploy', async () => {
  await expect(opsflow('destroy', 'stack.a', '--yes')).rejects.toThrow(
    '"stack.a" is not an environment name (lowercase letters, digits and dashes',
  );
  await temporal(
    'workflow',
    'start',
    '--type',
    'destroyEnvironment',
    '--task-queue',
    TASK_QUEUE,
    '--workflow-id',
    'destroy-stack.a',
    '--input',
    '{"environment":"stack.a"}',
  );
  const refused = await failureOf('destroy-stack.a');
  expect([refused.type, refused.message]).toEqual(['InvalidInput', expect.stringContaining('"stack.a" is not an environment name')]);
  expect(await activitiesScheduled('destroy-stack.a')).toEqual([]);
  const holds = await cloudHolds();
  expect([holds.droplets?.map((d) => d.name), holds.volumes?.map((v) => v.name), holds.firewalls?.length, holds.vpcs?.length]).toEqual([
    ['stack-a-app'],
    ['stack-a-pgdata'],
    1,
    1,
  ]);

  // Not at a terminal and no --yes: the plan is printed, nothing is started.
  const asked = await opsflow('destroy', 'stack-a').then(
    () => undefined,
    (e: Error & { printed?: string }) => e,
  );
  expect(asked?.message).toContain('not destroyed: confirm with --yes');
  expect(asked?.printed).toMatch(
    /removes everything tagged opsflow-env:stack-a in the cloud:\n {2}- droplet stack-a-app \(\S+\)\n {2}- volume stack-a-pgdata/,
  );
  expect(asked?.printed).toMatch(
    /It keeps:\n {2}- schedule backup-stack-a-app-files \(policy stack-a-app-files\), its backups in s3:\/\/backups\/claims\//,
  );
  expect((await cloudHolds()).droplets).toHaveLength(1);

  // --wait: a destroy started while a deploy holds stack-a waits its turn (its claim pending,
  // nothing deleted), and runs once the deploy has ended.
  const held = armGate();
  const holder = /workflow (deploy-stack-a-\S+)/.exec(await opsflow('deploy', 'stack-a', '--set', 'fleet=1.1.3', '--detach'))![1]!;
  let destroyed: Promise<string> | undefined;
  try {
    expect(await held.entered).toBe(holder);
    destroyed = opsflow('destroy', 'stack-a', '--yes', '--wait');
    destroyed.catch(() => undefined); // awaited below
    const waiting = await until('the destroy to start', async () => {
      for await (const w of env.client.workflow.list({ query: "WorkflowType = 'destroyEnvironment' AND ExecutionStatus = 'Running'" }))
        return w.workflowId;
      return undefined;
    });
    await until('its claim to be pending', async () =>
      (await env.client.workflow.getHandle(waiting).describe()).raw.pendingActivities?.some(
        (a) => a.activityType?.name === 'claimEnvironment',
      )
        ? true
        : undefined,
    );
    expect([(await cloudHolds()).droplets?.length, (await inventory()).holder?.workflowId]).toEqual([1, holder]);
  } finally {
    held.release();
  }
  expect(await destroyed).toMatch(/Removed 1 droplet\(s\), 1 volume\(s\), 1 firewall\(s\), 1 VPC\(s\), 1 reserved IP\(s\)\./);
  const log = (await released()).operations;
  const [deployRun, destroyRun] = [log.find((o) => o.workflowId === holder)!, log.at(-1)!];
  expect([deployRun.outcome, destroyRun.operation, destroyRun.outcome, destroyRun.startedAt >= deployRun.endedAt!]).toEqual([
    'succeeded',
    'destroy',
    'succeeded',
    true,
  ]);
  const shown = await opsflow('env', 'show', 'stack-a');
  expect(shown).toMatch(/Environment stack-a: destroyed/);
  expect(shown).toMatch(/stack-a-app-files +schedule backup-stack-a-app-files/); // kept, and still listed
  expect(shown).toMatch(/destroy +succeeded destroy-stack-a-/);
  expect(await env.client.schedule.getHandle('backup-stack-a-app-files').describe()).toBeDefined();
});
