// A DOKS cluster of the local cloud is a real Kubernetes control plane: created through the API
// (checked against DigitalOcean's spec), reached with the real kubectl and the kubeconfig the API
// hands out, its node pool's nodes Ready (kwok), a Deployment's pods scheduled and available, a
// pool added and resized, and nothing of it left running or on disk once it is deleted.
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalCloud } from '../../src';
import { resolveKubePlaneBinaries } from '../../src/kubernetes/plane-binaries';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { tempDir } from '../../../../test/helpers/temp';
import { until } from '../../../../test/helpers/until';
import { processesUsing } from '../../../../test/helpers/processes';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const run = promisify(execFile);

let cloud: LocalCloud;
let api: ContractClient;
let stateDir: string;
let kubectlPath: string;
let binDir: string;
const work = tempDir('doks');

beforeAll(async () => {
  // Built once per machine by scripts/kube-plane.sh (scripts/test.sh runs it before jest).
  binDir = await resolveKubePlaneBinaries().binDir;
  kubectlPath = path.join(binDir, 'kubectl');
  ({ cloud, api, stateDir } = await startLocalCloud({ sshHosts: false, kubernetes: { binDir } }));
}, 3_600_000);
afterAll(async () => {
  await cloud?.stop();
});

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  // HOME: kubectl keeps its discovery cache in ~/.kube; without one it would write into the checkout.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
  const { stdout } = await run(kubectlPath, ['--kubeconfig', kubeconfig, ...args], { env });
  return stdout;
}

async function clusterState(id: string): Promise<Body> {
  const cluster = (await api.call<Body>('GET', `/v2/kubernetes/clusters/${id}`)).body.kubernetes_cluster;
  if (cluster.status.state === 'error') throw new Error(`cluster failed: ${cluster.status.message}`);
  return cluster;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0.0
        ports: [{ containerPort: 8080 }]
`;

test('a cluster from the API runs a Deployment under the real kubectl, and leaves nothing behind when deleted', async () => {
  const options = (await api.call<Body>('GET', '/v2/kubernetes/options')).body.options;
  const versionSlug = options.versions[0].slug;
  expect(versionSlug).toBe('1.34.3-do.0');

  // Refused before anything starts, naming the field.
  const badSize = await api.call<Body>('POST', '/v2/kubernetes/clusters', {
    name: 'bad',
    region: 'fra1',
    version: versionSlug,
    node_pools: [{ name: 'pool', size: 'no-such-size', count: 1 }],
  });
  expect(badSize.status).toBe(422);
  expect(badSize.body.message).toContain('node_pools[0].size');

  const createdAt = Date.now();
  const created = await api.call<Body>('POST', '/v2/kubernetes/clusters', {
    name: 'doks-test',
    region: 'fra1',
    version: versionSlug,
    node_pools: [{ name: 'pool-a', size: 's-2vcpu-4gb', count: 3 }],
  });
  expect(created.status).toBe(201);
  const id = created.body.kubernetes_cluster.id as string;
  expect(created.body.kubernetes_cluster.status.state).toBe('provisioning');
  expect((await api.call<Body>('GET', '/v2/kubernetes/clusters')).body.kubernetes_clusters.map((c: Body) => c.id)).toEqual([id]);

  const running = await until(
    'the cluster running',
    async () => {
      const cluster = await clusterState(id);
      return cluster.status.state === 'running' ? cluster : undefined;
    },
    300_000,
  );
  const runningAfterMs = Date.now() - createdAt;
  const pool = running.node_pools[0];
  expect(pool.nodes.map((n: Body) => n.status.state)).toEqual(['running', 'running', 'running']);
  const plane = cloud.kubernetes.plane(id);
  expect(plane).toBeDefined();

  const kubeconfigResponse = await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${id}/kubeconfig`, {
    headers: { Authorization: `Bearer ${cloud.token}` },
  });
  expect(kubeconfigResponse.status).toBe(200);
  expect(kubeconfigResponse.headers.get('content-type')).toContain('application/yaml');
  const kubeconfig = path.join(work, 'kubeconfig.yaml');
  writeFileSync(kubeconfig, await kubeconfigResponse.text(), { mode: 0o600 });

  const credentials = (await api.call<Body>('GET', `/v2/kubernetes/clusters/${id}/credentials`)).body;
  expect(credentials.server).toBe(running.endpoint);

  // The nodes the API lists are the nodes kubectl sees, all Ready.
  const nodes = JSON.parse(await kubectl(kubeconfig, 'get', 'nodes', '-o', 'json')).items as Body[];
  expect(nodes.map((n) => n.metadata.name).sort()).toEqual(pool.nodes.map((n: Body) => n.name).sort());
  for (const node of nodes) {
    expect(node.metadata.labels['doks.digitalocean.com/node-pool']).toBe('pool-a');
    expect(node.status.conditions.find((c: Body) => c.type === 'Ready').status).toBe('True');
  }

  // A Deployment: the scheduler places its pods on the pool's nodes, kwok runs them, the
  // controllers report it available; kubectl's own rollout wait watches for that.
  const manifest = path.join(work, 'deployment.yaml');
  writeFileSync(manifest, DEPLOYMENT);
  const appliedAt = Date.now();
  await kubectl(kubeconfig, 'apply', '-f', manifest);
  await kubectl(kubeconfig, 'rollout', 'status', 'deployment/web', '--timeout=240s');
  const availableAfterMs = Date.now() - appliedAt;
  const deployment = JSON.parse(await kubectl(kubeconfig, 'get', 'deployment', 'web', '-o', 'json'));
  expect(deployment.status.availableReplicas).toBe(3);
  const pods = JSON.parse(await kubectl(kubeconfig, 'get', 'pods', '-l', 'app=web', '-o', 'json')).items as Body[];
  expect(pods).toHaveLength(3);
  for (const pod of pods) expect(nodes.map((n) => n.metadata.name)).toContain(pod.spec.nodeName);

  // A second pool, then the first one shrunk: kubectl sees the nodes come and go.
  const added = await api.call<Body>('POST', `/v2/kubernetes/clusters/${id}/node_pools`, { name: 'pool-b', size: 's-1vcpu-2gb', count: 1 });
  expect(added.status).toBe(201);
  const resized = await api.call<Body>('PUT', `/v2/kubernetes/clusters/${id}/node_pools/${pool.id}`, { name: 'pool-a', count: 2 });
  expect(resized.status).toBe(202);
  const scaled = await until('three nodes in two pools', async () => {
    const cluster = await clusterState(id);
    const states = cluster.node_pools.flatMap((p: Body) => p.nodes.map((n: Body) => n.status.state));
    return states.length === 3 && states.every((s: string) => s === 'running') ? cluster : undefined;
  });
  const names = JSON.parse(await kubectl(kubeconfig, 'get', 'nodes', '-o', 'json')).items.map((n: Body) => n.metadata.name);
  expect(names.sort()).toEqual(scaled.node_pools.flatMap((p: Body) => p.nodes.map((n: Body) => n.name)).sort());

  const rssBytes = plane?.rssBytes() ?? 0;
  process.stderr.write(
    `DOKS figures: cluster running after ${runningAfterMs} ms (API server /readyz after ${plane?.readyAfterMs} ms); ` +
      `3-replica Deployment available ${availableAfterMs} ms after apply; plane RSS ${Math.round(rssBytes / 2 ** 20)} MiB\n`,
  );

  // The local cloud restarted: the plane comes back on its data, at the same address.
  expect(api.violations).toEqual([]);
  await cloud.stop();
  expect(processesUsing(path.join(stateDir, 'kubernetes', id))).toEqual([]);
  ({ cloud, api } = await startLocalCloud({ stateDir, sshHosts: false, kubernetes: { binDir } }));
  const restarted = await until(
    'the cluster running again',
    async () => {
      const cluster = await clusterState(id);
      return cluster.status.state === 'running' ? cluster : undefined;
    },
    300_000,
  );
  expect(restarted.endpoint).toBe(running.endpoint);
  expect(JSON.parse(await kubectl(kubeconfig, 'get', 'deployment', 'web', '-o', 'json')).spec.replicas).toBe(3);

  // Deleted: every process of its plane gone, its folder gone, the API no longer knows it.
  const clusterDir = path.join(stateDir, 'kubernetes', id);
  expect(processesUsing(clusterDir).length).toBeGreaterThanOrEqual(5);
  expect((await api.call('DELETE', `/v2/kubernetes/clusters/${id}`)).status).toBe(204);
  expect(processesUsing(clusterDir)).toEqual([]);
  expect(existsSync(clusterDir)).toBe(false);
  expect((await api.call('GET', `/v2/kubernetes/clusters/${id}`)).status).toBe(404);
  expect(api.violations).toEqual([]);
}, 900_000);
