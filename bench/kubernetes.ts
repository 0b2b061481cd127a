// Benchmark: a DOKS cluster of the local cloud. Create (API) to running (the real control plane up,
// 3 kwok nodes Ready), 20 pods of a Deployment really running behind a readiness probe, the memory
// of it all idle (every process of this benchmark's tree: the local cloud, the plane, kwok, the
// pods' processes and the ingress's nginx, against the same tree before the cluster), and a canary
// weight step on Kubernetes (HttpRouteRouter on an HTTPRoute, the cluster's ingress reloading)
// timed from the call to the first full round of requests at the new split, beside the same step
// on droplets from bench/results/rollout.md. Needs the plane's binaries (scripts/kube-plane.sh).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LocalCloud } from '@opsflow/localcloud';
import { KubernetesClient } from '../src/integrations/kubernetes/client';
import { HttpRouteRouter } from '../src/rollouts/traffic/http-route-router';
import { resolveKubePlaneBinaries } from '../packages/localcloud/src/kubernetes/plane-binaries';
import { shopAppYaml } from '../test/helpers/shop-manifests';
import { writeResults, type Row } from './harness';

const run = promisify(execFile);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const HOST_NETWORK = 96;
const PODS = 20;
const MEMORY_TARGET_MB = 1536;

/** RSS in MB of `root` and every process below it. */
function treeRssMb(root: number): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while listed
    }
  }
  const inTree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents)
      if (!inTree.has(pid) && inTree.has(parent)) {
        inTree.add(pid);
        grew = true;
      }
  }
  let kb = 0;
  for (const pid of inTree) {
    try {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
      kb += Number(line?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kb / 1024;
}

function getVersion(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port: 80, path: '/version', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? String(res.headers['x-version']) : `HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const manifests = (replicas: number) => `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
${shopAppYaml({ name: 'web', tag: '1.0.0', replicas, probePeriodSeconds: 5 })}---
${shopAppYaml({ name: 'web-canary', tag: '1.1.0', replicas: 1, probePeriodSeconds: 5 })}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: public, namespace: shop }
spec:
  gatewayClassName: nginx
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: shop }
spec:
  parentRefs: [{ name: public }]
  rules:
  - backendRefs: [{ name: web, port: 80, weight: 100 }, { name: web-canary, port: 80, weight: 0 }]
`;

async function main(): Promise<void> {
  const binDir = await resolveKubePlaneBinaries().binDir;
  const work = mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-k8s-'));
  const kubectl = (...args: string[]) =>
    run(path.join(binDir, 'kubectl'), ['--kubeconfig', path.join(work, 'kubeconfig'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: work },
    });
  const cloud = await LocalCloud.start({
    stateDir: path.join(work, 'state'),
    hostNetwork: HOST_NETWORK,
    sshHosts: false,
    kubernetes: { binDir },
  });
  const rows: Row[] = [];
  try {
    const api = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(`${cloud.apiUrl}${url}`, {
        method,
        headers: { Authorization: `Bearer ${cloud.token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return response.headers.get('content-type')?.includes('json') ? ((await response.json()) as Json) : await response.text();
    };
    const before = treeRssMb(process.pid);
    const createdAt = Date.now();
    const created = (await api('POST', '/v2/kubernetes/clusters', {
      name: 'bench',
      region: 'fra1',
      version: '1.34.3-do.0',
      node_pools: [{ name: 'pool', size: 's-2vcpu-4gb', count: 3 }],
    })) as { kubernetes_cluster: { id: string } };
    const id = created.kubernetes_cluster.id;
    await waitFor('cluster running', async () => {
      const c = (await api('GET', `/v2/kubernetes/clusters/${id}`)) as {
        kubernetes_cluster: { status: { state: string; message: string } };
      };
      if (c.kubernetes_cluster.status.state === 'error') throw new Error(c.kubernetes_cluster.status.message);
      return c.kubernetes_cluster.status.state === 'running' ? true : undefined;
    });
    const runningMs = Date.now() - createdAt;
    writeFileSync(path.join(work, 'kubeconfig'), (await api('GET', `/v2/kubernetes/clusters/${id}/kubeconfig`)) as string, { mode: 0o600 });
    writeFileSync(path.join(work, 'apps.yaml'), manifests(PODS - 1));
    const appliedAt = Date.now();
    await kubectl('apply', '-f', path.join(work, 'apps.yaml'));
    for (const d of ['web', 'web-canary']) await kubectl('-n', 'shop', 'rollout', 'status', `deployment/${d}`, '--timeout=600s');
    const podsReadyMs = Date.now() - appliedAt;
    const gateway = await waitFor('gateway address', async () => {
      const g = JSON.parse((await kubectl('-n', 'shop', 'get', 'gateway', 'public', '-o', 'json')).stdout);
      return g.status?.addresses?.[0]?.value as string | undefined;
    });
    // Idle: no request for a while, the probes alone running.
    await new Promise((r) => setTimeout(r, 15_000)); // settle before measuring memory
    const idle = treeRssMb(process.pid);

    const router = new HttpRouteRouter({
      client: KubernetesClient.fromKubeconfig(readFileSync(path.join(work, 'kubeconfig'), 'utf8'), 'bench'),
      namespace: 'shop',
      route: 'web',
      stableService: 'web',
      canaryService: 'web-canary',
    });
    // 19 stable pods at 90 and 1 canary at 10: weights 90:190 per endpoint -> reduced 9:19, a round of 19*9+19 = 190.
    const stepTimes: number[] = [];
    for (const weights of [
      { stable: 90, canary: 10 },
      { stable: 50, canary: 50 },
      { stable: 100, canary: 0 },
    ]) {
      const started = Date.now();
      await router.setWeights(weights);
      await waitFor(`split ${weights.stable}/${weights.canary} live`, async () => {
        const v = await getVersion(gateway);
        // Live once a request reaches the side the change added, or (to 100/0) after 50 in a row on stable.
        if (weights.canary > 0) return v === '1.1.0' ? true : undefined;
        for (let i = 0; i < 50; i++) if ((await getVersion(gateway)) !== '1.0.0') return undefined;
        return true;
      });
      stepTimes.push(Date.now() - started);
    }
    const droplets = readFileSync(path.join(__dirname, 'results', 'rollout.md'), 'utf8').match(
      /bad canary: first failing measurement to 100% stable[^|]*\| (\d+) ms/,
    )?.[1];
    rows.push(
      { measure: 'cluster create (API) to running: plane up, 3 nodes Ready', value: `${(runningMs / 1000).toFixed(1)} s`, verdict: 'info' },
      {
        measure: `kubectl apply to ${PODS} pods Ready (real processes behind readiness probes)`,
        value: `${(podsReadyMs / 1000).toFixed(1)} s`,
        verdict: 'info',
      },
      {
        measure: `memory of the cluster idle, 3 nodes and ${PODS} pods (process tree RSS, less the tree before)`,
        value: `${Math.round(idle - before)} MB`,
        target: `≤ ${MEMORY_TARGET_MB} MB`,
        verdict: idle - before <= MEMORY_TARGET_MB ? 'met' : 'missed',
      },
      {
        measure: 'whole process tree idle (local cloud included)',
        value: `${Math.round(idle)} MB`,
        baseline: `${Math.round(before)} MB before`,
        verdict: 'info',
      },
      {
        measure: 'canary weight step on Kubernetes: setWeights to the new split live at the ingress (90/10, 50/50, 100/0)',
        value: stepTimes.map((t) => `${t} ms`).join(', '),
        baseline: droplets ? `droplets (nginx over SSH, rollout.md): ${droplets} ms failing measurement to stable` : undefined,
        verdict: 'info',
      },
    );
    await api('DELETE', `/v2/kubernetes/clusters/${id}`);
  } finally {
    await cloud.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const file = writeResults('kubernetes', 'Kubernetes (DOKS) in the local cloud: create to running, pods, memory, a canary step', rows, [
    'One cluster created through the local cloud DigitalOcean API, its plane the binaries scripts/kube-plane.sh builds; pods run the simulated application as real processes (pod runner), the ingress is Debian nginx.',
    'Memory: VmRSS summed over this benchmark process and every process below it (the local cloud runs in-process), idle 15 s after the pods are Ready.',
    'A step is "live" when a request through the ingress reaches the canary (or 50 in a row reach stable after 100/0); each request on a fresh connection.',
  ]);
  console.log(`wrote ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
