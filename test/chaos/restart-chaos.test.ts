// Chaos in the parts around the worker: the Temporal server (its history in a sqlite file, as
// `opsflow up` runs it) SIGKILLed while provisionings are inside a cloud step and started again
// after the worker carried that step on alone; the local cloud stopped and started again from its
// state folder while a droplet is being created and again while the host bootstraps. Each moment
// is found from the server (a running attempt of the step), with the step held open by a fault.
// The invariants: every run finishes, once, with exactly one of each resource and a serving host.
import type { ChildProcess } from 'node:child_process';
import { provisionWorkflowId } from '../../src/names/workflow-ids';
import type { WorkflowHandle } from '@temporalio/client';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import { stackA, startChaosCloud, until, type ChaosCloud } from '../helpers/chaos-harness';
import { expectExactlyOneEach, expectHostsServing } from '../helpers/environment-checks';
import { killProcess } from '../helpers/production-worker';
import { provisionStepOf } from '../helpers/provision-steps';
import { lookAtRun } from '../helpers/run-activities';
import { holdDropletLookups, restartServerAtDropletCreate } from '../helpers/server-restart';
import { startTemporalProcess, type TemporalProcess } from '../helpers/temporal-process';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
jest.setTimeout(10 * 60_000);

let temporal: TemporalProcess;
let chaos: ChaosCloud;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  temporal = await startTemporalProcess();
  // A droplet stays new for 5 s: the first restart finds it being created.
  chaos = await startChaosCloud({ timing: { dropletCreateMs: 5000, actionMs: 300 } });
  worker = await chaos.startWorker(temporal.address);
});
afterAll(async () => {
  if (worker) await killProcess(worker);
  await chaos?.cloud.stop();
  await temporal?.stop();
});

const provision = (name: string, ipRange: string) =>
  temporal.client.workflow.start('provisionEnvironment', {
    taskQueue: TASK_QUEUE,
    workflowId: provisionWorkflowId(name),
    args: [{ spec: stackA(name, ipRange) }],
  });

/** Waits until a run has an attempt of `step` running on the worker; returns that run's id. */
function untilRunning(handles: WorkflowHandle[], step: string): Promise<string> {
  return until(`an attempt of ${step} running`, async () => {
    const looks = await Promise.all(handles.map((h) => lookAtRun(h)));
    return looks.find((look) => look.activities.some((a) => a.started && provisionStepOf(a) === step))?.workflowId;
  });
}

test('the Temporal server SIGKILLed while two runs create droplets, started again after the worker went on alone: both finish, nothing doubled', async () => {
  await holdDropletLookups(chaos);
  const names = ['restart-t-1', 'restart-t-2'];
  const handles = [await provision(names[0]!, '10.151.0.0/16'), await provision(names[1]!, '10.152.0.0/16')];
  const { creating } = await restartServerAtDropletCreate(
    temporal,
    chaos,
    worker!,
    names.map((environment, i) => ({ environment, handle: handles[i]! })),
  );
  const results = (await Promise.all(handles.map((h) => h.result()))) as ProvisionResult[];
  expect(results.map((r) => r.environment)).toEqual(['restart-t-1', 'restart-t-2']);
  // One run per environment in the restarted server's records, and one of each resource.
  const runs: string[] = [];
  for await (const run of temporal.client.workflow.list({ query: "WorkflowType = 'provisionEnvironment'" }))
    runs.push(`${run.workflowId} ${run.status.name}`);
  expect(runs.sort()).toEqual(['provision-restart-t-1 COMPLETED', 'provision-restart-t-2 COMPLETED']);
  expectExactlyOneEach(await chaos.control('GET', 'inventory'), results);
  await expectHostsServing(results, chaos.deployKey);
  console.log(`temporal restart: server killed while ${creating} created droplets; both runs finished`);
  await chaos.control('POST', 'reset');
});

test('the local cloud restarted while a droplet is being created and again while its host bootstraps: the run finishes, nothing doubled', async () => {
  const handle = await provision('restart-c-1', '10.153.0.0/16');
  await untilRunning([handle], 'wait for droplets');
  const statusAtRestart = (await chaos.control('GET', 'inventory')).droplets.map((d: Body) => d.status);
  await chaos.restart(); // faults are not part of the saved state: the restarted cloud has none
  await untilRunning([handle], 'bootstrap');
  await chaos.restart();
  const result = (await handle.result()) as ProvisionResult;
  expectExactlyOneEach(await chaos.control('GET', 'inventory'), [result]);
  await expectHostsServing([result], chaos.deployKey);
  console.log(
    `local cloud restart: twice mid-run (droplet ${statusAtRestart.join(', ')} at the first, host bootstrapping at the second); the run finished`,
  );
});
