// The stack rollout tests run on (stack B's shape, in the local cloud): two droplets run the
// simulated `shop` application with compose, Debian's real nginx in the first splits traffic by
// the upstream file the workflows write, a real Prometheus scrapes both every second, and the
// load generator sends requests through nginx. Also the history readers the rollout tests count
// with (activities, update events, the switch time by the history's clock).
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { buildDeployInput } from '../../src/client/deploy';
import type { SshConnection } from '../../src/integrations/ssh';
import { generateLoad, type LoadTally } from '../../src/rollouts/load-generator';
import { weightsInUpstream } from '../../src/rollouts/traffic/nginx-config';
import type { EnvironmentSpec } from '../../src/specs/environment';
import type { RolloutSpecInput } from '../../src/specs/rollout';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import { rolloutWorkflowId, type RolloutReleaseInput, type RolloutStatus } from '../../src/workflows/release/rollout-api';
import { startPrometheus, type PrometheusInstance } from '../rollouts/helpers/prometheus-instance';
import { startLocalCloud } from './localcloud';
import { until } from './until';
import { startOpsflowWorkers, type OpsflowWorkers } from './opsflow-workers';
import { startTemporal } from './temporal';
import {
  APP_PORT,
  canaryEnvironmentSpec,
  ERROR_RATIO,
  hostOf,
  ok,
  setUpFrontNginx,
  UPSTREAM_FILE,
  versionOn,
  type StageDroplets,
} from './canary-stage';
import { dropletInstances } from '../../src/specs/environment';

export { APP_PORT, ERROR_RATIO, UPSTREAM_FILE };

/** The `errors` analysis template: 3 measurements 1 s apart after 3 s, under 1% errors. */
export const ERRORS_TEMPLATE = {
  metrics: [
    {
      name: 'error-ratio',
      query: ERROR_RATIO,
      interval: '1s',
      count: 3,
      initialDelay: '3s',
      successCondition: 'result < 0.01',
      inconclusiveLimit: 2,
    },
  ],
};

/**
 * The `latency` analysis template: the canary's 90th percentile over 5 s, 3 measurements 1 s apart
 * after 3 s, under 0.5 s (a `-slow800` version answers in about 0.8 s).
 */
export const LATENCY_TEMPLATE = {
  metrics: [
    {
      name: 'latency-p90',
      query: 'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{args.canary-version}}"}[5s])))',
      interval: '1s',
      count: 3,
      initialDelay: '3s',
      successCondition: 'result < 0.5',
      inconclusiveLimit: 2,
    },
  ],
};

export interface RolloutStack {
  env: TestWorkflowEnvironment;
  cloud: LocalCloud;
  workers: OpsflowWorkers;
  provisioned: ProvisionResult;
  spec: EnvironmentSpec;
  prometheus: PrometheusInstance;
  /** SSH to app-1 (the first droplet), where nginx runs. */
  front: SshConnection;
  /** The instance nginx runs on: app-1, or the first droplet of the stage's `droplets`. */
  frontInstance: string;
  host(instance: string): ProvisionResult['hosts'][number];
  ok(connection: SshConnection, script: string, args?: string[]): Promise<string>;
  /** The version app-N's application answers with, asked directly (not through nginx). */
  versionOn(instance: string): Promise<string>;
  /** The split nginx's upstream file records. */
  nginxWeights(): Promise<ReturnType<typeof weightsInUpstream>>;
  nginxUpstream(): Promise<string>;
  /** Sends requests to `url` (default: through nginx) until `stop()`; the tally counts answers by version. */
  load(url?: string): { stop: () => Promise<LoadTally> };
  rolloutInput(tag: string, rollout: RolloutSpecInput): RolloutReleaseInput;
  startRollout(tag: string, rollout: RolloutSpecInput): Promise<WorkflowHandleWithFirstExecutionRunId>;
  withWorker<T>(fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Provisions the environment, installs nginx in front of app-1 only, starts Prometheus. `droplets`:
 * another shape (`{name: 'web', count: 1}`: stack C's one droplet, nginx on it).
 */
export async function startRolloutStack(environment: string, droplets?: StageDroplets): Promise<RolloutStack> {
  const env = await startTemporal();
  const { cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 150 },
  });
  const workers = await startOpsflowWorkers(env, cloud);
  const withWorker = <T>(fn: () => Promise<T>) => workers.withWorkflowWorker(TASK_QUEUE, fn);
  const spec = canaryEnvironmentSpec(environment, droplets);
  const frontInstance = dropletInstances(spec)[0]!.instance;
  const provisioned: ProvisionResult = await withWorker(() =>
    env.client.workflow.execute('provisionEnvironment', {
      taskQueue: TASK_QUEUE,
      workflowId: `provision-${environment}`,
      args: [{ spec }],
    }),
  );
  const host = (instance: string) => hostOf(provisioned, instance);
  // Stack B's shape: nginx on the first droplet in front of both (as the chaos test's stage).
  const front = await setUpFrontNginx(provisioned, workers.deployKey, frontInstance);
  const prometheus = await startPrometheus(provisioned.hosts.map((h) => `${h.address}:${APP_PORT}`));
  const nginxUpstream = () => ok(front, 'cat "$1"', [UPSTREAM_FILE]);
  const rolloutInput = (tag: string, rollout: RolloutSpecInput) =>
    ({
      ...buildDeployInput({ result: provisioned, spec }, { shop: tag }),
      spec: rollout,
      requestedBy: 'jest',
    }) as RolloutReleaseInput;

  return {
    env,
    cloud,
    workers,
    provisioned,
    spec,
    prometheus,
    front,
    frontInstance,
    host,
    ok,
    versionOn: (instance) => versionOn(provisioned, instance),
    nginxUpstream,
    nginxWeights: async () => weightsInUpstream(await nginxUpstream()),
    load: (url = `http://${host(frontInstance).address}/version`) => {
      let enough = false;
      const running = generateLoad(url, { total: 1_000_000, deadlineMs: 540_000, enough: () => enough });
      return {
        stop: async () => {
          enough = true;
          return running;
        },
      };
    },
    rolloutInput,
    startRollout: (tag, rollout) =>
      env.client.workflow.start('rolloutRelease', {
        taskQueue: TASK_QUEUE,
        workflowId: rolloutWorkflowId(environment),
        args: [rolloutInput(tag, rollout)],
      }),
    withWorker,
    stop: async () => {
      front.close();
      await prometheus.stop();
      await workers.stop();
      await cloud.stop();
      await env.teardown();
    },
  };
}

export async function history(handle: WorkflowHandle) {
  return (await handle.fetchHistory()).events ?? [];
}

/** Activities of this type scheduled in the run's history. */
export async function activities(handle: WorkflowHandle, name: string): Promise<number> {
  return (await history(handle)).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;
}

export async function updateEvents(handle: WorkflowHandle): Promise<number> {
  return (await history(handle)).filter(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateCompletedEventAttributes,
  ).length;
}

const eventMs = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
  Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);

/** From the last measurement's completion to the completion of the next traffic change, by the history's own clock. */
export async function msToStable(handle: WorkflowHandle): Promise<number> {
  const events = await history(handle);
  const scheduled = new Map<string, string>();
  let failedAt: number | undefined;
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(String(e.eventId), name);
    const done = e.activityTaskCompletedEventAttributes;
    if (!done) continue;
    const kind = scheduled.get(String(done.scheduledEventId));
    if (kind === 'measureMetric') failedAt = eventMs(e);
    if (kind === 'setNginxWeights' && failedAt !== undefined) return eventMs(e) - failedAt;
  }
  throw new Error('no traffic change after a measurement');
}

/** Runs fn while the load runs; the load stops whatever fn does (a load left running would feed the next test's rollout). */
export async function withLoad<T>(load: { stop: () => Promise<LoadTally> }, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await load.stop();
    throw err;
  }
}

/** The validator's words for a refused update. */
export async function refusal(update: Promise<unknown>): Promise<string> {
  const err = await update.then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  );
  if (!err) throw new Error('the update was accepted');
  return err.cause?.message ?? err.message;
}

/** Waits until the rollout's status satisfies `test` (the query answers once the rollout has started). */
export function statusWhen(handle: WorkflowHandle, what: string, test: (view: RolloutStatus['rollout'] & {}) => boolean) {
  return until(
    what,
    async () => {
      const view = (await handle.query<RolloutStatus>('status').catch(() => undefined))?.rollout;
      return view && test(view) ? view : undefined;
    },
    240_000,
  );
}
