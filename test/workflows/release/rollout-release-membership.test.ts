// rolloutRelease weighting by load balancer membership, on the real Temporal server against an
// environment provisioned in the local cloud: four droplets run the simulated `shop` application
// with compose behind the local cloud's DigitalOcean load balancer (which really forwards, by round
// robin over the droplets its health check passed), a real Prometheus scrapes the four, and the
// load generator sends requests to the load balancer's address. A good canary asked for 10% is
// given 1 of 4 members (25%, said so in the status and the Web UI's details; 40 requests at that
// step split exactly 10/30) and ends with the four on the new version and in the load balancer; a
// `-err5` canary is aborted by analysis and the saved membership is back; a load balancer that
// leaves out a fleet host is refused before anything changes. No request is lost to a membership
// change (a removed droplet keeps its version for `drain` before it changes: the drain DigitalOcean
// does not do). Every run replays against the current workflow code.
import {
  ApplicationFailure,
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { LocalCloud } from '@opsflow/localcloud';
import { buildDeployInput } from '../../../src/client/deploy';
import { generateLoad, type LoadTally } from '../../../src/rollouts/load-generator';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import type { RolloutSpecInput } from '../../../src/specs/rollout';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import {
  rolloutWorkflowId,
  type RolloutReleaseInput,
  type RolloutResult,
  type RolloutStatus,
} from '../../../src/workflows/release/rollout-api';
import { APP_PORT, canaryEnvironmentSpec, ERROR_RATIO } from '../../helpers/canary-stage';
import type { ContractClient } from '../../helpers/do-api';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { activities } from '../../helpers/rollout-stack';
import { startTemporal, workflowBundlePath } from '../../helpers/temporal';
import { until } from '../../helpers/until';
import { startPrometheus, type PrometheusInstance } from '../../rollouts/helpers/prometheus-instance';

jest.setTimeout(900_000);

const ENVIRONMENT = 'canary-lb';
const FLEET = ['app-1', 'app-2', 'app-3', 'app-4'];
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let api: ContractClient;
let workers: OpsflowWorkers;
let provisioned: ProvisionResult;
let spec: EnvironmentSpec;
let prometheus: PrometheusInstance;
/** The load balancer in front of the four, and each host's droplet id. */
let lb: { id: string; ip: string };
const dropletOf: Record<string, number> = {};
const runs: WorkflowHandle[] = [];

const withWorker = <T>(fn: () => Promise<T>) => workers.withWorkflowWorker(TASK_QUEUE, fn);
const address = (instance: string) => provisioned.hosts.find((h) => h.instance === instance)!.address;
const versionOn = async (instance: string) => (await (await fetch(`http://${address(instance)}:${APP_PORT}/version`)).text()).trim();
const versions = () => Promise.all(FLEET.map(versionOn));

async function members(id = lb.id): Promise<number[]> {
  const { body } = await api.call<{ load_balancer: { droplet_ids: number[] } }>('GET', `/v2/load_balancers/${id}`);
  return [...body.load_balancer.droplet_ids].sort();
}

async function createLoadBalancer(name: string, instances: string[]): Promise<{ id: string; ip: string }> {
  const created = await api.call<{ load_balancer: { id: string; ip: string } }>('POST', '/v2/load_balancers', {
    name,
    region: 'fra1',
    forwarding_rules: [{ entry_protocol: 'http', entry_port: 80, target_protocol: 'http', target_port: APP_PORT }],
    health_check: {
      protocol: 'http',
      port: APP_PORT,
      path: '/health',
      check_interval_seconds: 3,
      response_timeout_seconds: 3,
      healthy_threshold: 2,
      unhealthy_threshold: 2,
    },
    droplet_ids: instances.map((i) => dropletOf[i]!),
  });
  expect(created.status).toBe(202);
  const made = created.body.load_balancer;
  await until(
    `load balancer ${name} forwarding to its ${instances.length} droplets`,
    async () => (cloud.loadBalancers.backends(made.id).filter((b) => b.healthy).length === instances.length ? true : undefined),
    120_000,
  );
  return made;
}

/** Requests to the load balancer until `stop()`; the tally counts answers by version. */
function loadThroughLb(): { stop: () => Promise<LoadTally> } {
  let enough = false;
  const running = generateLoad(`http://${lb.ip}/version`, {
    total: 1_000_000,
    deadlineMs: 840_000,
    requestTimeoutMs: 30_000,
    enough: () => enough,
  });
  return {
    stop: async () => {
      enough = true;
      return running;
    },
  };
}

function rolloutSpec(loadBalancer: string, steps: unknown[]): RolloutSpecInput {
  return {
    environment: ENVIRONMENT,
    fleet: { instances: FLEET, port: APP_PORT },
    prometheus: { address: prometheus.address },
    traffic: { loadBalancerMembership: { loadBalancer, drain: '3s' } },
    canary: { maxSurge: 0, maxUnavailable: 1, steps: steps as never },
    analysisTemplates: {
      errors: {
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
      },
    },
  };
}

function startRollout(tag: string, rollout: RolloutSpecInput) {
  const input = {
    ...buildDeployInput({ result: provisioned, spec }, { shop: tag }),
    spec: rollout,
    requestedBy: 'jest',
  } as RolloutReleaseInput;
  return env.client.workflow.start('rolloutRelease', { taskQueue: TASK_QUEUE, workflowId: rolloutWorkflowId(ENVIRONMENT), args: [input] });
}

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud, api } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 150 },
  }));
  workers = await startOpsflowWorkers(env, cloud);
  const two = canaryEnvironmentSpec(ENVIRONMENT);
  spec = { ...two, droplets: [{ ...two.droplets[0]!, count: 4 }] };
  provisioned = await withWorker(() =>
    env.client.workflow.execute('provisionEnvironment', {
      taskQueue: TASK_QUEUE,
      workflowId: `provision-${ENVIRONMENT}`,
      args: [{ spec }],
    }),
  );
  for (const host of provisioned.hosts) dropletOf[host.instance] = provisioned.droplets.find((d) => d.publicIp === host.address)!.id;
  prometheus = await startPrometheus(provisioned.hosts.map((h) => `${h.address}:${APP_PORT}`));
  lb = await createLoadBalancer('canary-lb-web', FLEET);
}, 900_000);

afterAll(async () => {
  await prometheus?.stop();
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
});

test('a good canary: 10% asked is 1 of 4 members (25%), split 10/30 at the load balancer, promoted, ends on the new version with all four members; nothing lost', async () => {
  const steps = [
    { setWeight: 10 },
    { pause: {} },
    { analysis: { templates: ['errors'] } },
    { setWeight: 50 },
    { analysis: { templates: ['errors'] } },
    { setWeight: 100 },
    { analysis: { templates: ['errors'] } },
  ];
  const saved = await members();
  const tallies: LoadTally[] = [];
  let load = loadThroughLb();
  const { result, handle, waiting, details, split, byDroplet, status } = await withWorker(async () => {
    const handle = await startRollout('1.1', rolloutSpec('canary-lb-web', steps));
    const waiting = await until(
      'the pause after setWeight 10',
      async () => {
        const status = await handle.query<RolloutStatus>('status');
        return status.rollout?.pause?.reason === 'step 2: pause until promoted' ? status : undefined;
      },
      400_000,
    );
    const details = (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
    // Counted at the load balancer with nothing else running: 40 requests, one connection each.
    tallies.push(await load.stop());
    const before = cloud.loadBalancers.counts(lb.id).byDroplet;
    const split = await generateLoad(`http://${lb.ip}/version`, { total: 40 });
    const after = cloud.loadBalancers.counts(lb.id).byDroplet;
    const byDroplet = Object.fromEntries(FLEET.map((i) => [i, (after[dropletOf[i]!] ?? 0) - (before[dropletOf[i]!] ?? 0)]));
    load = loadThroughLb();
    await handle.executeUpdate('promote', { args: [{ by: 'jest' }] });
    const result = (await handle.result()) as RolloutResult;
    const status = await handle.query<RolloutStatus>('status');
    return { result, handle, waiting, details, split, byDroplet, status };
  });
  tallies.push(await load.stop());

  expect(waiting.rollout!.weight).toEqual({
    asked: { stable: 90, canary: 10 },
    effective: { stable: 75, canary: 25 },
    note: 'weight by membership: 1 of 4 hosts = 25%, asked 10%',
  });
  expect(waiting.rollout!.canaryHosts).toEqual(['app-1']);
  expect(waiting.rollout!.loadBalancer).toEqual({ name: 'canary-lb-web', ip: lb.ip, savedMembers: expect.any(Array) });
  expect(details).toContain('weight by membership: 1 of 4 hosts = 25%, asked 10%');
  expect(split.byBody).toEqual({ '1.1\n': 10, '1.0\n': 30 });
  expect(byDroplet).toEqual({ 'app-1': 10, 'app-2': 10, 'app-3': 10, 'app-4': 10 });

  expect(result.images).toEqual({ shop: 'ghcr.io/acme/shop:1.1' });
  expect(result.analyses.map((a) => a.phase)).toEqual(['successful', 'successful', 'successful']);
  expect(await versions()).toEqual(['1.1', '1.1', '1.1', '1.1']);
  expect(await members()).toEqual(saved);
  expect(status.rollout).toMatchObject({ phase: 'completed', weight: { effective: { stable: 100, canary: 0 } } });
  // No request lost to a membership change, and both versions answered along the way.
  for (const tally of tallies) expect(tally.failures).toEqual([]);
  const answered = tallies.flatMap((t) => Object.keys(t.byBody));
  expect(new Set(answered)).toEqual(new Set(['1.0\n', '1.1\n']));
  const changes = await activities(handle, 'setLoadBalancerMembers');
  console.log(
    `good canary by membership: ${changes} membership calls, ${tallies.reduce((n, t) => n + t.done, 0)} requests through the load balancer, none failed`,
  );
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
});

test('a -err5 canary is aborted by its analysis: traffic back on stable, the saved membership put back, the only failures the bad version’s 500s', async () => {
  const steps = [{ setWeight: 50 }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }];
  const stable = await versionOn('app-4');
  const saved = await members();
  const load = loadThroughLb();
  let err: unknown;
  let handle!: WorkflowHandleWithFirstExecutionRunId;
  let status!: RolloutStatus;
  let tally!: LoadTally;
  try {
    await withWorker(async () => {
      handle = await startRollout('1.2-err5', rolloutSpec(lb.id, steps));
      err = await handle.result().catch((e: unknown) => e);
      status = await handle.query<RolloutStatus>('status');
    });
  } finally {
    tally = await load.stop();
  }
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('error-ratio');
  expect(failure.details?.[0]).toMatchObject({
    metric: 'error-ratio',
    weights: { stable: 100, canary: 0 },
    hostsRestored: ['app-1', 'app-2'],
  });
  expect(status.rollout).toMatchObject({ phase: 'aborted', canaryHosts: [], weight: { effective: { stable: 100, canary: 0 } } });
  expect(await versions()).toEqual([stable, stable, stable, stable]);
  expect(await members()).toEqual(saved);
  // Once the restored hosts are back in rotation, every answer is the stable version.
  await until(
    'all four back in rotation',
    async () => (cloud.loadBalancers.backends(lb.id).every((b) => b.healthy) ? true : undefined),
    60_000,
  );
  const after = await generateLoad(`http://${lb.ip}/version`, { total: 40 });
  expect(after.byBody).toEqual({ [`${stable}\n`]: 40 });
  expect(tally.failures.every((f) => f === 'HTTP 500')).toBe(true);
  console.log(`-err5 canary by membership: ${tally.done} requests, ${tally.failures.length} failed (all the bad version's 500s)`);
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
});

test('a load balancer that leaves out a fleet host is refused before anything changes', async () => {
  const partial = await createLoadBalancer('canary-lb-three', ['app-1', 'app-2', 'app-3']);
  const before = await versions();
  const { err, handle } = await withWorker(async () => {
    const handle = await startRollout('1.3', rolloutSpec('canary-lb-three', [{ setWeight: 25 }, { setWeight: 100 }]));
    return { err: await handle.result().catch((e: unknown) => e), handle };
  });
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('TrafficRefused');
  expect(failure.message).toContain(`fleet host app-4 (${address('app-4')}) is not in load balancer canary-lb-three`);
  expect(await versions()).toEqual(before);
  expect(await members(partial.id)).toEqual(['app-1', 'app-2', 'app-3'].map((i) => dropletOf[i]!).sort());
  expect(await activities(handle, 'setLoadBalancerMembers')).toBe(0);
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
  expect(api.violations).toEqual([]);
});

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(3);
  for (const handle of runs)
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
    ).resolves.toBeUndefined();
});
