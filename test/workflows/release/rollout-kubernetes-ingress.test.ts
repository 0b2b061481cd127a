// rolloutRelease's canary on Kubernetes weighted by a canary Ingress (traffic.ingressCanary) instead
// of an HTTPRoute, on kube-canary-stage's real parts: a main Ingress sends /version (a longer
// prefix than the stage's HTTPRoute's /) to `web`; the run makes the canary Deployment, Service and
// canary Ingress, moves its canary-weight to 50, is judged by Prometheus (the first analysis waits
// on a pause promoted once Prometheus has the canary's series), and ends with the stable Deployment
// on the new image, the canary Ingress at 0 and deleted with the canary, no request failed. A
// `-err5` canary is aborted by its analysis: weight 0, the canary objects gone, the stable
// Deployment untouched, only the bad version's 500s failed. A blue-green run switches by the canary
// Ingress's weight (100, then 0 once the stable Deployment is on the new image). Every run replays.
import { WorkflowFailedError, type ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import { generateLoad, type LoadTally } from '../../../src/rollouts/load-generator';
import type { KubernetesRolloutInput } from '../../../src/specs/kubernetes-rollout';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import { rolloutWorkflowId, type RolloutResult, type RolloutStatus } from '../../../src/workflows/release/rollout-api';
import {
  KUBE_CLUSTER,
  KUBE_ENVIRONMENT,
  kubeRef,
  replayEach,
  routeChangesAndDeletes,
  startKubeCanaryStage,
  type KubeCanaryStage,
} from '../../helpers/kube-canary-stage';
import { activities, ERRORS_TEMPLATE } from '../../helpers/rollout-stack';

jest.setTimeout(15 * 60_000);

let stage: KubeCanaryStage;
const runs: WorkflowHandle[] = [];
const ingressRef = (name: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name });
/** `fn` under load through the ingress; the load stops however `fn` ends. */
async function underLoad<T>(fn: () => Promise<T>): Promise<T & { tally: LoadTally }> {
  const traffic = stage.load();
  try {
    return { ...(await fn()), tally: await traffic.stop() };
  } finally {
    await traffic.stop();
  }
}

const STEPS = [{ setWeight: 50 }, { pause: {} }, { analysis: { templates: ['errors'] } }];

beforeAll(async () => {
  stage = await startKubeCanaryStage();
  await stage.client.apply({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      ingressClassName: 'nginx',
      rules: [{ http: { paths: [{ path: '/version', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
    },
  });
}, 20 * 60_000);

afterAll(async () => {
  await stage?.stop();
});

function startRollout(
  tag: string,
  strategy: object = { canary: { maxSurge: 1, scaleDownDelay: '3s', steps: STEPS } },
): Promise<WorkflowHandle> {
  const input: KubernetesRolloutInput = {
    environment: KUBE_ENVIRONMENT,
    images: { web: `registry.example/shop-web:${tag}` },
    spec: {
      environment: KUBE_ENVIRONMENT,
      prometheus: { address: stage.prometheus.address },
      traffic: {
        ingressCanary: { cluster: KUBE_CLUSTER, namespace: 'shop', ingress: 'web', stableService: 'web', canaryService: 'web-canary' },
      },
      ...strategy,
      analysisTemplates: { errors: ERRORS_TEMPLATE },
    },
    requestedBy: 'alice',
  };
  return stage.env.client.workflow.start('rolloutRelease', {
    taskQueue: TASK_QUEUE,
    workflowId: `${rolloutWorkflowId(KUBE_ENVIRONMENT)}-ingress-${tag}`,
    args: [input],
  });
}

test('a good canary through a canary Ingress: 50%, judged, the stable Deployment on the new image, the canary Ingress gone, no request failed', async () => {
  const traffic = stage.load();
  const { result, waiting, handle } = await stage.workers
    .withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await startRollout('1.1');
      const waiting = await stage.promoteWhenMeasurable(handle, '1.1');
      return { result: (await handle.result()) as RolloutResult, waiting, handle };
    })
    .finally(() => traffic.stop());
  const tally = await traffic.stop();
  expect(waiting.rollout).toMatchObject({
    weight: { effective: { stable: 50, canary: 50 } },
    kubernetes: { route: 'web', canaryIngress: 'web-canary', canary: 'serving', canaryReadyReplicas: 1 },
  });
  expect(result.images).toEqual({ web: 'registry.example/shop-web:1.1' });
  expect(result.analyses.map((a) => [a.name, a.phase])).toEqual([['step 3', 'successful']]);
  expect(result.kubernetes?.removed).toEqual(['Deployment shop/web-canary', 'Service shop/web-canary', 'Ingress shop/web-canary']);
  // Take over (the canary Ingress made at 0), 50, 100 while the stable Deployment changes, 0 again; no HTTPRoute change.
  expect(await activities(handle, 'setIngressCanaryWeights')).toBe(4);
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(0);
  expect(await stage.image('web')).toBe('registry.example/shop-web:1.1');
  expect(await stage.client.get(kubeRef('Deployment', 'web-canary'))).toBeUndefined();
  expect(await stage.client.get(ingressRef('web-canary'))).toBeUndefined();
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '1.1\n']);
  const after = await generateLoad(`http://${stage.gateway}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '1.1\n': 40 });
  runs.push(handle);
  console.log(`ingress canary: ${tally.done} requests through the ingress, none failed, by version ${JSON.stringify(tally.byBody)}`);
});

test('a -err5 canary through a canary Ingress is aborted by its analysis: weight 0, the canary objects gone, the stable Deployment untouched', async () => {
  const stableBefore = await stage.client.get(kubeRef('Deployment', 'web'));
  const traffic = stage.load();
  const { err, status, handle } = await stage.workers
    .withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await startRollout('1.2-err5');
      await stage.promoteWhenMeasurable(handle, '1.2-err5');
      const err = await handle.result().catch((e: unknown) => e);
      return { err, status: await handle.query<RolloutStatus>('status'), handle };
    })
    .finally(() => traffic.stop());
  const tally = await traffic.stop();
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.details?.[0]).toMatchObject({
    metric: 'error-ratio',
    weights: { stable: 100, canary: 0 },
    canaryRemoved: ['Deployment shop/web-canary', 'Service shop/web-canary', 'Ingress shop/web-canary'],
  });
  expect(status.rollout).toMatchObject({ phase: 'aborted', kubernetes: { canary: 'removed' } });
  // Take over, 50, then 0 on the abort, completed before the canary's delete was scheduled.
  expect(await activities(handle, 'setIngressCanaryWeights')).toBe(3);
  expect((await routeChangesAndDeletes(handle)).slice(-2)).toEqual(['weights set', 'delete scheduled']);
  expect(await stage.client.get(ingressRef('web-canary'))).toBeUndefined();
  expect((await stage.client.get(kubeRef('Deployment', 'web')))?.metadata.generation).toBe(stableBefore?.metadata.generation);
  expect(tally.failures.length).toBeGreaterThan(0);
  expect(tally.failures.every((f) => f === 'HTTP 500')).toBe(true);
  const after = await generateLoad(`http://${stage.gateway}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '1.1\n': 40 });
  runs.push(handle);
  console.log(`ingress -err5 canary: ${tally.done} requests, ${tally.failures.length} failed (all HTTP 500)`);
});

test('blue-green through a canary Ingress: canary-weight 100 is the switch, 0 the way back to the stable Deployment on the new image', async () => {
  const { result, handle, tally } = await underLoad(() =>
    stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await startRollout('1.5', { blueGreen: { scaleDownDelay: '3s', previewFleet: { drain: '2s' } } });
      return { result: (await handle.result()) as RolloutResult, handle };
    }),
  );
  expect(result.images).toEqual({ web: 'registry.example/shop-web:1.5' });
  expect(result.kubernetes).toMatchObject({
    canaryDeployment: 'web-preview',
    canaryReplicas: 2,
    canaryIngress: 'web-canary',
    stable: 'updated',
  });
  expect(result.kubernetes?.removed).toEqual(['Deployment shop/web-preview', 'Service shop/web-canary', 'Ingress shop/web-canary']);
  // Take over (0), the switch (100), back to the stable Deployment on 1.5 (0).
  expect(await activities(handle, 'setIngressCanaryWeights')).toBe(3);
  expect(await stage.image('web')).toBe('registry.example/shop-web:1.5');
  expect(await stage.client.get(ingressRef('web-canary'))).toBeUndefined();
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.1\n', '1.5\n']);
  runs.push(handle);
  console.log(`ingress blue-green: ${tally.done} requests through the ingress, none failed, by version ${JSON.stringify(tally.byBody)}`);
});

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(3);
  await replayEach(runs);
});
