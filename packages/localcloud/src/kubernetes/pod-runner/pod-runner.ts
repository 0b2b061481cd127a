// The pod half of a DOKS cluster's kubelets (kwok plays the node half: node status and leases).
// It lists and watches the cluster's pods through the API server; every pod bound to one of the
// cluster's nodes is run by a PodWorker (pod-worker.ts): real processes on an address of this
// machine, its status (podIP, container states, Ready from its readiness probes) written back
// with the kubelet's own kind of patch, so the real controller-manager's EndpointSlices list
// addresses that answer. A pod deleted stops its processes; the runner stopped (cluster deleted,
// local cloud stopping) stops them all.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { log } from '../../log';
import { WatchRefused, type KubeClient, type WatchEvent } from '../kube-client';
import { KWOK_ANNOTATION } from '../node-registration';
import type { List, Node, Pod } from './kube-types';
import type { PodAppProgram } from './pod-app-program';
import type { PodNetwork } from './pod-network';
import { PodWorker, type PodRunnerContext } from './pod-worker';

export interface PodRunnerOptions {
  clusterId: string;
  client: KubeClient;
  network: PodNetwork;
  /** <cluster dir>/pods. */
  podsDir: string;
  /** The plane's binaries (scripts/kube-plane.sh), among them the prometheus that prom/prometheus pods run. */
  planeBinDir: string;
  program(): Promise<PodAppProgram>;
}

/** How long status changes are gathered before one write (a pod starting changes several things at once). */
const STATUS_COALESCE_MS = 25;
const RETRY_MS = 1_000;
/** The runner stopping: containers get this long between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 5_000;
const [KWOK_KEY, KWOK_VALUE] = Object.entries(KWOK_ANNOTATION)[0]!;

export class PodRunner {
  private readonly workers = new Map<string, PodWorker>();
  private readonly abort = new AbortController();
  private readonly nodes = new Map<string, Promise<string | undefined>>();
  private readonly writing = new Map<string, { timer?: NodeJS.Timeout; running?: Promise<void>; again: boolean }>();
  private loop?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: PodRunnerOptions) {
    mkdirSync(options.podsDir, { recursive: true, mode: 0o700 });
  }

  start(): void {
    this.loop ??= this.follow();
  }

  /** Stops every pod's processes; `release` (the cluster is deleted) also gives back their addresses. */
  async stop(release: boolean): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
    for (const entry of this.writing.values()) clearTimeout(entry.timer);
    await Promise.all([...this.workers.values()].map((w) => w.stop(release, STOP_GRACE_MS)));
    await Promise.allSettled([...this.writing.values()].map((entry) => entry.running));
    this.workers.clear();
    if (release) this.options.network.releaseAll(`${this.options.clusterId}/`);
  }

  /** Process ids of every running container's sandbox (bwrap and the container). */
  async pids(): Promise<number[]> {
    return (await Promise.all([...this.workers.values()].map((w) => w.pids()))).flat();
  }

  /** List, then watch from there; after any break, list again (a relist also finds pods deleted meanwhile). */
  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        const response = await this.options.client.expect('GET', '/api/v1/pods', undefined, [200]);
        const list = JSON.parse(response.body) as List<Pod>;
        this.reconcile(list.items);
        let resourceVersion = list.metadata.resourceVersion;
        while (!this.stopped) {
          const path = `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${encodeURIComponent(resourceVersion)}`;
          await this.options.client.watch<Pod>(
            path,
            (event: WatchEvent<Pod>) => {
              if (event.type === 'ERROR') throw new WatchRefused(410, JSON.stringify(event.object));
              resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
              if (event.type === 'ADDED' || event.type === 'MODIFIED') this.seen(event.object);
              else if (event.type === 'DELETED') this.gone(event.object.metadata.uid);
            },
            this.abort.signal,
          );
        }
      } catch (error) {
        if (this.stopped) return;
        // 410 Gone is routine (the watch outlived its resource version); anything else is worth a line.
        if (!(error instanceof WatchRefused && error.status === 410))
          log.warn('pod runner: the pod watch broke; listing again', { cluster: this.options.clusterId, error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private reconcile(pods: Pod[]): void {
    const present = new Set(pods.map((p) => p.metadata.uid));
    for (const uid of this.workers.keys()) if (!present.has(uid)) this.gone(uid);
    // An address held for a pod that no longer exists (deleted while the local cloud was stopped).
    const prefix = `${this.options.clusterId}/`;
    for (const owner of this.options.network.ownersWith(prefix))
      if (!present.has(owner.slice(prefix.length))) this.options.network.release(owner);
    for (const pod of pods) this.seen(pod);
  }

  private seen(pod: Pod): void {
    const worker = this.workers.get(pod.metadata.uid);
    if (worker) return worker.update(pod);
    if (!pod.spec.nodeName || this.stopped) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      this.options.network.release(`${this.options.clusterId}/${pod.metadata.uid}`);
      return;
    }
    const created = new PodWorker(pod, this.context());
    this.workers.set(pod.metadata.uid, created);
    created.start().catch((error: Error) => {
      log.error('pod runner: a pod failed to run', {
        cluster: this.options.clusterId,
        pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
        error: error.stack ?? error.message,
      });
    });
  }

  private gone(uid: string): void {
    const worker = this.workers.get(uid);
    if (!worker) return;
    this.workers.delete(uid);
    const entry = this.writing.get(uid);
    if (entry) clearTimeout(entry.timer);
    this.writing.delete(uid);
    void worker.stop(true);
  }

  private context(): PodRunnerContext {
    return {
      clusterId: this.options.clusterId,
      network: this.options.network,
      podsDir: this.options.podsDir,
      planeBinDir: this.options.planeBinDir,
      client: this.options.client,
      program: this.options.program,
      nodeAddress: (name) => this.nodeAddress(name),
      statusChanged: (worker) => this.statusChanged(worker),
      event: (pod, type, reason, message, container) => void this.event(pod, type, reason, message, container),
      warn: (message, fields) => log.warn(`pod runner: ${message}`, { cluster: this.options.clusterId, ...fields }),
    };
  }

  /** The node's InternalIP when it is one of the cluster's node pool nodes (kwok's), else undefined. */
  private nodeAddress(name: string): Promise<string | undefined> {
    let known = this.nodes.get(name);
    if (!known) {
      known = (async () => {
        const response = await this.options.client.expect('GET', `/api/v1/nodes/${encodeURIComponent(name)}`, undefined, [200, 404]);
        if (response.status === 404) return undefined;
        const node = JSON.parse(response.body) as Node;
        if (node.metadata.annotations?.[KWOK_KEY] !== KWOK_VALUE) return undefined;
        return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
      })();
      this.nodes.set(name, known);
      // A node that is not there (yet) is asked again next time; one that is stays known.
      known.then(
        (address) => address === undefined && this.nodes.delete(name),
        () => this.nodes.delete(name),
      );
    }
    return known;
  }

  /** Writes the pod's status soon; changes meanwhile go into the same write, one write at a time per pod. */
  private statusChanged(worker: PodWorker): void {
    if (this.stopped || this.workers.get(worker.uid) !== worker) return;
    let entry = this.writing.get(worker.uid);
    if (!entry) this.writing.set(worker.uid, (entry = { again: false }));
    if (entry.running) {
      entry.again = true;
      return;
    }
    if (entry.timer) return;
    const slot = entry;
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      slot.running = this.writeStatus(worker).finally(() => {
        slot.running = undefined;
        if (slot.again) {
          slot.again = false;
          this.statusChanged(worker);
        }
      });
    }, STATUS_COALESCE_MS);
  }

  private async writeStatus(worker: PodWorker): Promise<void> {
    const status = worker.status();
    if (!status) return;
    const { namespace, name, uid } = worker.object.metadata;
    // The uid makes it a precondition: a pod deleted and made again under the same name (a
    // StatefulSet's) never gets this one's status.
    // podIPs and hostIPs merge by ip in a strategic merge patch: replaced instead, so an address
    // that changed (a cloud started again on another host network) is not listed beside the old one.
    const replaced = (list: { ip: string }[] | undefined) => (list ? [{ $patch: 'replace' }, ...list] : undefined);
    const patch = { metadata: { uid }, status: { ...status, podIPs: replaced(status.podIPs), hostIPs: replaced(status.hostIPs) } };
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.options.client.call(
          'PATCH',
          `/api/v1/namespaces/${namespace}/pods/${encodeURIComponent(name)}/status`,
          patch,
          10_000,
          'application/strategic-merge-patch+json',
        );
        if (response.status === 200 || response.status === 404 || response.status === 409) return;
        throw new Error(`answered ${response.status}: ${response.body.slice(0, 300)}`);
      } catch (error) {
        if (this.stopped || this.workers.get(uid) !== worker) return;
        if (attempt >= 5) {
          log.warn('pod runner: a pod status was not written', {
            cluster: this.options.clusterId,
            pod: `${namespace}/${name}`,
            error: (error as Error).message,
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** An Event as the kubelet posts them (best effort: a lost event loses nothing else). */
  private async event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, container?: string): Promise<void> {
    if (this.stopped) return;
    const { namespace = 'default', name, uid } = pod.metadata;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const node = pod.spec.nodeName ?? '';
    try {
      await this.options.client.call('POST', `/api/v1/namespaces/${namespace}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          namespace,
          name,
          uid,
          ...(container ? { fieldPath: `spec.containers{${container}}` } : {}),
        },
        reason,
        message,
        type,
        source: { component: 'kubelet', host: node },
        reportingComponent: 'kubelet',
        reportingInstance: node,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch {
      // Best effort.
    }
  }
}
