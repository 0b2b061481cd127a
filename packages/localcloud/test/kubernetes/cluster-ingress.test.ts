// A DOKS cluster's ingress is real nginx configured from the cluster's objects: an HTTPRoute on a
// Gateway of class `nginx` splits requests between two Deployments' pods exactly by its weights
// (the pods really run: the pod runner), a weight change by opsflow's HttpRouteRouter moves
// traffic with no request lost, an
// Ingress with ingress-nginx's canary annotations splits a host the same way, the Gateway and the
// Ingress show the ingress's address in their status, and nothing of it is left once the cluster
// is deleted.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalCloud } from '../../src';
import { KubernetesClient } from '../../../../src/integrations/kubernetes/client';
import { HttpRouteRouter } from '../../../../src/rollouts/traffic/http-route-router';
import { resolveKubePlaneBinaries } from '../../src/kubernetes/plane-binaries';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { processesUsing } from '../../../../test/helpers/processes';
import { shopAppYaml } from '../../../../test/helpers/shop-manifests';
import { tempDir } from '../../../../test/helpers/temp';
import { until } from '../../../../test/helpers/until';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const run = promisify(execFile);

let cloud: LocalCloud;
let api: ContractClient;
let stateDir: string;
let kubectlPath: string;
const work = tempDir('doks-ingress');

beforeAll(async () => {
  // client-node is compiled by jest at its first import (minutes on a loaded machine the first time): here, not in the test's time.
  await import('../../../../src/integrations/kubernetes/client');
  const binDir = await resolveKubePlaneBinaries().binDir;
  kubectlPath = path.join(binDir, 'kubectl');
  ({ cloud, api, stateDir } = await startLocalCloud({ sshHosts: false, kubernetes: { binDir } }));
}, 3_600_000);
afterAll(async () => {
  await cloud?.stop();
});

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
  const { stdout } = await run(kubectlPath, ['--kubeconfig', kubeconfig, ...args], { env });
  return stdout;
}

const deployment = (name: string, tag: string, replicas: number) => shopAppYaml({ name, tag, replicas });

const route = (stable: number, canary: number) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: shop }
spec:
  parentRefs: [{ name: public }]
  rules:
  - backendRefs:
    - { name: web, port: 80, weight: ${stable} }
    - { name: web-canary, port: 80, weight: ${canary} }
`;

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: public, namespace: shop }
spec:
  gatewayClassName: nginx
  listeners: [{ name: http, port: 80, protocol: HTTP }]
`;

const ingresses = (canaryWeight: number) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: admin, namespace: shop }
spec:
  rules:
  - host: admin.shop.example
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: admin-canary
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "${canaryWeight}"
spec:
  rules:
  - host: admin.shop.example
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web-canary, port: { number: 80 } } } }] }
`;

/** One GET on a fresh connection (as the rollout load generator sends them): its status and version. */
function getOnce(address: string, path: string, host?: string): Promise<{ status: number; version: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port: 80, path, agent: false, timeout: 10_000, headers: host ? { Host: host } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, version: String(res.headers['x-version'] ?? 'none') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

/**
 * `count` requests one after another through the ingress, each on a fresh connection: answers by
 * version, and anything that failed. (A keep-alive client can meet an idle connection closed by a
 * reload, as with any nginx ingress; RFC 9112 has it retry an idempotent request.)
 */
async function sendRequests(
  address: string,
  count: number,
  host?: string,
): Promise<{ versions: Record<string, number>; failed: string[] }> {
  const versions: Record<string, number> = {};
  const failed: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const { status, version } = await getOnce(address, `/items?i=${i}`, host);
      if (status !== 200) failed.push(`HTTP ${status}`);
      versions[version] = (versions[version] ?? 0) + 1;
    } catch (error) {
      failed.push((error as Error).message);
    }
  }
  return { versions, failed };
}

test('HTTPRoute weights and canary Ingress annotations split real requests exactly; the address is in the status', async () => {
  const versionSlug = (await api.call<Body>('GET', '/v2/kubernetes/options')).body.options.versions[0].slug;
  const created = await api.call<Body>('POST', '/v2/kubernetes/clusters', {
    name: 'ingress-test',
    region: 'fra1',
    version: versionSlug,
    node_pools: [{ name: 'pool-a', size: 's-2vcpu-4gb', count: 3 }],
  });
  expect(created.status).toBe(201);
  const id = created.body.kubernetes_cluster.id as string;
  await until(
    'the cluster running',
    async () => {
      const cluster = (await api.call<Body>('GET', `/v2/kubernetes/clusters/${id}`)).body.kubernetes_cluster;
      if (cluster.status.state === 'error') throw new Error(cluster.status.message);
      return cluster.status.state === 'running' ? cluster : undefined;
    },
    300_000,
  );
  const kubeconfig = path.join(work, 'kubeconfig.yaml');
  const response = await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${id}/kubeconfig`, {
    headers: { Authorization: `Bearer ${cloud.token}` },
  });
  writeFileSync(kubeconfig, await response.text(), { mode: 0o600 });
  const apply = async (name: string, text: string) => {
    const file = path.join(work, `${name}.yaml`);
    writeFileSync(file, text);
    await kubectl(kubeconfig, 'apply', '-f', file);
  };

  await kubectl(kubeconfig, 'create', 'namespace', 'shop');
  await apply('apps', `${deployment('web', '1.0.0', 3)}---\n${deployment('web-canary', '1.1.0', 1)}`);
  await kubectl(kubeconfig, '-n', 'shop', 'rollout', 'status', 'deployment/web', '--timeout=240s');
  await kubectl(kubeconfig, '-n', 'shop', 'rollout', 'status', 'deployment/web-canary', '--timeout=240s');
  await apply('gateway', GATEWAY);
  await apply('route', route(90, 10));

  // Where to send requests: the Gateway's status, as on DOKS.
  const address = await until('the Gateway programmed with an address', async () => {
    const gateway = JSON.parse(await kubectl(kubeconfig, '-n', 'shop', 'get', 'gateway', 'public', '-o', 'json'));
    const programmed = gateway.status?.conditions?.find((c: Body) => c.type === 'Programmed')?.status === 'True';
    return programmed ? (gateway.status.addresses[0].value as string) : undefined;
  });
  expect(address).toMatch(/^127\.\d+\.\d+\.\d+$/);

  // nginx's smooth weighted round robin gives each endpoint exactly its weight in every run of
  // consecutive requests as long as one round (the weights' sum), wherever the run starts. Once
  // every endpoint is in (3 stable pods at 30, 1 canary at 10: 3:3:3:1), a round of 10 is 9:1.
  await until('the route serving both versions', async () => {
    const { versions } = await sendRequests(address, 10);
    return versions['1.0.0'] === 9 && versions['1.1.0'] === 1 ? true : undefined;
  });
  expect(await sendRequests(address, 200)).toEqual({ versions: { '1.0.0': 180, '1.1.0': 20 }, failed: [] });

  // opsflow's HTTPRoute router changes the weights while requests flow: none fails, and
  // afterwards the split is the new one.
  const router = new HttpRouteRouter({
    client: KubernetesClient.fromKubeconfig(readFileSync(kubeconfig, 'utf8'), 'the test'),
    namespace: 'shop',
    route: 'web',
    stableService: 'web',
    canaryService: 'web-canary',
  });
  const during = sendRequests(address, 300);
  await router.setWeights({ stable: 50, canary: 50 });
  expect((await during).failed).toEqual([]);
  expect(await router.currentWeights()).toEqual({ stable: 50, canary: 50 });
  // 50 over 3 stable endpoints and 50 over 1 canary: weights 1:1:1:3, a round of 6.
  await until('the route at 50/50', async () => {
    const { versions } = await sendRequests(address, 6);
    return versions['1.0.0'] === 3 && versions['1.1.0'] === 3 ? true : undefined;
  });
  expect(await sendRequests(address, 120)).toEqual({ versions: { '1.0.0': 60, '1.1.0': 60 }, failed: [] });

  // An abort: weight 0 for the canary, all on stable; the split before is kept for a rollback.
  await router.setWeights({ stable: 100, canary: 0 });
  await until('the route all on stable', async () => ((await sendRequests(address, 10)).versions['1.0.0'] === 10 ? true : undefined));
  expect(await sendRequests(address, 50)).toEqual({ versions: { '1.0.0': 50 }, failed: [] });

  // ingress-nginx's canary annotations on a host of their own.
  await apply('ingresses', ingresses(20));
  // 80 over 3 endpoints, 20 over 1: weights 4:4:4:3, a round of 15.
  await until('the canary Ingress at 20%', async () => {
    const { versions } = await sendRequests(address, 15, 'admin.shop.example');
    return versions['1.0.0'] === 12 && versions['1.1.0'] === 3 ? true : undefined;
  });
  expect(await sendRequests(address, 150, 'admin.shop.example')).toEqual({ versions: { '1.0.0': 120, '1.1.0': 30 }, failed: [] });
  const ingressStatus = JSON.parse(await kubectl(kubeconfig, '-n', 'shop', 'get', 'ingress', 'admin', '-o', 'json')).status;
  expect(ingressStatus.loadBalancer.ingress[0].ip).toBe(address);
  // Any other host is the HTTPRoute's (it names no hostnames), all on stable now.
  expect(await getOnce(address, '/', 'nobody.example')).toEqual({ status: 200, version: '1.0.0' });
  // A bad weight is refused by the API server, naming the field (the CRD's schema).
  await expect(apply('bad-route', route(1, -5))).rejects.toThrow(/weight/);

  // Deleted: the ingress's nginx is gone with the cluster.
  const clusterDir = path.join(stateDir, 'kubernetes', id);
  expect(processesUsing(clusterDir).length).toBeGreaterThan(0);
  expect((await api.call('DELETE', `/v2/kubernetes/clusters/${id}`)).status).toBe(204);
  expect(processesUsing(clusterDir)).toEqual([]);
  await expect(getOnce(address, '/')).rejects.toThrow(/ECONNREFUSED/);
}, 600_000);
