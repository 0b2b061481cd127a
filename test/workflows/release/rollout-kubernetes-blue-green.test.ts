// rolloutRelease's blue-green on Kubernetes, on the real parts of rollout-kubernetes.test (the
// Temporal dev server, the local cloud's DOKS cluster with pods that really run the simulated app,
// its nginx ingress configured from the HTTPRoute, a real Prometheus scraping the pods, the load
// generator through the Gateway). The route splits `web` (blue) and `web-preview` (green). A good
// version is judged on test traffic sent straight to the preview's pods, switched to in one patch,
// judged again on live traffic, and ends with the stable Deployment on it and no preview left, no
// request failed. A `-err5` version fails its post-promotion analysis: the route goes straight
// back to 100/0, the preview is deleted after it, the stable Deployment is not touched, and the
// only failed requests are the bad version's own 500s. With autoPromotion off it waits for
// `promote`; an abort while the stable Deployment is kept warm switches straight back. Every run replays.
// The pre-promotion analysis waits on a `pause` update the test sends while the preview deploys
// (the update's answer proves it came first) and resumes once Prometheus has the preview's traffic:
// a gate, not a guess at scrape timing.
import { WorkflowFailedError, type ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import { generateLoad, type LoadTally } from '../../../src/rollouts/load-generator';
import type { KubernetesRolloutInput } from '../../../src/specs/kubernetes-rollout';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import { rolloutWorkflowId, type RolloutResult, type RolloutStatus, type UpdateAccepted } from '../../../src/workflows/release/rollout-api';
import {
  KUBE_CLUSTER,
  KUBE_ENVIRONMENT,
  kubeRef as ref,
  ROUTE_REF,
  replayEach,
  routeChangesAndDeletes,
  startKubeCanaryStage,
  type KubeCanaryStage,
} from '../../helpers/kube-canary-stage';
import { activities, ERRORS_TEMPLATE } from '../../helpers/rollout-stack';
import { until } from '../../helpers/until';

jest.setTimeout(15 * 60_000);

let stage: KubeCanaryStage;
/** Every run above, replayed at the end against the current workflow code. */
const runs: WorkflowHandle[] = [];

beforeAll(async () => {
  stage = await startKubeCanaryStage();
  // The stage's route splits web / web-canary; blue-green's green side is web-preview.
  await stage.client.patch(
    ROUTE_REF,
    {
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'web', port: 80, weight: 100 },
              { name: 'web-preview', port: 80, weight: 0 },
            ],
          },
        ],
      },
    },
    'merge',
  );
  await until('the route serving 1.0 with web-preview as its second backend', async () => {
    const tally = await generateLoad(`http://${stage.gateway}/version`, { total: 5 });
    return tally.byBody['1.0\n'] === 5 ? true : undefined;
  });
}, 20 * 60_000);

afterAll(async () => {
  await stage?.stop();
});

function startBlueGreen(tag: string, blueGreen: object): Promise<WorkflowHandle> {
  const input: KubernetesRolloutInput = {
    environment: KUBE_ENVIRONMENT,
    images: { web: `registry.example/shop-web:${tag}` },
    spec: {
      environment: KUBE_ENVIRONMENT,
      prometheus: { address: stage.prometheus.address },
      traffic: {
        httpRoute: { cluster: KUBE_CLUSTER, namespace: 'shop', route: 'web', stableService: 'web', canaryService: 'web-preview' },
      },
      blueGreen: blueGreen as never,
      analysisTemplates: { errors: ERRORS_TEMPLATE },
    },
    requestedBy: 'alice',
  };
  return stage.env.client.workflow.start('rolloutRelease', {
    taskQueue: TASK_QUEUE,
    workflowId: `${rolloutWorkflowId(KUBE_ENVIRONMENT)}-blue-green-${tag}`,
    args: [input],
  });
}

const status = async (handle: WorkflowHandle) => handle.query<RolloutStatus>('status');

/** `fn` under load through the Gateway, one request after another; the load stops however `fn` ends. */
async function underLoad<T>(fn: () => Promise<T>): Promise<T & { tally: LoadTally }> {
  const traffic = stage.load();
  try {
    const value = await fn();
    return { ...value, tally: await traffic.stop() };
  } finally {
    await traffic.stop();
  }
}

/**
 * Test traffic straight to one preview pod (the load generator sends to loopback only; a pod is on
 * its own 198.18.x address), one request after another until `stop` says so; answers counted.
 */
async function testTraffic(pod: string, stop: () => boolean): Promise<Pick<LoadTally, 'byBody' | 'failures' | 'done'>> {
  const tally = { byBody: {} as Record<string, number>, failures: [] as string[], done: 0 };
  while (!stop()) {
    try {
      const answer = await fetch(`http://${pod}/version`);
      const body = await answer.text();
      if (answer.ok) tally.byBody[body] = (tally.byBody[body] ?? 0) + 1;
      else tally.failures.push(`HTTP ${answer.status}`);
    } catch (err) {
      tally.failures.push(String(err));
    }
    tally.done++;
  }
  return tally;
}

/** `fn` on the run; if it throws, the run is terminated so that the next test finds the environment free. */
async function orTerminate<T>(handle: WorkflowHandle, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await handle.terminate('the test failed').catch(() => undefined);
    throw err;
  }
}

/** The running preview pods' addresses (the test's own way in, as test traffic reaches a preview). */
async function previewPods(): Promise<string[]> {
  const pods = (await stage.client.list('v1', 'Pod', 'shop', { labelSelector: 'track=preview' })).items;
  return pods.filter((p) => p.status?.phase === 'Running' && p.status?.podIP).map((p) => `${p.status.podIP as string}:8080`);
}

test('a good version: judged on the preview, switched in one patch, the stable Deployment on it at the end, no preview left, no request failed', async () => {
  const stableBefore = await stage.client.get(ref('Deployment', 'web'));
  const { result, final, held, paused, previewTally, handle, tally } = await underLoad(() =>
    stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await startBlueGreen('2.0', {
        prePromotionAnalysis: { templates: ['errors'] },
        postPromotionAnalysis: { templates: ['errors'] },
        scaleDownDelay: '5s',
        previewFleet: { drain: '3s' },
      });
      return orTerminate(handle, async () => {
        // Once the status shows the rollout (not the environment claim's wait), its update handlers are
        // there too; the preview is not judged yet.
        await until('the rollout to answer its status', async () =>
          (await status(handle).catch(() => undefined))?.rollout ? true : undefined,
        );
        const paused = await handle.executeUpdate<UpdateAccepted, [{ by: string }]>('pause', { args: [{ by: 'alice' }] });
        const held = await until(
          'the rollout held before its pre-promotion analysis',
          async () => {
            const s = await status(handle);
            return s.rollout?.pause?.reason === 'paused by alice' && s.rollout.step?.detail === 'pre-promotion analysis' ? s : undefined;
          },
          300_000,
        );
        // Test traffic straight to the preview's pods until Prometheus has it, then on through the analysis.
        const pods = await previewPods();
        let previewDone = false;
        const previewLoads = pods.map((pod) => testTraffic(pod, () => previewDone));
        try {
          await until('Prometheus to have the preview traffic', async () => ((await stage.measurable('2.0')) ? true : undefined), 120_000);
          await handle.executeUpdate('resume', { args: [{ by: 'alice' }] });
          await until(
            'the pre-promotion analysis to end',
            async () => ((await status(handle)).rollout?.analyses[0]?.phase !== 'running' ? true : undefined),
            300_000,
          );
        } finally {
          previewDone = true;
        }
        const previewTally = await Promise.all(previewLoads);
        const result = (await handle.result()) as RolloutResult;
        return { result, final: await status(handle), held, paused, previewTally, handle };
      });
    }),
  );
  // The pause came while the preview was still being made: it held the analysis by construction.
  expect(paused.accepted).toMatch(
    /^paused: the next step waits for resume \((record running images|take over traffic|deploy the preview) finishes first\)$/,
  );
  // Held before the analysis: the preview at full size and ready, all traffic still on stable.
  expect(held.rollout).toMatchObject({
    strategy: 'blue-green',
    weight: { effective: { stable: 100, canary: 0 } },
    canaryHosts: ['Deployment shop/web-preview'],
    stableHosts: ['Deployment shop/web'],
    blueGreen: { serving: 'active', previewServers: ['Service shop/web-preview'] },
    kubernetes: { track: 'preview', canaryDeployment: 'web-preview', canaryReplicas: 2, canaryReadyReplicas: 2, canary: 'serving' },
  });
  expect(previewTally.flatMap((t) => t.failures)).toEqual([]);
  expect(previewTally.every((t) => Object.keys(t.byBody).join() === '2.0\n')).toBe(true);
  expect(result.images).toEqual({ web: 'registry.example/shop-web:2.0' });
  expect(result.previousImages).toEqual({ web: 'registry.example/shop-web:1.0' });
  expect(result.analyses.map((a) => [a.name, a.phase])).toEqual([
    ['pre-promotion', 'successful'],
    ['post-promotion', 'successful'],
  ]);
  expect(result.kubernetes?.removed).toEqual(['Deployment shop/web-preview', 'Service shop/web-preview']);
  expect(final.outcome?.state).toBe('completed');
  expect(final.rollout).toMatchObject({
    phase: 'completed',
    weight: { effective: { stable: 100, canary: 0 } },
    kubernetes: { canary: 'removed', stable: 'updated', stableReadyReplicas: 2 },
  });
  expect(final.rollout!.blueGreen).toEqual(
    expect.objectContaining({ switchedAt: expect.any(String), keptWarmUntil: expect.any(String), returnedToFleetAt: expect.any(String) }),
  );
  expect(final.rollout!.blueGreen!.switchedBackAt).toBeUndefined();
  // 3 measurements each, one activity each.
  expect(await activities(handle, 'measureMetric')).toBe(6);
  // Take over (unchanged), the switch to the preview, back to the stable Deployment on the new image.
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(3);
  // The stable Deployment on the new image, all replicas, one new generation; no preview left.
  const stableAfter = await stage.client.get(ref('Deployment', 'web'));
  expect(await stage.image('web')).toBe('registry.example/shop-web:2.0');
  expect(stableAfter?.status?.availableReplicas).toBe(2);
  expect(stableAfter?.metadata.generation).toBe((stableBefore?.metadata.generation as number) + 1);
  expect(await stage.client.get(ref('Deployment', 'web-preview'))).toBeUndefined();
  expect(await stage.client.get(ref('Service', 'web-preview'))).toBeUndefined();
  expect(await stage.routeWeights()).toEqual([100, 0]);
  // Every request through the ingress answered, by both versions along the way.
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '2.0\n']);
  const after = await generateLoad(`http://${stage.gateway}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '2.0\n': 40 });
  runs.push(handle);
  console.log(
    `good blue-green: ${tally.done} requests through the ingress, ${tally.failures.length} failed, by version ${JSON.stringify(tally.byBody)}; ${previewTally.reduce((n, t) => n + t.done, 0)} test requests to the preview pods`,
  );
});

test('a -err5 version fails its post-promotion analysis: the route back to 100/0 at once, the preview deleted after, the stable Deployment untouched', async () => {
  const stableBefore = await stage.client.get(ref('Deployment', 'web'));
  const { err, final, handle, tally } = await underLoad(() =>
    stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await startBlueGreen('2.1-err5', {
        postPromotionAnalysis: { templates: ['errors'] },
        scaleDownDelay: '60s',
        previewFleet: { drain: '3s' },
      });
      const err = await handle.result().catch((e: unknown) => e);
      return { err, final: await status(handle), handle };
    }),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('post-promotion analysis failed');
  expect(failure.message).toContain('error-ratio');
  expect(failure.message).toContain('switched back with nothing redeployed');
  // Measurements before the bad version had traffic enough are no data ([]), within inconclusiveLimit; the last is ~5%.
  expect(failure.message).toMatch(/\(values: (\[\], )*0\.0\d+\)$/);
  expect(failure.details?.[0]).toMatchObject({
    metric: 'error-ratio',
    weights: { stable: 100, canary: 0 },
    canaryRemoved: ['Deployment shop/web-preview', 'Service shop/web-preview'],
  });
  expect(final.outcome?.state).toBe('rolled back');
  expect(final.rollout).toMatchObject({
    phase: 'aborted',
    abort: { metric: 'error-ratio' },
    weight: { effective: { stable: 100, canary: 0 } },
    blueGreen: { serving: 'active', switchedAt: expect.any(String), switchedBackAt: expect.any(String) },
    kubernetes: { canary: 'removed', stable: 'serving' },
  });
  expect(final.rollout!.analyses.map((a) => [a.name, a.phase])).toEqual([['post-promotion', 'failed']]);
  // The route at 100/0, the preview gone, the stable Deployment as it was (no new generation).
  expect(await stage.routeWeights()).toEqual([100, 0]);
  expect(await stage.client.get(ref('Deployment', 'web-preview'))).toBeUndefined();
  expect(await stage.client.get(ref('Service', 'web-preview'))).toBeUndefined();
  const stableAfter = await stage.client.get(ref('Deployment', 'web'));
  expect(stableAfter?.metadata.generation).toBe(stableBefore?.metadata.generation);
  expect(await stage.image('web')).toBe('registry.example/shop-web:2.0');
  // Nothing redeployed: no patch of the stable Deployment; take over, the switch, the switch back.
  expect(await activities(handle, 'patchKubernetesObject')).toBe(0);
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(3);
  // The saga's order: the route back on stable completed before the preview's delete was scheduled.
  expect(await routeChangesAndDeletes(handle)).toEqual(['weights set', 'weights set', 'weights set', 'delete scheduled']);
  // The only failed requests were the bad version's own 500s; the ingress serves the old version again.
  expect(tally.failures.length).toBeGreaterThan(0);
  expect(tally.failures.every((f) => f === 'HTTP 500')).toBe(true);
  expect(Object.keys(tally.byBody).sort()).toEqual(['2.0\n', '2.1-err5\n']);
  const after = await generateLoad(`http://${stage.gateway}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '2.0\n': 40 });
  runs.push(handle);
  console.log(
    `-err5 blue-green: ${tally.done} requests, ${tally.failures.length} failed (all HTTP 500), by version ${JSON.stringify(tally.byBody)}`,
  );
});

test('autoPromotion off: it waits for `promote`, switches; an abort while the stable Deployment is kept warm switches back at once, nothing redeployed', async () => {
  const stableBefore = await stage.client.get(ref('Deployment', 'web'));
  const { waiting, warm, servedPreview, err, final, handle, tally } = await underLoad(() =>
    stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await startBlueGreen('2.2', {
        autoPromotion: { enabled: false },
        scaleDownDelay: '10m',
        previewFleet: { drain: '3s' },
      });
      return orTerminate(handle, async () => {
        const waiting = await until(
          'the rollout to wait for promote',
          async () => {
            const s = await status(handle);
            return s.rollout?.pause?.waitingFor === 'human' ? s : undefined;
          },
          300_000,
        );
        await handle.executeUpdate('promote', { args: [{ by: 'alice' }] });
        const warm = await until(
          'the stable Deployment kept warm',
          async () => {
            const s = await status(handle);
            return s.rollout?.step?.detail === 'keep the stable Deployment warm' && s.rollout.blueGreen?.keptWarmUntil ? s : undefined;
          },
          300_000,
        );
        // Held until the ingress really serves the preview (a request through the Gateway answers 2.2):
        // the load generator alone may send nothing in that window on a loaded machine.
        const servedPreview = await until(
          'the ingress to serve 2.2',
          async () => {
            const answer = await fetch(`http://${stage.gateway}/version`).catch(() => undefined);
            const body = answer?.ok ? await answer.text() : undefined;
            return body === '2.2\n' ? body : undefined;
          },
          300_000,
        );
        await handle.executeUpdate('abort', { args: [{ by: 'bob', reason: 'support tickets' }] });
        const err = await handle.result().catch((e: unknown) => e);
        return { waiting, warm, servedPreview, err, final: await status(handle), handle };
      });
    }),
  );
  expect(waiting.rollout).toMatchObject({
    weight: { effective: { stable: 100, canary: 0 } },
    pause: { reason: 'preview Deployment shop/web-preview ready on web registry.example/shop-web:2.2: promote switches all traffic to it' },
    kubernetes: { canary: 'serving', canaryReadyReplicas: 2 },
  });
  expect(warm.rollout).toMatchObject({ weight: { effective: { stable: 0, canary: 100 } }, blueGreen: { serving: 'preview' } });
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('switched back with nothing redeployed');
  expect(failure.details?.[0]).toMatchObject({ by: 'bob', reason: 'support tickets', weights: { stable: 100, canary: 0 } });
  expect(final.rollout).toMatchObject({ phase: 'aborted', blueGreen: { serving: 'active', switchedBackAt: expect.any(String) } });
  expect(final.rollout!.updates.map((u) => [u.name, u.by])).toEqual([
    ['promote', 'alice'],
    ['abort', 'bob'],
  ]);
  // Take over, the switch, the switch back; the stable Deployment never patched; the preview gone after.
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(3);
  expect(await activities(handle, 'patchKubernetesObject')).toBe(0);
  expect(await routeChangesAndDeletes(handle)).toEqual(['weights set', 'weights set', 'weights set', 'delete scheduled']);
  expect((await stage.client.get(ref('Deployment', 'web')))?.metadata.generation).toBe(stableBefore?.metadata.generation);
  expect(await stage.client.get(ref('Deployment', 'web-preview'))).toBeUndefined();
  expect(await stage.routeWeights()).toEqual([100, 0]);
  expect(tally.failures).toEqual([]);
  expect(servedPreview).toBe('2.2\n');
  // Through the whole run the load saw only the two versions, 2.0 among them (2.2 when it sent in the warm window).
  expect(tally.byBody['2.0\n']).toBeGreaterThan(0);
  expect(Object.keys(tally.byBody).every((v) => v === '2.0\n' || v === '2.2\n')).toBe(true);
  runs.push(handle);
  console.log(`promote, then abort while warm: ${tally.done} requests, none failed, by version ${JSON.stringify(tally.byBody)}`);
});

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(3);
  await replayEach(runs);
});
