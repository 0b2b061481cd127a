// The production topology (docker-compose.temporal.yml) proven on this machine: the Temporal
// server of the version the compose file pins, on PostgreSQL with the compose file's settings and
// its admin job (test/helpers/production-temporal.ts), runs stack A end to end through the
// production worker (dist/worker.js) against the local cloud: provisioned, serving, found by its
// search attributes, destroyed. Then the server is SIGKILLed while a provisioning is inside its
// droplet step and started again on the same databases: the run finishes once, nothing doubled.
import type { ChildProcess } from 'node:child_process';
import { provisionWorkflowId } from '../../src/names/workflow-ids';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import { OPS_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import { stackA, startChaosCloud, until, type ChaosCloud } from '../helpers/chaos-harness';
import { readComposeTemporal } from '../helpers/compose-temporal';
import { psql } from '../helpers/databases';
import { expectExactlyOneEach, expectHostsServing } from '../helpers/environment-checks';
import { leftovers } from '../helpers/provision-harness';
import { killProcess } from '../helpers/production-worker';
import { startProductionTemporal, type ProductionTemporal } from '../helpers/production-temporal';
import { provisionStepOf } from '../helpers/provision-steps';
import { lookAtRun } from '../helpers/run-activities';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
jest.setTimeout(10 * 60_000);

let temporal: ProductionTemporal;
let chaos: ChaosCloud;
let worker: ChildProcess | undefined;
const tierStarted = Date.now();
const seconds = (since: number) => Math.round((Date.now() - since) / 1000);

beforeAll(async () => {
  const started = Date.now();
  temporal = await startProductionTemporal();
  console.log(`Temporal ${temporal.serverVersion} on PostgreSQL (${temporal.databases.history}) answering after ${seconds(started)} s`);
  // A droplet stays new for 5 s: the restart below finds it being created.
  chaos = await startChaosCloud({ timing: { dropletCreateMs: 5000, actionMs: 300 } });
  worker = await chaos.startWorker(temporal.address);
});
afterAll(async () => {
  if (worker) await killProcess(worker);
  await chaos?.cloud.stop();
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

const dropletCreates = async () =>
  (await chaos.control('GET', 'requests')).requests.filter((r: Body) => r.method === 'POST' && r.url === '/v2/droplets').length;

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
  // The lookup that starts the step is held 3 s, so the step is running when the server dies.
  await chaos.control('PUT', 'faults', { rules: [{ method: 'GET', path: '/v2/droplets?', latencyMs: 3000 }] });
  const handle = await provision('prod-pg-restart', '10.162.0.0/16');
  await until('an attempt of create droplets running', async () => {
    const look = await lookAtRun(handle);
    return look.activities.some((a) => a.started && provisionStepOf(a) === 'create droplets') ? true : undefined;
  });
  const createsBefore = await dropletCreates();
  await temporal.kill();
  // Counted, not timed: the worker carries the step on with no server, up to the droplet create.
  await until('a droplet created while the server was down', async () => ((await dropletCreates()) > createsBefore ? true : undefined));
  await chaos.control('PUT', 'faults', {});
  const restarted = Date.now();
  await temporal.start();
  const restartSeconds = seconds(restarted);
  const result = (await handle.result()) as ProvisionResult;
  expect(result.environment).toBe('prod-pg-restart');
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
