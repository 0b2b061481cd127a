// provisionCluster on a real Temporal dev server against the local cloud's DOKS (a real control
// plane, pods that really run, the cluster's nginx ingress): a cluster with a Deployment, a
// Service, a Gateway and an HTTPRoute comes up and answers through the Gateway's address; a
// manifest the API server refuses fails the run naming the object and the field, and the saga
// deletes the cluster the run made: the API lists none and no process of it is left.
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import http from 'node:http';
import path from 'node:path';
import { KubernetesClient } from '../../../src/integrations/kubernetes/client';
import type { Manifest } from '../../../src/integrations/kubernetes/manifests';
import type { ProvisionClusterInput } from '../../../src/workflows/kubernetes/provision-cluster';
import type { ContractClient } from '../../helpers/do-api';
import { findKubePlane } from '../../helpers/kube-plane';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { processesUsing } from '../../helpers/processes';
import { startTemporal, uniqueTaskQueue } from '../../helpers/temporal';
import { until } from '../../helpers/until';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
jest.setTimeout(10 * 60_000);

const plane = findKubePlane();
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let api: ContractClient;
let stateDir: string;
let workers: OpsflowWorkers;

beforeAll(async () => {
  if (!plane.ok) throw new Error(`the Kubernetes plane is not built: ${plane.reason}`);
  // client-node is compiled by jest at its first import: here, not in a test's time.
  await import('../../../src/integrations/kubernetes/client');
  env = await startTemporal();
  ({ cloud, api, stateDir } = await startLocalCloud({
    sshHosts: false,
    kubernetes: { binDir: plane.binDir },
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
  }));
  workers = await startOpsflowWorkers(env, cloud);
}, 3_600_000);

afterAll(async () => {
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
});

const app = (name: string, tag: string): Manifest[] => [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'web',
              image: `registry.example/shop-web:${tag}`,
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
    metadata: { name, namespace: 'shop' },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  },
];

const front: Manifest[] = [
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
    spec: { parentRefs: [{ name: 'public' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
  },
];

const input = (name: string, manifests: Manifest[]): ProvisionClusterInput => ({
  environment: 'stack-d',
  cluster: {
    name,
    region: 'fra1',
    version: '1.34.3-do.0',
    nodePools: [{ name: 'pool', size: 's-2vcpu-4gb', count: 3, autoScale: { minNodes: 3, maxNodes: 6 } }],
  },
  manifests: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, ...manifests],
});

function versionAt(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port: 80, path: '/', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode} ${res.headers['x-version']}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

test('a cluster with its workloads comes up and answers through its Gateway', async () => {
  const taskQueue = uniqueTaskQueue('provision-cluster');
  const result = await workers.withWorkflowWorker(taskQueue, () =>
    env.client.workflow.execute('provisionCluster', {
      taskQueue,
      workflowId: `provision-cluster-${taskQueue}`,
      args: [input('shop', [...app('web', '1.0.0'), ...front])],
    }),
  );
  expect(result.deployments).toEqual(['shop/web']);
  const kubeconfig = await (
    await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${result.clusterId}/kubeconfig`, {
      headers: { Authorization: `Bearer ${cloud.token}` },
    })
  ).text();
  const client = KubernetesClient.fromKubeconfig(kubeconfig, 'the test');
  const deployment = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' });
  expect(deployment?.status?.availableReplicas).toBe(2);
  const address = await until('the Gateway programmed', async () => {
    const gateway = await client.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', namespace: 'shop', name: 'public' });
    return gateway?.status?.addresses?.[0]?.value as string | undefined;
  });
  await until('the route serving', async () => ((await versionAt(address)) === '200 1.0.0' ? true : undefined));
  const cluster = (await api.call<Body>('GET', `/v2/kubernetes/clusters/${result.clusterId}`)).body.kubernetes_cluster;
  expect(cluster.tags).toEqual(expect.arrayContaining(['opsflow', 'stack-d']));
  expect(cluster.node_pools[0].auto_scale).toBe(true);
  expect((await api.call('DELETE', `/v2/kubernetes/clusters/${result.clusterId}`)).status).toBe(204);
});

test('a manifest the API server refuses fails the run naming it, and the cluster it made is deleted', async () => {
  const taskQueue = uniqueTaskQueue('provision-cluster-bad');
  const [deployment, service] = app('web', '1.0.0');
  const bad = { ...deployment!, spec: { ...(deployment!.spec as Body), replicas: 'three' } } as Manifest;
  const failed = await workers
    .withWorkflowWorker(taskQueue, () =>
      env.client.workflow.execute('provisionCluster', {
        taskQueue,
        workflowId: `provision-cluster-${taskQueue}`,
        args: [input('broken', [bad, service!])],
      }),
    )
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  expect(failed).toBeInstanceOf(WorkflowFailedError);
  const messages: string[] = [];
  for (let e: unknown = (failed as WorkflowFailedError).cause; e instanceof Error; e = (e as { cause?: unknown }).cause)
    messages.push(e.message);
  const text = messages.join(' | ');
  expect(messages[0]).toMatch(/rolled back/);
  expect(text).toContain('Deployment shop/web');
  expect(text).toContain('spec.replicas');
  expect((await api.call<Body>('GET', '/v2/kubernetes/clusters')).body.kubernetes_clusters).toEqual([]);
  expect(processesUsing(path.join(stateDir, 'kubernetes'))).toEqual([]);
});
