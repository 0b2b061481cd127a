// The stage of a canary on Kubernetes, shared by rollout-kubernetes.test, the CLI's real run and
// bench/kubernetes-canary.ts: the Temporal dev server, the local cloud's DOKS cluster (a real
// control plane, pods that really run the simulated app, the real nginx ingress configured from
// the HTTPRoute) provisioned by provisionCluster with the shop app (`track: stable` on its pods
// and in its Service's selector), a real Prometheus whose static targets follow the running pods'
// addresses, and the load generator through the Gateway's address.
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { KubernetesClient } from '../../src/integrations/kubernetes/client';
import type { Manifest } from '../../src/integrations/kubernetes/manifests';
import { generateLoad, type LoadTally } from '../../src/rollouts/load-generator';
import type { KubernetesRolloutInput, KubernetesRolloutSpecInput } from '../../src/specs/kubernetes-rollout';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import { rolloutWorkflowId, type RolloutStatus } from '../../src/workflows/release/rollout-api';
import { startPrometheus, type PrometheusInstance } from '../rollouts/helpers/prometheus-instance';
import { findKubePlane } from './kube-plane';
import { startLocalCloud } from './localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from './opsflow-workers';
import { ERRORS_TEMPLATE, history } from './rollout-stack';
import { startTemporal, workflowBundlePath } from './temporal';
import { until } from './until';

export const KUBE_ENVIRONMENT = 'stack-d';
export const KUBE_CLUSTER = 'shop-d';
export const ROUTE_REF = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', namespace: 'shop', name: 'web' };

export const kubeRef = (kind: 'Deployment' | 'Service', name: string) => ({
  apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
  kind,
  namespace: 'shop',
  name,
});

/** The shop app with `track: stable` on its pods and in its Service's selector, so the canary's pods are not selected by it. */
const manifests = (): Manifest[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web', track: 'stable' } },
      template: {
        metadata: { labels: { app: 'web', track: 'stable' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'registry.example/shop-web:1.0',
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web', track: 'stable' }, ports: [{ port: 80, targetPort: 8080 }] },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'public', namespace: 'shop' },
    spec: { gatewayClassName: 'nginx', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      parentRefs: [{ name: 'public' }],
      rules: [
        {
          backendRefs: [
            { name: 'web', port: 80, weight: 100 },
            { name: 'web-canary', port: 80, weight: 0 },
          ],
        },
      ],
    },
  },
];

export interface KubeCanaryStage {
  env: TestWorkflowEnvironment;
  cloud: LocalCloud;
  workers: OpsflowWorkers;
  /** The test's own client of the cluster (its kubeconfig from the local cloud's API). */
  client: KubernetesClient;
  prometheus: PrometheusInstance;
  /** The Gateway's address: the ingress the load goes through. */
  gateway: string;
  /** A canary spec on the route `web` (stable web, canary web-canary), maxSurge 1, scaleDownDelay 3s, the errors template. */
  spec(steps: unknown[]): KubernetesRolloutSpecInput;
  /** rolloutRelease for image registry.example/shop-web:<tag>, under rollout-stack-d-<tag>. */
  startRollout(tag: string, steps: unknown[]): Promise<WorkflowHandle>;
  /** Requests through the Gateway one after another until stopped; answers counted by version. */
  load(): { stop: () => Promise<LoadTally> };
  /** Promotes the first pause once Prometheus has the canary's series; the status seen while it waited. */
  promoteWhenMeasurable(handle: WorkflowHandle, version: string): Promise<RolloutStatus>;
  /** Whether Prometheus has the version's traffic (its request rate over 5 s above 1/s). */
  measurable(version: string): Promise<boolean>;
  image(deployment: string): Promise<string | undefined>;
  routeWeights(): Promise<number[]>;
  /** Configurations the cluster's ingress has loaded, each counted once nginx's old workers exited. */
  ingressLoads(): number;
  stop(): Promise<void>;
}

export async function startKubeCanaryStage(): Promise<KubeCanaryStage> {
  const plane = findKubePlane();
  if (!plane.ok) throw new Error(`the Kubernetes plane is not built: ${plane.reason}`);
  await import('../../src/integrations/kubernetes/client');
  const env = await startTemporal();
  let cloud: LocalCloud | undefined;
  let workers: OpsflowWorkers | undefined;
  let prometheus: PrometheusInstance | undefined;
  let stopTargets = false;
  let targetsLoop: Promise<void> | undefined;
  const stop = async () => {
    stopTargets = true;
    await targetsLoop;
    await prometheus?.stop();
    await workers?.stop();
    await cloud?.stop();
    await env.teardown();
  };
  try {
    ({ cloud } = await startLocalCloud({
      sshHosts: false,
      kubernetes: { binDir: plane.binDir },
      rateLimit: { perMinute: 100_000, perHour: 100_000 },
    }));
    const w = await startOpsflowWorkers(env, cloud);
    workers = w;
    const made = await w.withWorkflowWorker(TASK_QUEUE, () =>
      env.client.workflow.execute('provisionCluster', {
        taskQueue: TASK_QUEUE,
        workflowId: `provision-cluster-${KUBE_CLUSTER}`,
        args: [
          {
            environment: KUBE_ENVIRONMENT,
            cluster: {
              name: KUBE_CLUSTER,
              region: 'fra1',
              version: '1.34.3-do.0',
              nodePools: [{ name: 'pool', size: 's-2vcpu-4gb', count: 3 }],
            },
            manifests: manifests(),
          },
        ],
      }),
    );
    const kubeconfig = await (
      await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${made.clusterId}/kubeconfig`, {
        headers: { Authorization: `Bearer ${cloud.token}` },
      })
    ).text();
    const client = KubernetesClient.fromKubeconfig(kubeconfig, 'the test');
    const gateway = await until('the Gateway programmed', async () => {
      const g = await client.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', namespace: 'shop', name: 'public' });
      return g?.status?.addresses?.[0]?.value as string | undefined;
    });
    await until('the route serving 1.0', async () => {
      const tally = await generateLoad(`http://${gateway}/version`, { total: 5 });
      return tally.byBody['1.0\n'] === 5 ? true : undefined;
    });
    const prom = await startPrometheus([]);
    prometheus = prom;

    /** Prometheus's scrape targets kept equal to the running pods' addresses in `shop`. */
    const followPods = async () => {
      let last = '';
      while (!stopTargets) {
        try {
          const pods = (await client.list('v1', 'Pod', 'shop')).items;
          const targets = pods
            .filter((p) => p.status?.phase === 'Running' && p.status?.podIP)
            .map((p) => `${p.status.podIP as string}:8080`)
            .sort();
          if (targets.join() !== last) {
            prom.setTargets(targets);
            last = targets.join();
          }
        } catch {
          // the API server busy for a moment: the next pass reads again
        }
        await new Promise((r) => setTimeout(r, 300)); // follow cadence
      }
    };
    targetsLoop = followPods();

    const spec = (steps: unknown[]): KubernetesRolloutSpecInput => ({
      environment: KUBE_ENVIRONMENT,
      prometheus: { address: prom.address },
      traffic: { httpRoute: { cluster: KUBE_CLUSTER, namespace: 'shop', route: 'web', stableService: 'web', canaryService: 'web-canary' } },
      canary: { maxSurge: 1, scaleDownDelay: '3s', steps: steps as never },
      analysisTemplates: { errors: ERRORS_TEMPLATE },
    });
    const measurable = async (version: string) => {
      const query = encodeURIComponent(`sum(rate(http_requests_total{version="${version}"}[5s]))`);
      const body = (await (await fetch(`${prom.address}/api/v1/query?query=${query}`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      return Number(body.data.result[0]?.value[1] ?? 0) > 1;
    };
    return {
      env,
      cloud,
      workers: w,
      client,
      prometheus: prom,
      gateway,
      spec,
      measurable,
      startRollout: (tag, steps) => {
        const input: KubernetesRolloutInput = {
          environment: KUBE_ENVIRONMENT,
          images: { web: `registry.example/shop-web:${tag}` },
          spec: spec(steps),
          requestedBy: 'alice',
        };
        return env.client.workflow.start('rolloutRelease', {
          taskQueue: TASK_QUEUE,
          workflowId: `${rolloutWorkflowId(KUBE_ENVIRONMENT)}-${tag}`,
          args: [input],
        });
      },
      load: () => {
        let enough = false;
        const running = generateLoad(`http://${gateway}/version`, { total: 1_000_000, deadlineMs: 600_000, enough: () => enough });
        return {
          stop: async () => {
            enough = true;
            return running;
          },
        };
      },
      promoteWhenMeasurable: async (handle, version) => {
        const waiting = await until(
          'the rollout to wait at its pause',
          async () => {
            const status = await handle.query<RolloutStatus>('status');
            return status.rollout?.pause?.waitingFor === 'human' ? status : undefined;
          },
          300_000,
        );
        await until('Prometheus to have the canary traffic', async () => ((await measurable(version)) ? true : undefined), 120_000);
        await handle.executeUpdate('promote', { args: [{ by: 'alice' }] });
        return waiting;
      },
      image: async (name) =>
        (await client.get(kubeRef('Deployment', name)))?.spec?.template?.spec?.containers?.[0]?.image as string | undefined,
      ingressLoads: () => cloud!.kubernetes.ingress(made.clusterId)!.loads,
      routeWeights: async () => {
        const route = await client.get(ROUTE_REF);
        return (route!.spec.rules[0].backendRefs as { weight: number }[]).map((b) => b.weight);
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The run's route changes and deletes in history order: `weights set` when a setHttpRouteWeights
 * (or setIngressCanaryWeights) completed, `delete scheduled` when a deleteKubernetesObjects was scheduled (the saga's order).
 */
export async function routeChangesAndDeletes(handle: WorkflowHandle): Promise<string[]> {
  const scheduled = new Map<string, string>();
  const order: string[] = [];
  for (const e of await history(handle)) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) {
      scheduled.set(String(e.eventId), name);
      if (name === 'deleteKubernetesObjects') order.push('delete scheduled');
    }
    const done = e.activityTaskCompletedEventAttributes;
    const kind = done && scheduled.get(String(done.scheduledEventId));
    if (kind === 'setHttpRouteWeights' || kind === 'setIngressCanaryWeights') order.push('weights set');
  }
  return order;
}

/** Each run replayed against the current workflow code (the bundle jest built); throws at the first that does not. */
export async function replayEach(runs: WorkflowHandle[]): Promise<void> {
  for (const handle of runs)
    await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId);
}
