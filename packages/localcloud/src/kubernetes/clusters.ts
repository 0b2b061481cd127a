// The local cloud's DOKS clusters: their records (in <dir>/clusters.json, written atomically) and
// one running control plane per cluster, with its pod runner (pod-runner/: the pods' containers as
// processes on addresses of this machine). Everything done to one cluster (start its plane, match
// its nodes to its pools, stop it) runs in order on that cluster's queue; clusters are independent.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log';
import { ControlPlane } from './control-plane';
import type { KubernetesCluster, KubernetesNodePool } from './doks-state';
import { ClusterIngress } from './ingress/cluster-ingress';
import { registerNode, removeNode } from './node-registration';
import { resolveKubePlaneBinaries, type BinariesLookup } from './plane-binaries';
import { podAppProgram, type PodAppProgram } from './pod-runner/pod-app-program';
import { PodNetwork } from './pod-runner/pod-network';
import { PodRunner } from './pod-runner/pod-runner';

export interface KubernetesClustersOptions {
  /** Where clusters live: <dir>/clusters.json and one folder per cluster. */
  dir: string;
  /** The control plane binaries' folder; by default scripts/kube-plane.sh finds (or builds) it. */
  binDir?: string;
  /** The local cloud's host network: its pods' addresses are 198.18.N.x and 198.19.N.x (pod-runner/pod-network.ts). */
  hostNetwork: number;
  /** A new address of the cloud's host network, for a new cluster's ingress (port 80 there); none: clusters get no ingress. */
  newIngressAddress?: () => string;
}

const POOL_LABEL = 'doks.digitalocean.com/node-pool-id';
const NODES_READY_TIMEOUT_MS = 120_000;

export class KubernetesClusters {
  readonly clusters: KubernetesCluster[];
  private readonly planes = new Map<string, ControlPlane>();
  private readonly runners = new Map<string, PodRunner>();
  private readonly ingresses = new Map<string, ClusterIngress>();
  private readonly podNetwork: PodNetwork;
  private program?: Promise<PodAppProgram>;
  private readonly queues = new Map<string, Promise<unknown>>();
  private binaries?: BinariesLookup;
  private closed = false;

  constructor(private readonly options: KubernetesClustersOptions) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.podNetwork = new PodNetwork(options.hostNetwork, path.join(options.dir, 'pod-addresses.json'));
    this.clusters = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as KubernetesCluster[]) : [];
  }

  private get file(): string {
    return path.join(this.options.dir, 'clusters.json');
  }

  save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.clusters), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  find(id: string): KubernetesCluster | undefined {
    return this.clusters.find((c) => c.id === id);
  }

  /** The cluster's running plane, if it is up. */
  plane(id: string): ControlPlane | undefined {
    return this.planes.get(id);
  }

  /** The cluster's ingress (nginx from its HTTPRoutes and Ingresses), while its plane is up. */
  ingress(id: string): ClusterIngress | undefined {
    return this.ingresses.get(id);
  }

  /** The cluster's pod runner, while its plane is up. */
  podRunner(id: string): PodRunner | undefined {
    return this.runners.get(id);
  }

  /** A new cluster: recorded now (provisioning), its plane started in the background. */
  add(cluster: KubernetesCluster): void {
    this.clusters.push(cluster);
    this.save();
    this.provision(cluster);
  }

  /** After a restart: every cluster's plane starts again on its data. */
  resume(): void {
    if (this.clusters.length === 0) return;
    for (const cluster of this.clusters) {
      cluster.status = { state: 'provisioning', message: 'Starting the control plane again after a restart' };
      this.provision(cluster);
    }
    this.save();
  }

  /** Brings the cluster's nodes in line with its pools (pools added, resized or deleted). */
  syncNodes(cluster: KubernetesCluster): void {
    void this.enqueue(cluster.id, async () => {
      const plane = this.planes.get(cluster.id);
      if (plane) await this.matchNodes(cluster, plane);
    }).catch((error: Error) => this.fail(cluster, `could not update the nodes: ${error.message}`, 'degraded'));
  }

  /** Stops the cluster's plane, removes its data and its record. */
  async destroy(cluster: KubernetesCluster): Promise<void> {
    cluster.status = { state: 'deleting', message: '' };
    await this.enqueue(cluster.id, async () => {
      // Its pods' processes first (the plane then has nothing left to report to), their addresses given back.
      await this.ingresses.get(cluster.id)?.stop();
      this.ingresses.delete(cluster.id);
      await this.runners.get(cluster.id)?.stop(true);
      this.runners.delete(cluster.id);
      this.podNetwork.releaseAll(`${cluster.id}/`);
      await this.planes.get(cluster.id)?.stop();
      this.planes.delete(cluster.id);
      rmSync(path.join(this.options.dir, cluster.id), { recursive: true, force: true });
    });
    this.queues.delete(cluster.id);
    const index = this.clusters.indexOf(cluster);
    if (index >= 0) this.clusters.splice(index, 1);
    this.save();
  }

  /** Stops every plane (their data stays for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.binaries?.cancel();
    await Promise.allSettled([...this.queues.values()]);
    // Pods keep their addresses for the next start (their status shows them); their processes end.
    await Promise.all([...this.ingresses.values()].map((i) => i.stop()));
    this.ingresses.clear();
    await Promise.all([...this.runners.values()].map((r) => r.stop(false)));
    this.runners.clear();
    await Promise.all([...this.planes.values()].map((p) => p.stop()));
    this.planes.clear();
    await this.podNetwork.removeRoutes();
  }

  private provision(cluster: KubernetesCluster): void {
    void this.enqueue(cluster.id, async () => {
      const binDir = await this.binDir();
      if (this.closed || !this.clusters.includes(cluster)) return;
      const plane = await ControlPlane.start({
        binDir,
        dir: path.join(this.options.dir, cluster.id),
        name: `do-${cluster.region}-${cluster.name}`,
        serviceSubnet: cluster.service_subnet,
        clusterSubnet: cluster.cluster_subnet,
      });
      this.planes.set(cluster.id, plane);
      if (this.closed) return;
      // Pods that ran before a restart start again at once, on the addresses they had.
      const runner = new PodRunner({
        clusterId: cluster.id,
        client: plane.adminClient(),
        network: this.podNetwork,
        podsDir: path.join(this.options.dir, cluster.id, 'pods'),
        planeBinDir: binDir,
        program: () => this.podProgram(),
      });
      this.runners.set(cluster.id, runner);
      runner.start();
      await this.startIngress(cluster, plane);
      log.info('kubernetes control plane ready', { cluster: cluster.id, server: plane.server, readyAfterMs: plane.readyAfterMs });
      cluster.endpoint = plane.server;
      cluster.ipv4 = '127.0.0.1';
      await this.matchNodes(cluster, plane);
    }).catch((error: Error) => this.fail(cluster, `the control plane did not start: ${error.message}`, 'error'));
  }

  private fail(cluster: KubernetesCluster, message: string, state: 'error' | 'degraded'): void {
    if (!this.clusters.includes(cluster) || this.closed) return;
    log.error('kubernetes cluster failed', { cluster: cluster.id, message });
    // The API shows the first line; the logs in the cluster's folder have the rest.
    cluster.status = { state, message: message.split('\n')[0] ?? message };
    cluster.updated_at = new Date().toISOString();
    this.save();
  }

  /** Registers nodes that should exist, removes those that should not, and waits until kwok has made them Ready. */
  private async matchNodes(cluster: KubernetesCluster, plane: ControlPlane): Promise<void> {
    const client = plane.adminClient();
    const wanted = new Map<string, KubernetesNodePool>();
    for (const pool of cluster.node_pools) for (const node of pool.nodes) if (node.status.state !== 'deleting') wanted.set(node.name, pool);
    const existing = await this.nodeNames(plane);
    for (const name of existing) if (!wanted.has(name)) await removeNode(client, name);
    for (const [name, pool] of wanted) if (!existing.includes(name)) await registerNode(client, pool, name);
    for (const pool of cluster.node_pools) pool.nodes = pool.nodes.filter((n) => n.status.state !== 'deleting');
    await this.waitUntilNodesReady(plane, [...wanted.keys()]);
    const now = new Date().toISOString();
    for (const pool of cluster.node_pools)
      for (const node of pool.nodes)
        if (node.status.state === 'provisioning') {
          node.status = { state: 'running' };
          node.updated_at = now;
        }
    cluster.status = { state: 'running', message: '' };
    cluster.updated_at = now;
    this.save();
  }

  private async nodeNames(plane: ControlPlane): Promise<string[]> {
    const response = await plane
      .adminClient()
      .expect('GET', `/api/v1/nodes?labelSelector=${encodeURIComponent(POOL_LABEL)}`, undefined, [200]);
    return (JSON.parse(response.body) as { items: { metadata: { name: string } }[] }).items.map((n) => n.metadata.name);
  }

  private async waitUntilNodesReady(plane: ControlPlane, names: string[]): Promise<void> {
    const deadline = Date.now() + NODES_READY_TIMEOUT_MS;
    for (;;) {
      const response = await plane
        .adminClient()
        .expect('GET', `/api/v1/nodes?labelSelector=${encodeURIComponent(POOL_LABEL)}`, undefined, [200]);
      const nodes = (JSON.parse(response.body) as { items: NodeItem[] }).items;
      const ready = new Set(nodes.filter(isReady).map((n) => n.metadata.name));
      const waiting = names.filter((n) => !ready.has(n));
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new Error(`nodes not Ready after ${NODES_READY_TIMEOUT_MS} ms: ${waiting.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250)); // polling cadence
    }
  }

  /**
   * Starts the cluster's ingress on the address it was given when first started. A cluster whose
   * ingress cannot start still runs; its Gateways then never show Programmed, and the log says why.
   */
  private async startIngress(cluster: KubernetesCluster, plane: ControlPlane): Promise<void> {
    if (!this.options.newIngressAddress) return;
    const dir = path.join(this.options.dir, cluster.id, 'ingress');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const addressFile = path.join(dir, 'address');
    if (!existsSync(addressFile)) writeFileSync(addressFile, this.options.newIngressAddress(), { mode: 0o644 });
    try {
      this.ingresses.set(cluster.id, await ClusterIngress.start(plane.adminClient(), dir, readFileSync(addressFile, 'utf8').trim()));
    } catch (error) {
      log.error('kubernetes cluster ingress did not start', { cluster: cluster.id, error: (error as Error).message });
    }
  }

  /** The program pods' app containers run (bundled once when running from the sources; tried again after a failure). */
  private podProgram(): Promise<PodAppProgram> {
    if (!this.program) {
      const made = podAppProgram(path.join(this.options.dir, '_pod-app'));
      this.program = made;
      made.catch(() => {
        if (this.program === made) this.program = undefined;
      });
    }
    return this.program;
  }

  private binDir(): Promise<string> {
    if (this.options.binDir) return Promise.resolve(this.options.binDir);
    this.binaries ??= resolveKubePlaneBinaries();
    return this.binaries.binDir;
  }

  private enqueue<T>(clusterId: string, step: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(clusterId) ?? Promise.resolve()).then(step);
    this.queues.set(
      clusterId,
      run.catch(() => undefined),
    );
    return run;
  }
}

interface NodeItem {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

const isReady = (node: NodeItem) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
