// The production topology (docker-compose.temporal.yml) proven on this machine: the Temporal
// server of the version the compose file pins, on PostgreSQL with the compose file's settings and
// its admin job (test/helpers/production-temporal.ts), runs stack A end to end through the
// production worker (dist/worker.js) against the local cloud: provisioned, serving, found by its
// search attributes, destroyed. Then the server is SIGKILLed in the middle of three runs and
// started again on the same databases, each time once the worker went on alone
// (test/helpers/server-restart.ts): a provisioning inside its droplet step (it finishes once,
// nothing doubled), a release with rollback inside its health gate (rolled back once to the
// previous tags), and a backup while its dump is uploaded in parts (one backup, verified, no
// upload left pending).
import type { ChildProcess } from 'node:child_process';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { generateBackupKey } from '../../src/backups/backup-key';
import { pendingUploads } from '../../src/backups/spaces';
import { buildDeployInput } from '../../src/client/deploy';
import { provisionWorkflowId } from '../../src/names/workflow-ids';
import type { BackupPolicy } from '../../src/specs/backup-policy';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import { OPS_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import type { RunBackupsResult } from '../../src/workflows/backups/run-backups';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import type { OperationStatus } from '../../src/workflows/shared/status';
import { backupPolicyOf, backupWorkerEnv, createBackupSource, dumpKeyOf } from '../helpers/backup-fixtures';
import { CHAOS_SECRET, stackA, stackASecretEnv, startChaosCloud, until, type ChaosCloud } from '../helpers/chaos-harness';
import { readComposeTemporal } from '../helpers/compose-temporal';
import { dropPostgres, psql, uniqueDbName } from '../helpers/databases';
import { expectExactlyOneEach, expectHostsServing } from '../helpers/environment-checks';
import { leftovers } from '../helpers/provision-harness';
import { killProcess } from '../helpers/production-worker';
import { startProductionTemporal, type ProductionTemporal } from '../helpers/production-temporal';
import { answeredWith, expectRunningOnce, STACK_A_PORTS } from '../helpers/release-checks';
import { lookAtRun } from '../helpers/run-activities';
import { holdDropletLookups, restartServerAtDropletCreate, restartServerMidRun } from '../helpers/server-restart';
import { keysUnder, startSpaces, type TestSpaces } from '../helpers/spaces';

jest.setTimeout(10 * 60_000);

let temporal: ProductionTemporal;
let chaos: ChaosCloud;
let worker: ChildProcess | undefined;
let spaces: TestSpaces;
let policy: BackupPolicy;
/** The environment the restart test provisions; the release runs on it. */
let restarted: { result: ProvisionResult; spec: ReturnType<typeof stackA> } | undefined;
const source = uniqueDbName('prod_backup_src');
const BACKUP_PREFIX = 'production/';
const tierStarted = Date.now();
const seconds = (since: number) => Math.round((Date.now() - since) / 1000);

beforeAll(async () => {
  const started = Date.now();
  temporal = await startProductionTemporal();
  console.log(`Temporal ${temporal.serverVersion} on PostgreSQL (${temporal.databases.history}) answering after ${seconds(started)} s`);
  // A droplet stays new for 5 s: the restart below finds it being created.
  chaos = await startChaosCloud({ timing: { dropletCreateMs: 5000, actionMs: 300 } });
  spaces = await startSpaces();
  await createBackupSource(source);
  policy = backupPolicyOf('production', spaces, source, BACKUP_PREFIX);
  // Stack A's database password and the policy's Spaces keys, both handed out.
  const secretEnv = `${stackASecretEnv(CHAOS_SECRET).OPSFLOW_SECRET_ENV},OPSFLOW_SECRET_*`;
  worker = await chaos.startWorker(temporal.address, { ...backupWorkerEnv(spaces, generateBackupKey()), OPSFLOW_SECRET_ENV: secretEnv });
});
afterAll(async () => {
  if (worker) await killProcess(worker);
  await chaos?.cloud.stop();
  await spaces?.stop();
  await dropPostgres(source);
  await temporal?.stop();
  console.log(`production tier: ${seconds(tierStarted)} s in all`);
});

const provision = (name: string, ipRange: string) =>
  temporal.client.workflow.start('provisionEnvironment', {
    taskQueue: TASK_QUEUE,
    workflowId: provisionWorkflowId(name),
    args: [{ spec: stackA(name, ipRange) }],
  });

/**
 * `workflowId status` of every run the server's visibility (PostgreSQL) lists for `query`, once it
 * lists `expected` (visibility is written after the run closes).
 */
function listedOnce(query: string, expected: string): Promise<string[]> {
  return until(`${expected} listed for ${query}`, async () => {
    const runs: string[] = [];
    for await (const run of temporal.client.workflow.list({ query })) runs.push(`${run.workflowId} ${run.status.name}`);
    return runs.includes(expected) ? runs.sort() : undefined;
  });
}

test("the server is the version the compose file pins, with the admin job's namespace and search attributes", async () => {
  expect(temporal.serverVersion).toBe(readComposeTemporal().serverVersion);
  const { namespaceInfo, config } = await temporal.client.workflowService.describeNamespace({ namespace: temporal.namespace });
  expect(namespaceInfo?.name).toBe('default');
  // The admin job's --retention 30d, not the auto-setup image's 24h default namespace.
  expect(Number(config?.workflowExecutionRetentionTtl?.seconds)).toBe(30 * 24 * 3600);
  const { customAttributes } = await temporal.client.connection.operatorService.listSearchAttributes({ namespace: temporal.namespace });
  expect(
    Object.keys(customAttributes ?? {})
      .filter((name) => name.startsWith('Ops'))
      .sort(),
  ).toEqual(OPS_SEARCH_ATTRIBUTES.map((key) => key.name).sort());
});

test('stack A end to end on it: provisioned and serving, found by OpsEnvironment, its history in PostgreSQL, destroyed', async () => {
  const started = Date.now();
  const result = (await (await provision('prod-pg', '10.161.0.0/16')).result()) as ProvisionResult;
  expectExactlyOneEach(await chaos.control('GET', 'inventory'), [result]);
  await expectHostsServing([result], chaos.deployKey);
  // Visibility on PostgreSQL answers opsflow's own search attribute (the Web UI's filter).
  expect(await listedOnce("OpsEnvironment = 'prod-pg' AND WorkflowType = 'provisionEnvironment'", 'provision-prod-pg COMPLETED')).toEqual([
    'provision-prod-pg COMPLETED',
  ]);
  // The history is where the compose file puts it: in the run's own PostgreSQL database.
  const stored = await psql(temporal.databases.history, "SELECT count(*) FROM executions WHERE workflow_id = 'provision-prod-pg';");
  expect(stored.trim()).toBe('1');
  const events = Number((await psql(temporal.databases.history, 'SELECT count(*) FROM history_node;')).trim());
  expect(events).toBeGreaterThan(10);

  await temporal.client.workflow.execute('destroyEnvironment', {
    taskQueue: TASK_QUEUE,
    workflowId: 'destroy-prod-pg',
    args: [{ environment: 'prod-pg' }],
  });
  const inventory = await chaos.control('GET', 'inventory');
  expect(leftovers(inventory, 'prod-pg', { unassignedIps: true })).toEqual([]);
  expect(inventory.droplets).toEqual([]);
  console.log(`end to end on PostgreSQL: provisioned, checked and destroyed in ${seconds(started)} s; ${events} history nodes stored`);
});

test('the server SIGKILLed while a run creates its droplet and started again on the same databases: the run finishes once, nothing doubled', async () => {
  const started = Date.now();
  await holdDropletLookups(chaos);
  const handle = await provision('prod-pg-restart', '10.162.0.0/16');
  const { restartSeconds } = await restartServerAtDropletCreate(temporal, chaos, worker!, [{ environment: 'prod-pg-restart', handle }]);
  const result = (await handle.result()) as ProvisionResult;
  expect(result.environment).toBe('prod-pg-restart');
  restarted = { result, spec: stackA('prod-pg-restart', '10.162.0.0/16') };
  // One run, completed, in the restarted server's records; one of each resource; a serving host.
  expect(await listedOnce("WorkflowId = 'provision-prod-pg-restart'", 'provision-prod-pg-restart COMPLETED')).toEqual([
    'provision-prod-pg-restart COMPLETED',
  ]);
  expectExactlyOneEach(await chaos.control('GET', 'inventory'), [result]);
  await expectHostsServing([result], chaos.deployKey);
  console.log(
    `restart on PostgreSQL: server killed mid-step, answering again ${restartSeconds} s after its start; run finished once in ${seconds(started)} s`,
  );
});

// Consecutive failed probes the release's health gate waits for: the gate on its unhealthy auth
// lasts about this many seconds, long enough for a look to find it.
const GATE_FAILURES = 30;

test('a release with rollback, the server SIGKILLed inside its health gate and started again: rolled back once to the previous tags', async () => {
  if (!restarted) throw new Error('the release needs the environment the restart test provisions');
  const started = Date.now();
  const { result: provisioned, spec } = restarted;
  const before = provisioned.application!.images;
  const unhealthy = 'ghcr.io/acme/auth:2.0.4-unhealthy';
  const handle = await temporal.client.workflow.start('deployRelease', {
    taskQueue: TASK_QUEUE,
    workflowId: 'deploy-prod-pg-restart',
    args: [
      buildDeployInput(
        { result: provisioned, spec },
        { auth: unhealthy, fleet: 'ghcr.io/acme/fleet:1.1.1' },
        { consecutiveFailures: GATE_FAILURES },
      ),
    ],
  });
  const address = provisioned.hosts[0]!.address;
  // The unhealthy auth's 503s are the gate's probes: the worker raises that count by itself.
  const probes = () => answeredWith(address, STACK_A_PORTS.auth!, unhealthy.split(':').pop()!, 503);
  const { restartSeconds } = await restartServerMidRun(temporal, worker!, {
    what: 'an attempt of the health gate on the new auth running, with probes still to come',
    progress: probes,
    reached: async () =>
      (await lookAtRun(handle)).activities.some(
        (a) => a.started && a.type === 'waitHealthy' && String(a.input.url).includes(`:${STACK_A_PORTS.auth}/`),
      ) && (await probes()) < GATE_FAILURES,
  });
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('RolledBack');
  expect((await handle.query<OperationStatus>('status')).step).toBe('rolled back');
  expect(await listedOnce("WorkflowId = 'deploy-prod-pg-restart'", 'deploy-prod-pg-restart FAILED')).toEqual([
    'deploy-prod-pg-restart FAILED',
  ]);
  await expectRunningOnce(provisioned, spec.region, chaos.deployKey, before);
  console.log(
    `release on PostgreSQL: server killed in the health gate, answering again ${restartSeconds} s after its start; rolled back once in ${seconds(started)} s`,
  );
});

test('a backup, the server SIGKILLed while its dump is uploaded in parts and started again: one backup, verified, nothing pending', async () => {
  const started = Date.now();
  const handle = await temporal.client.workflow.start('runBackups', {
    taskQueue: TASK_QUEUE,
    workflowId: 'backup-prod-pg-restart',
    args: [{ policy, retry: { initialInterval: '1s' } }],
  });
  const dumps = async () => (await keysUnder(spaces.s3, spaces.bucket, BACKUP_PREFIX)).filter((k) => k.endsWith('.pgdump.gz'));
  let key = '';
  // Killed while the S3 server holds the attempt's multipart upload pending: the worker finishes
  // the upload alone (the dump appears) before the server is back.
  const { restartSeconds } = await restartServerMidRun(temporal, worker!, {
    what: 'the dump being uploaded in parts',
    progress: async () => (await dumps()).length,
    reached: async () => {
      const attempt = (await lookAtRun(handle)).activities.find((a) => a.started && a.type === 'backupDatabase');
      if (!attempt) return false;
      key = dumpKeyOf(policy, source, attempt.input.takenAt);
      return (await pendingUploads(spaces.s3, spaces.bucket, key)).length > 0;
    },
  });
  const result = (await handle.result()) as RunBackupsResult;
  expect(result.failures).toEqual([]);
  expect(result.results).toEqual([expect.objectContaining({ target: 'pg', database: source, ok: true, verified: true })]);
  expect(result.results[0]!.key).toBe(key);
  expect(await pendingUploads(spaces.s3, spaces.bucket, key)).toEqual([]);
  expect(await dumps()).toEqual([key]);
  expect(await listedOnce("WorkflowId = 'backup-prod-pg-restart'", 'backup-prod-pg-restart COMPLETED')).toEqual([
    'backup-prod-pg-restart COMPLETED',
  ]);
  console.log(
    `backup on PostgreSQL: server killed mid-upload, answering again ${restartSeconds} s after its start; ${result.results[0]!.compressedBytes} bytes backed up once in ${seconds(started)} s`,
  );
});
