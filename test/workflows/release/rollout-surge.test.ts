// rolloutRelease with maxSurge 1 on a fleet of one droplet (stack B's shape), on the real Temporal
// server against an environment provisioned in the local cloud: the canary runs on a surge
// droplet the workflow creates beside the fleet through the provider seam (a real SSH host,
// bootstrapped and given the compose application with the canary's image), Debian's nginx on the
// fleet's droplet splits real traffic between the two, a real Prometheus finds the droplets by the
// environment's tag (as its DigitalOcean service discovery would) and scrapes them every second,
// and the load generator sends requests through nginx the whole time. A good canary ends with the
// fleet's droplet on the new version and the surge droplet gone; a `-err5` canary is aborted by
// its analysis, all traffic goes back to the fleet and the surge droplet is destroyed.
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { generateLoad } from '../../../src/rollouts/load-generator';
import type { RolloutSpecInput } from '../../../src/specs/rollout';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import {
  rolloutWorkflowId,
  type RolloutAbortedDetails,
  type RolloutReleaseInput,
  type RolloutResult,
  type RolloutStatus,
} from '../../../src/workflows/release/rollout-api';
import { workflowBundlePath } from '../../helpers/temporal';
import { until } from '../../helpers/until';
import { environmentDroplets, followDroplets } from '../../helpers/droplet-discovery';
import {
  activities,
  APP_PORT,
  ERRORS_TEMPLATE,
  history,
  startRolloutStack,
  withLoad,
  type RolloutStack,
} from '../../helpers/rollout-stack';

jest.setTimeout(900_000);

const ENVIRONMENT = 'canary-s';
const SURGE = `${ENVIRONMENT}-app-surge-1`;
let stack: RolloutStack;
let env: TestWorkflowEnvironment;
/** Every run above, replayed at the end against the current workflow code. */
const runs: WorkflowHandle[] = [];

/** The environment's droplets as the DigitalOcean API lists them (by its tag, as service discovery finds them). */
const droplets = () => environmentDroplets(stack, ENVIRONMENT);

/**
 * Prometheus's targets follow the droplets tagged with the environment (what digitalocean_sd_configs
 * does in production): a surge droplet is scraped from the moment it has an address. Also counts
 * the droplets at every look, with the surge droplet's state in the rollout's status at that moment.
 */
function discovery(handle: () => WorkflowHandle | undefined) {
  return followDroplets(stack, ENVIRONMENT, APP_PORT, async () => {
    const current = handle();
    return current ? (await current.query<RolloutStatus>('status')).rollout?.surge?.[0]?.state : undefined;
  });
}

function rolloutSpec(steps: unknown[]): RolloutSpecInput {
  return {
    environment: ENVIRONMENT,
    // Stack B's shape: one droplet serves, nginx on it in front; app-2 of the environment takes no part.
    fleet: { instances: ['app-1'], port: APP_PORT },
    prometheus: { address: stack.prometheus.address },
    traffic: { nginx: { upstream: 'shop', frontHost: 'app-1' } },
    canary: { maxSurge: 1, maxUnavailable: 0, scaleDownDelay: '2s', steps: steps as never },
    analysisTemplates: { errors: ERRORS_TEMPLATE },
  };
}

function startRollout(tag: string, steps: unknown[]) {
  const input: RolloutReleaseInput = { ...stack.rolloutInput(tag, rolloutSpec(steps)), environmentSpec: stack.spec };
  return env.client.workflow.start('rolloutRelease', { taskQueue: TASK_QUEUE, workflowId: rolloutWorkflowId(ENVIRONMENT), args: [input] });
}

/** The local cloud's control API: faults on demand. */
async function setFaults(config: unknown): Promise<void> {
  const response = await fetch(`${stack.cloud.apiUrl}/_localcloud/faults`, {
    method: 'PUT',
    headers: { ...stack.cloud.controlHeaders, 'Content-Type': 'application/json' },
    body: JSON.stringify(config),
  });
  if (!response.ok) throw new Error(`faults: ${response.status} ${await response.text()}`);
}

/** The attempt each started activity of this type was, in the run's history. */
async function attempts(handle: WorkflowHandle, name: string): Promise<number[]> {
  const events = await history(handle);
  const scheduled = new Map<string, string>();
  for (const e of events) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) scheduled.set(String(e.eventId), type);
  }
  return events
    .filter(
      (e) => e.activityTaskStartedEventAttributes && scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === name,
    )
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
}

beforeAll(async () => {
  stack = await startRolloutStack(ENVIRONMENT);
  env = stack.env;
}, 900_000);

afterAll(async () => {
  await setFaults({}).catch(() => undefined);
  await stack?.stop();
});

test('a good canary on a surge droplet promotes fully: the droplet is made beside the fleet, serves the canary, then the fleet host moves and the droplet is destroyed', async () => {
  expect((await droplets()).map((d) => d.name).sort()).toEqual([`${ENVIRONMENT}-app-1`, `${ENVIRONMENT}-app-2`]);
  // The first create's answer is lost (the cloud makes the droplet, the worker never hears of it),
  // as when a worker dies mid-call: the retry must find that droplet, not make a second.
  await setFaults({ rules: [{ method: 'POST', path: '/v2/droplets', errorRate: 1, statuses: [503], loseResponse: true }] });
  const steps = [{ setWeight: 50 }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }, { analysis: { templates: ['errors'] } }];
  let running: WorkflowHandle | undefined;
  const watch = discovery(() => running);
  const load = stack.load();
  const { result, status, handle } = await withLoad(load, () =>
    stack.withWorker(async () => {
      const handle = await startRollout('1.1', steps);
      running = handle;
      await until(
        'the surge droplet to be bootstrapped',
        async () => ((await handle.query<RolloutStatus>('status')).step.startsWith('bootstrap surge droplet') ? true : undefined),
        600_000,
      );
      await setFaults({});
      const result = (await handle.result()) as RolloutResult;
      return { result, status: await handle.query<RolloutStatus>('status'), handle };
    }),
  );
  const tally = await load.stop();
  await watch.stop();

  expect(result).toMatchObject({ images: { shop: 'ghcr.io/acme/shop:1.1' }, hosts: ['app-1'], surgeDestroyed: [SURGE] });
  expect(result.analyses.map((a) => [a.name, a.phase])).toEqual([
    ['step 2', 'successful'],
    ['step 4', 'successful'],
  ]);
  // Every step in the status, the surge droplet's among them.
  expect(status.completedSteps).toEqual([
    'validate input',
    'record running images',
    'take over traffic',
    `create surge droplet ${SURGE}`,
    `bootstrap surge droplet ${SURGE}`,
    `deploy the canary to surge droplet ${SURGE}`,
    'step 1/4: setWeight 50',
    'step 2/4: analysis errors',
    'step 3/4: setWeight 100',
    'step 4/4: analysis errors',
    'complete',
    `drain surge droplet ${SURGE}`,
    `destroy surge droplet ${SURGE}`,
  ]);
  expect(status.rollout).toMatchObject({
    phase: 'completed',
    weight: { effective: { stable: 100, canary: 0 } },
    canaryHosts: [],
    stableHosts: ['app-1'],
    surge: [{ instance: 'app-surge-1', name: SURGE, state: 'destroyed' }],
  });
  // The droplet existed beside the fleet while the canary served (one, though its create answer was
  // lost: the retry found it), and is gone now.
  expect(Math.max(...watch.seen.filter((s) => s.state === 'serving').map((s) => s.droplets))).toBe(3);
  expect(Math.max(...watch.seen.map((s) => s.droplets))).toBe(3);
  // One create in the history, finished by its second attempt (the history keeps the last attempt's start).
  expect(await attempts(handle, 'ensureServers')).toEqual([2]);
  expect((await droplets()).map((d) => d.name).sort()).toEqual([`${ENVIRONMENT}-app-1`, `${ENVIRONMENT}-app-2`]);
  expect(await activities(handle, 'deleteServersTagged')).toBe(1);
  // The fleet's droplet runs the new version; nginx serves it alone, the surge droplet out of its file.
  expect(await stack.versionOn('app-1')).toBe('1.1');
  expect(await stack.nginxWeights()).toEqual({ stable: 100, canary: 0 });
  const surgeAddress = status.rollout!.surge![0]!.address!;
  expect(await stack.nginxUpstream()).not.toContain(surgeAddress);
  // Requests through nginx all answered, by both versions along the way: none lost to a switch, to
  // the fleet host's redeploy (the surge droplet carried them) or to the droplet's end.
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '1.1\n']);
  // Each traffic change once: take over, 50%, 100%, app-1 out and back in as canary while it
  // changes, app-1 the new stable with the surge droplet at weight 0, the surge droplet out.
  expect(await activities(handle, 'setNginxWeights')).toBe(7);
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
});

test('a -err5 canary on a surge droplet is aborted by its analysis: traffic back on the fleet at weight 0, then the surge droplet destroyed', async () => {
  const steps = [{ setWeight: 50 }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }];
  const stable = await stack.versionOn('app-1');
  let running: WorkflowHandle | undefined;
  const watch = discovery(() => running);
  const load = stack.load();
  const { err, status, handle } = await withLoad(load, () =>
    stack.withWorker(async () => {
      const handle = await startRollout('1.2-err5', steps);
      running = handle;
      const err = await handle.result().catch((e: unknown) => e);
      return { err, status: await handle.query<RolloutStatus>('status'), handle };
    }),
  );
  const tally = await load.stop();
  await watch.stop();

  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('error-ratio');
  expect(failure.message).toContain(`${SURGE} destroyed`);
  expect(failure.details?.[0]).toMatchObject({
    metric: 'error-ratio',
    weights: { stable: 100, canary: 0 },
    hostsRestored: [],
    surgeDestroyed: [SURGE],
  } satisfies Partial<RolloutAbortedDetails>);
  expect(status.outcome?.state).toBe('rolled back');
  expect(status.rollout).toMatchObject({ phase: 'aborted', canaryHosts: [], surge: [{ name: SURGE, state: 'destroyed' }] });
  expect(status.resources).toEqual([expect.objectContaining({ kind: 'surge droplet', undone: true })]);
  expect(Math.max(...watch.seen.filter((s) => s.state === 'serving').map((s) => s.droplets))).toBe(3);
  expect((await droplets()).map((d) => d.name).sort()).toEqual([`${ENVIRONMENT}-app-1`, `${ENVIRONMENT}-app-2`]);
  // The fleet never left the stable version, and every request through nginx goes to it.
  expect(await stack.versionOn('app-1')).toBe(stable);
  expect(await stack.nginxWeights()).toEqual({ stable: 100, canary: 0 });
  expect(await stack.nginxUpstream()).not.toContain(status.rollout!.surge![0]!.address!);
  const after = await generateLoad(`http://${stack.host('app-1').address}/version`, { total: 40 });
  expect(after.byBody).toEqual({ [`${stable}\n`]: 40 });
  // The only failed requests were the bad version's own 500s.
  expect(tally.failures.every((f) => f === 'HTTP 500')).toBe(true);
  // Weight 0 first (the abort's first traffic change), the droplet deleted only after.
  const events = await history(handle);
  const scheduled = (name: string) =>
    events.findIndex((e, i) => i > 0 && e.activityTaskScheduledEventAttributes?.activityType?.name === name && afterFailure(events, i));
  expect(scheduled('setNginxWeights')).toBeLessThan(scheduled('deleteServersTagged'));
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
});

/** True for events after the last measurement (the failing one). */
function afterFailure(events: Awaited<ReturnType<typeof history>>, index: number): boolean {
  let last = -1;
  events.forEach((e, i) => {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'measureMetric') last = i;
  });
  return index > last;
}

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(2);
  for (const handle of runs) {
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
    ).resolves.toBeUndefined();
  }
});
