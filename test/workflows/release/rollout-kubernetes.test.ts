// rolloutRelease's canary on Kubernetes, on the real parts: the Temporal dev server, the local
// cloud's DOKS cluster (a real control plane, pods that really run the simulated app on 198.18.x
// addresses, the real nginx ingress configured from the HTTPRoute), a real Prometheus scraping the
// pods (static targets the test keeps equal to the running pods' addresses: Prometheus's
// Kubernetes discovery is stack D's provisioning work), and the load generator through the
// Gateway's address. A good canary goes 20 -> 50 -> 100 and ends with the stable Deployment on the
// new image and no canary object left; a -err5 canary is aborted by its analysis, the route back
// to 100/0, the canary gone and the stable Deployment untouched; no request is lost to switching.
// A canary with no traffic is inconclusive and waits for a human (who aborts it); a workflow worker
// stopped while the canary waits is replaced by one that resumes with the same weights.
// The first analysis waits until Prometheus has the canary's traffic (a pause the test promotes
// once the series is there): a gate, not a guess at scrape timing.
import { WorkflowFailedError, type ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { generateLoad } from '../../../src/rollouts/load-generator';
import type { KubernetesRolloutInput } from '../../../src/specs/kubernetes-rollout';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import { rolloutWorkflowId, type RolloutResult, type RolloutStatus } from '../../../src/workflows/release/rollout-api';
import {
  KUBE_ENVIRONMENT,
  kubeRef as ref,
  routeChangesAndDeletes,
  startKubeCanaryStage,
  type KubeCanaryStage,
} from '../../helpers/kube-canary-stage';
import { activities, ERRORS_TEMPLATE, LATENCY_TEMPLATE } from '../../helpers/rollout-stack';
import { workflowBundlePath } from '../../helpers/temporal';
import { until } from '../../helpers/until';

jest.setTimeout(15 * 60_000);

let stage: KubeCanaryStage;
/** Every run above, replayed at the end against the current workflow code. */
const runs: WorkflowHandle[] = [];

beforeAll(async () => {
  stage = await startKubeCanaryStage();
}, 20 * 60_000);

afterAll(async () => {
  await stage?.stop();
});

const startRollout = (tag: string, steps: unknown[]) => stage.startRollout(tag, steps);
const load = () => stage.load();
const promoteWhenMeasurable = (handle: WorkflowHandle, version: string) => stage.promoteWhenMeasurable(handle, version);
const image = (name: string) => stage.image(name);
const routeWeights = () => stage.routeWeights();

test('a good canary goes 20 -> 50 -> 100 and ends with the stable Deployment on the new image and no canary left', async () => {
  const steps = [
    { setWeight: 20 },
    { pause: {} },
    { analysis: { templates: ['errors'] } },
    { setWeight: 50 },
    { analysis: { templates: ['errors'] } },
    { setWeight: 100 },
    { analysis: { templates: ['errors'] } },
  ];
  const traffic = load();
  const { result, status, waiting, handle } = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await startRollout('1.1', steps);
    const waiting = await promoteWhenMeasurable(handle, '1.1');
    const result = (await handle.result()) as RolloutResult;
    return { result, status: await handle.query<RolloutStatus>('status'), waiting, handle };
  });
  const tally = await traffic.stop();
  // While it waited at 20%: the canary Deployment's one replica ready, the split on the route.
  expect(waiting.rollout).toMatchObject({
    weight: { effective: { stable: 80, canary: 20 } },
    canaryHosts: ['Deployment shop/web-canary'],
    kubernetes: { canaryDeployment: 'web-canary', canaryReplicas: 1, canaryReadyReplicas: 1, canary: 'serving', stableDeployment: 'web' },
  });
  expect(result.images).toEqual({ web: 'registry.example/shop-web:1.1' });
  expect(result.previousImages).toEqual({ web: 'registry.example/shop-web:1.0' });
  expect(result.analyses.map((a) => [a.name, a.phase])).toEqual([
    ['step 3', 'successful'],
    ['step 5', 'successful'],
    ['step 7', 'successful'],
  ]);
  expect(status.rollout).toMatchObject({
    phase: 'completed',
    weight: { effective: { stable: 100, canary: 0 } },
    kubernetes: { canary: 'removed', stable: 'updated' },
  });
  expect(status.outcome?.state).toBe('completed');
  // Each measurement one activity, in the status too.
  expect(status.rollout!.analyses.flatMap((a) => a.metrics[0]!.measurements)).toHaveLength(9);
  expect(await activities(handle, 'measureMetric')).toBe(9);
  // The stable Deployment on the new image, all replicas; no canary object left; the route 100/0.
  expect(await image('web')).toBe('registry.example/shop-web:1.1');
  expect((await stage.client.get(ref('Deployment', 'web')))?.status?.availableReplicas).toBe(2);
  expect(await stage.client.get(ref('Deployment', 'web-canary'))).toBeUndefined();
  expect(await stage.client.get(ref('Service', 'web-canary'))).toBeUndefined();
  expect(await routeWeights()).toEqual([100, 0]);
  // Take over (unchanged), 20, 50, 100, then 100 on the promoted stable.
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(5);
  // Every request through the ingress answered, by both versions along the way.
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '1.1\n']);
  const after = await generateLoad(`http://${stage.gateway}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '1.1\n': 40 });
  runs.push(handle);
  console.log(
    `good canary: ${tally.done} requests through the ingress, ${tally.failures.length} failed; by version ${JSON.stringify(tally.byBody)}`,
  );
});

test('a -err5 canary is aborted by its analysis: weight back to 0, the canary gone, the stable Deployment untouched', async () => {
  const steps = [{ setWeight: 20 }, { pause: {} }, { analysis: { templates: ['errors'] } }, { setWeight: 50 }];
  const stableBefore = await stage.client.get(ref('Deployment', 'web'));
  const traffic = load();
  const { err, status, handle } = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await startRollout('1.2-err5', steps);
    await promoteWhenMeasurable(handle, '1.2-err5');
    const err = await handle.result().catch((e: unknown) => e);
    return { err, status: await handle.query<RolloutStatus>('status'), handle };
  });
  const tally = await traffic.stop();
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('error-ratio');
  expect(failure.message).toMatch(/values: 0\.0\d+/);
  expect(failure.details?.[0]).toMatchObject({
    metric: 'error-ratio',
    weights: { stable: 100, canary: 0 },
    canaryRemoved: ['Deployment shop/web-canary', 'Service shop/web-canary'],
  });
  expect(status.rollout).toMatchObject({ phase: 'aborted', abort: { metric: 'error-ratio' }, kubernetes: { canary: 'removed' } });
  expect(status.rollout!.analyses[0]!.metrics[0]!.measurements.at(-1)).toMatchObject({ phase: 'failed' });
  expect(status.outcome?.state).toBe('rolled back');
  // Weight 0 on the canary, the canary gone, the stable Deployment as it was (no new generation).
  expect(await routeWeights()).toEqual([100, 0]);
  expect(await stage.client.get(ref('Deployment', 'web-canary'))).toBeUndefined();
  expect(await stage.client.get(ref('Service', 'web-canary'))).toBeUndefined();
  const stableAfter = await stage.client.get(ref('Deployment', 'web'));
  expect(stableAfter?.metadata.generation).toBe(stableBefore?.metadata.generation);
  expect(await image('web')).toBe('registry.example/shop-web:1.1');
  // The saga's order: the route at 100/0 completed before the canary's delete was scheduled.
  expect((await routeChangesAndDeletes(handle)).slice(-2)).toEqual(['weights set', 'delete scheduled']);
  // Take over, 20%, then 0% on the abort: step 4 (50%) never ran.
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(3);
  runs.push(handle);
  // The only failed requests were the bad version's own 500s.
  expect(tally.failures.every((f) => f === 'HTTP 500')).toBe(true);
  const after = await generateLoad(`http://${stage.gateway}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '1.1\n': 40 });
  console.log(
    `-err5 canary: ${tally.done} requests, ${tally.failures.length} failed (all HTTP 500); by version ${JSON.stringify(tally.byBody)}`,
  );
});

test('a canary nobody sends traffic to is inconclusive and waits for a human, who aborts it: route 100/0, the canary gone', async () => {
  const steps = [{ setWeight: 20 }, { analysis: { templates: ['errors'] } }, { setWeight: 50 }];
  const { err, waiting, status, handle } = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await startRollout('1.3', steps);
    const waiting = await until(
      'the rollout to wait for a human after an inconclusive analysis',
      async () => {
        const status = await handle.query<RolloutStatus>('status');
        return status.rollout?.pause?.waitingFor === 'human' ? status : undefined;
      },
      300_000,
    );
    await handle.executeUpdate('abort', { args: [{ by: 'bob', reason: 'no traffic to judge it by' }] });
    const err = await handle.result().catch((e: unknown) => e);
    return { err, waiting, status: await handle.query<RolloutStatus>('status'), handle };
  });
  expect(waiting.rollout!.pause!.reason).toMatch(/^step 2 analysis inconclusive: /);
  expect(waiting.rollout!.weight.effective).toEqual({ stable: 80, canary: 20 });
  expect(waiting.rollout!.kubernetes).toMatchObject({ canary: 'serving', canaryReadyReplicas: 1 });
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.details?.[0]).toMatchObject({ by: 'bob', reason: 'no traffic to judge it by', weights: { stable: 100, canary: 0 } });
  expect(status.rollout).toMatchObject({ phase: 'aborted', kubernetes: { canary: 'removed' } });
  expect(await routeWeights()).toEqual([100, 0]);
  expect(await stage.client.get(ref('Deployment', 'web-canary'))).toBeUndefined();
  expect(await image('web')).toBe('registry.example/shop-web:1.1');
  // Never promoted by itself: take over, 20%, then 0% on the abort.
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(3);
  runs.push(handle);
});

test('the workflow worker stops while the canary waits at 20%: a new worker resumes with the same weights and finishes', async () => {
  const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { setWeight: 100 }];
  const traffic = load();
  const handle = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await startRollout('1.4', steps);
    await until(
      'the rollout to wait at its pause',
      async () => ((await handle.query<RolloutStatus>('status')).rollout?.pause?.waitingFor === 'human' ? true : undefined),
      300_000,
    );
    return handle;
  });
  // That worker is gone, its cache with it: the next one replays the history up to the pause.
  const before = await activities(handle, 'setHttpRouteWeights');
  expect(before).toBe(2);
  const { result, resumed } = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const resumed = await handle.query<RolloutStatus>('status');
    await handle.executeUpdate('promote', { args: [{ by: 'alice' }] });
    return { result: (await handle.result()) as RolloutResult, resumed };
  });
  const tally = await traffic.stop();
  expect(resumed.rollout).toMatchObject({
    phase: 'paused',
    weight: { effective: { stable: 80, canary: 20 } },
    kubernetes: { canary: 'serving' },
  });
  expect(result.images).toEqual({ web: 'registry.example/shop-web:1.4' });
  // No weight applied twice: take over, 20 before the stop; 50, 100, 100/0 on the promoted stable after.
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(5);
  expect(await image('web')).toBe('registry.example/shop-web:1.4');
  expect(await stage.client.get(ref('Deployment', 'web-canary'))).toBeUndefined();
  expect(tally.failures).toEqual([]);
  runs.push(handle);
  console.log(`worker restart: ${tally.done} requests, none failed; by version ${JSON.stringify(tally.byBody)}`);
});

test('a slow canary (-slow800) is aborted on latency: route 100/0, the canary gone, no request failed', async () => {
  const steps = [{ setWeight: 20 }, { pause: {} }, { analysis: { templates: ['latency'] } }, { setWeight: 50 }];
  const input: KubernetesRolloutInput = {
    environment: KUBE_ENVIRONMENT,
    images: { web: 'registry.example/shop-web:1.6-slow800' },
    spec: { ...stage.spec(steps), analysisTemplates: { errors: ERRORS_TEMPLATE, latency: LATENCY_TEMPLATE } },
    requestedBy: 'alice',
  };
  const traffic = load();
  // Four more clients at once, so the slow canary's share is measurable while each of its answers takes 0.8 s.
  let enough = false;
  const more = generateLoad(`http://${stage.gateway}/version`, {
    total: 200_000,
    concurrency: 4,
    deadlineMs: 300_000,
    enough: () => enough,
  });
  const { err, status, handle } = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await stage.env.client.workflow.start('rolloutRelease', {
      taskQueue: TASK_QUEUE,
      workflowId: `${rolloutWorkflowId(KUBE_ENVIRONMENT)}-slow`,
      args: [input],
    });
    await promoteWhenMeasurable(handle, '1.6-slow800');
    const err = await handle.result().catch((e: unknown) => e);
    return { err, status: await handle.query<RolloutStatus>('status'), handle };
  });
  const tally = await traffic.stop();
  enough = true;
  const moreTally = await more;
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('latency-p90');
  expect(failure.details?.[0]).toMatchObject({ metric: 'latency-p90', weights: { stable: 100, canary: 0 } });
  const last = status.rollout!.analyses[0]!.metrics[0]!.measurements.at(-1)!;
  expect(last).toMatchObject({ phase: 'failed' });
  expect(last.values[0]).toBeGreaterThan(0.5);
  expect(await routeWeights()).toEqual([100, 0]);
  expect(await stage.client.get(ref('Deployment', 'web-canary'))).toBeUndefined();
  expect(await image('web')).toBe('registry.example/shop-web:1.4');
  // Slow is not failed: every request through the ingress was answered, some by the slow canary.
  expect([...tally.failures, ...moreTally.failures]).toEqual([]);
  expect((tally.byBody['1.6-slow800\n'] ?? 0) + (moreTally.byBody['1.6-slow800\n'] ?? 0)).toBeGreaterThan(0);
  runs.push(handle);
  console.log(`slow canary on Kubernetes: p90 ${last.values[0]} s, ${tally.done + moreTally.done} requests none failed`);
});

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(5);
  for (const handle of runs)
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
    ).resolves.toBeUndefined();
});
