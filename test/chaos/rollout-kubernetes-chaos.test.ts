// Issue 16: a canary on Kubernetes with the production worker (dist/worker.js) SIGKILLed at each
// kind of point a rollout waits at, each held open by construction: the pause waiting for a human,
// a measurement parked in a gated proxy in front of the real Prometheus, and a timed pause seen
// pending in the history with the worker stopped. A new worker takes over each time. The route's
// weights are watched through the API server (kubectl --watch, every change the server makes), so
// the invariants are counted, not sampled: the run ends on the new image with the canary gone, the
// route went through each split the run asked for exactly once, in order (nothing applied twice, no
// flapping), and none of the requests through the ingress failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { generateEd25519 } from '@opsflow/localcloud';
import type { KubernetesRolloutInput } from '../../src/specs/kubernetes-rollout';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import { rolloutWorkflowId, type RolloutResult, type RolloutStatus } from '../../src/workflows/release/rollout-api';
import { startGatedProxy, type GatedProxy } from '../helpers/gated-proxy';
import { findKubePlane } from '../helpers/kube-plane';
import { KUBE_CLUSTER, KUBE_ENVIRONMENT, kubeRef, startKubeCanaryStage, type KubeCanaryStage } from '../helpers/kube-canary-stage';
import { killProcess, startProductionWorker, whileStopped } from '../helpers/production-worker';
import { activities, history } from '../helpers/rollout-stack';
import { tempDir } from '../helpers/temp';
import { workflowBundlePath } from '../helpers/temporal';
import { until } from '../helpers/until';

jest.setTimeout(20 * 60_000);

const TAG = '1.5';
let stage: KubeCanaryStage;
let proxy: GatedProxy;
let worker: ChildProcess | undefined;
let keyFile: string;
const kills: string[] = [];

/** Every weight pair the route's spec took, in order, as the API server's watch reports them. */
interface RouteWatch {
  splits: string[];
  stop(): void;
}

function watchRouteWeights(kubeconfig: string): RouteWatch {
  const kubectl = path.join((findKubePlane() as { binDir: string }).binDir, 'kubectl');
  const child = spawn(kubectl, [
    '--kubeconfig',
    kubeconfig,
    'get',
    'httproute',
    'web',
    '--namespace',
    'shop',
    '--watch',
    '--output',
    'jsonpath={.spec.rules[0].backendRefs[*].weight}{"\\n"}',
  ]);
  const splits: string[] = [];
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    // Annotation-only changes repeat the weights: only a change of split is a new entry.
    for (const line of lines.map((l) => l.trim().replace(' ', '/')).filter(Boolean)) if (splits.at(-1) !== line) splits.push(line);
  });
  return { splits, stop: () => void child.kill() };
}

/** The stage's cluster's kubeconfig, as a user gets it from the API. */
async function clusterKubeconfig(): Promise<string> {
  const api = (what: string) =>
    fetch(`${stage.cloud.apiUrl}/v2/kubernetes/clusters${what}`, { headers: { Authorization: `Bearer ${stage.cloud.token}` } });
  const { kubernetes_clusters: clusters } = (await (await api('')).json()) as { kubernetes_clusters: { id: string; name: string }[] };
  const cluster = clusters.find((c) => c.name === KUBE_CLUSTER);
  if (!cluster) throw new Error(`no cluster ${KUBE_CLUSTER} in the local cloud`);
  return (await api(`/${cluster.id}/kubeconfig`)).text();
}

async function startWorker(): Promise<void> {
  worker = await startProductionWorker({
    temporalAddress: stage.env.address,
    env: { OPSFLOW_SSH_KEYS: `deploy=${keyFile}`, DIGITALOCEAN_TOKEN: stage.cloud.token, DIGITALOCEAN_API_URL: stage.cloud.apiUrl },
  });
}

async function killWorker(aim: string): Promise<void> {
  await killProcess(worker!);
  kills.push(aim);
}

beforeAll(async () => {
  stage = await startKubeCanaryStage();
  proxy = await startGatedProxy(stage.prometheus.address);
  keyFile = path.join(tempDir('kube-chaos-keys'), 'deploy');
  writeFileSync(keyFile, generateEd25519().private, { mode: 0o600 });
}, 20 * 60_000);

afterAll(async () => {
  if (worker) await killProcess(worker);
  await proxy?.close();
  await stage?.stop();
});

test('a Kubernetes canary whose worker is SIGKILLed at a human pause, mid-measurement and in a timed pause ends as it would have, each split applied once', async () => {
  const steps = [
    { setWeight: 20 },
    { pause: {} },
    { analysis: { templates: ['errors'] } },
    { setWeight: 50 },
    { pause: { duration: '30s' } },
    { setWeight: 100 },
    { analysis: { templates: ['errors'] } },
  ];
  const kubeconfig = path.join(tempDir('kube-chaos'), 'kubeconfig');
  writeFileSync(kubeconfig, await clusterKubeconfig(), { mode: 0o600 });
  const route = watchRouteWeights(kubeconfig);
  await until('the route watch to report the split in place', async () => (route.splits.length > 0 ? true : undefined));
  const traffic = stage.load();
  await startWorker();

  const input: KubernetesRolloutInput = {
    environment: KUBE_ENVIRONMENT,
    images: { web: `registry.example/shop-web:${TAG}` },
    // The measurements go through the gated proxy, so one can be held inside its call.
    spec: { ...stage.spec(steps), prometheus: { address: proxy.address } },
    requestedBy: 'alice',
  };
  const handle: WorkflowHandle = await stage.env.client.workflow.start('rolloutRelease', {
    taskQueue: TASK_QUEUE,
    workflowId: `${rolloutWorkflowId(KUBE_ENVIRONMENT)}-chaos`,
    args: [input],
  });

  // 1. Waiting for a human at 20%.
  await until(
    'the canary to wait for a human at 20%',
    async () => ((await handle.query<RolloutStatus>('status')).rollout?.pause?.waitingFor === 'human' ? true : undefined),
    300_000,
  );
  await killWorker('pause for a human');
  await startWorker();
  const resumed = await handle.query<RolloutStatus>('status');
  expect(resumed.rollout).toMatchObject({ phase: 'paused', weight: { effective: { stable: 80, canary: 20 } } });

  // 2. Inside a measurement: the query parked in the proxy, so the activity is in its call.
  await until('Prometheus to have the canary traffic', async () => ((await stage.measurable(TAG)) ? true : undefined), 120_000);
  proxy.arm();
  await handle.executeUpdate('promote', { args: [{ by: 'alice' }] });
  await proxy.held();
  await killWorker('measurement');
  proxy.release();
  await startWorker();

  // 3. The timed pause at 50%, its timer pending in the history while the worker is stopped.
  await until(
    'the 30 s pause at 50%',
    async () => ((await handle.query<RolloutStatus>('status')).rollout?.pause?.waitingFor === 'timer' ? true : undefined),
    300_000,
  );
  await whileStopped(worker!, async () => {
    const events = await history(handle);
    const started = events.filter((e) => e.timerStartedEventAttributes).map((e) => e.timerStartedEventAttributes!.timerId);
    const fired = new Set(events.filter((e) => e.timerFiredEventAttributes).map((e) => e.timerFiredEventAttributes!.timerId));
    expect(started.filter((id) => !fired.has(id)).length).toBeGreaterThan(0);
    await killWorker('timed pause');
  });
  await startWorker();

  const result = (await handle.result()) as RolloutResult;
  const tally = await traffic.stop();
  route.stop();

  expect(kills).toEqual(['pause for a human', 'measurement', 'timed pause']);
  expect(result.images).toEqual({ web: `registry.example/shop-web:${TAG}` });
  expect(await stage.image('web')).toBe(`registry.example/shop-web:${TAG}`);
  expect(await stage.client.get(kubeRef('Deployment', 'web-canary'))).toBeUndefined();
  // Each split once, in order: stable alone, 20, 50, 100 on the canary, then the promoted stable alone.
  expect(route.splits).toEqual(['100/0', '80/20', '50/50', '0/100', '100/0']);
  // One traffic change per split (the take-over's 100/0 included): retries of a killed attempt are not new changes.
  expect(await activities(handle, 'setHttpRouteWeights')).toBe(5);
  // The measurement hit by the kill was retried: one measureMetric shows a later attempt.
  const events = await history(handle);
  const measurements = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'measureMetric').map((e) => String(e.eventId)),
  );
  const measureAttempts = events
    .filter((e) => measurements.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  expect(Math.max(...measureAttempts)).toBeGreaterThan(1);
  expect(tally.failures).toEqual([]);
  await expect(
    Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
  ).resolves.toBeUndefined();
  console.log(
    `kubernetes rollout chaos: ${kills.length} kills, ${tally.done} requests through the ingress, none failed; splits ${route.splits.join(' -> ')}`,
  );
});
