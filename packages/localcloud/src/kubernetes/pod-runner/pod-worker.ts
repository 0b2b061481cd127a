// One pod bound to one of the cluster's nodes, run as the kubelet runs it: an address of its own
// (pod-network.ts) and a folder that becomes its containers' `/`, its init containers run one after
// another to completion, then its containers (container-run.ts), and its status (phase, podIP,
// conditions, container statuses) computed from theirs for the runner to write. Deleted
// gracefully (a deletionTimestamp): each running container's preStop, SIGTERM, SIGKILL when the
// grace period ends, then the pod object removed, as the kubelet removes it.
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { KubeClient } from '../kube-client';
import { appCommand, ContainerProcess, prepareTopLevel } from './container-process';
import { containerEnv } from './container-env';
import { judgeImage } from './pod-images';
import { serverLaunch } from './pod-servers';
import { containerMounts, prepareMountPoint } from './pod-volumes';
import { ContainerRun, type ContainerHost, type RestartPolicy } from './container-run';
import type { Container, LifecycleHandler, Pod, PodCondition, PodStatus } from './kube-types';
import { podAppArgv } from './pod-app-protocol';
import { nodeInSandbox, type PodAppProgram } from './pod-app-program';
import type { PodNetwork } from './pod-network';
import { probePort } from './probes';

/** What the pods of one cluster share: the runner's side. */
export interface PodRunnerContext {
  clusterId: string;
  network: PodNetwork;
  /** <cluster dir>/pods: one folder per pod. */
  podsDir: string;
  /** The plane's binaries: prom/prometheus pods run its prometheus. */
  planeBinDir: string;
  client: KubeClient;
  program(): Promise<PodAppProgram>;
  /** The node's address if it is one of the cluster's (kwok's) nodes, else undefined. */
  nodeAddress(name: string): Promise<string | undefined>;
  statusChanged(worker: PodWorker): void;
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, container?: string): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

const DEFAULT_GRACE_SECONDS = 30;
/** How long a container of a pod that vanished (force-deleted) gets between SIGTERM and SIGKILL. */
const VANISHED_GRACE_MS = 2_000;

type ConditionType = 'PodReadyToStartContainers' | 'Initialized' | 'ContainersReady' | 'Ready';

export class PodWorker {
  private address?: string;
  private hostIP?: string;
  private readonly startTime = new Date().toISOString();
  private readonly init: ContainerRun[];
  private readonly main: ContainerRun[];
  private sandboxReady = false;
  private initDone: boolean;
  private initFailed = false;
  private sandboxError?: string;
  private terminating = false;
  private stopped = false;
  /** Not bound to one of the cluster's nodes: left alone. */
  notOurs = false;
  /** Each condition's status and since when, so lastTransitionTime moves only when it changes. */
  private readonly transitions = new Map<string, { status: string; at: string }>();

  constructor(
    private pod: Pod,
    private readonly ctx: PodRunnerContext,
  ) {
    const policy: RestartPolicy = pod.spec.restartPolicy ?? 'Always';
    // After a restart of the local cloud a container starts again: it counts as a restart.
    const previous = (name: string, statuses = pod.status?.containerStatuses) => {
      const status = statuses?.find((s) => s.name === name);
      return status ? status.restartCount + (status.state.running || status.lastState.terminated || status.state.terminated ? 1 : 0) : 0;
    };
    const mode = this.ownedByJob ? 'complete' : 'serve';
    this.init = (pod.spec.initContainers ?? []).map(
      (c) =>
        new ContainerRun(
          c,
          this.host(),
          'complete',
          policy === 'Never' ? 'Never' : 'OnFailure',
          previous(c.name, pod.status?.initContainerStatuses),
        ),
    );
    this.main = pod.spec.containers.map((c) => new ContainerRun(c, this.host(), mode, policy, previous(c.name)));
    this.initDone = this.init.length === 0;
  }

  get uid(): string {
    return this.pod.metadata.uid;
  }

  get object(): Pod {
    return this.pod;
  }

  /** Whether nothing of it runs any more, for good (Succeeded, Failed, or deleted). */
  get finished(): boolean {
    return this.stopped || this.terminal;
  }

  private get owner(): string {
    return `${this.ctx.clusterId}/${this.uid}`;
  }

  private get dir(): string {
    return path.join(this.ctx.podsDir, this.uid);
  }

  private get ownedByJob(): boolean {
    return this.pod.metadata.ownerReferences?.some((o) => o.kind === 'Job') ?? false;
  }

  private get graceSeconds(): number {
    return this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  }

  private get terminal(): boolean {
    return this.initFailed || (this.initDone && this.main.every((c) => c.final));
  }

  /** Runs the pod: its address and folder, its init containers, then its containers. */
  async start(): Promise<void> {
    const hostIP = await this.ctx.nodeAddress(this.pod.spec.nodeName ?? '');
    if (hostIP === undefined) {
      this.notOurs = true;
      return;
    }
    if (this.stopped) return;
    if (this.pod.metadata.deletionTimestamp) return this.terminate();
    this.hostIP = hostIP;
    try {
      this.address = this.ctx.network.take(this.owner, this.pod.status?.podIP);
      await this.ctx.network.ensureRoutes();
      this.prepareFolder();
    } catch (error) {
      this.sandboxError = (error as Error).message;
      this.ctx.event(this.pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${this.sandboxError}`);
      this.changed();
      return;
    }
    if (this.stopped || this.terminating) return;
    this.sandboxReady = true;
    this.changed();
    for (const container of this.init) {
      const code = await container.run();
      if (code === undefined) return; // cannot run (it waits, saying why) or the pod is ending
      if (code !== 0) {
        this.initFailed = true;
        this.changed();
        return this.finish();
      }
    }
    this.initDone = true;
    this.changed();
    await Promise.all(this.main.map((c) => c.run()));
    if (this.terminal) this.finish();
  }

  /** A newer version of the pod (from the watch): a deletionTimestamp starts its termination. */
  update(pod: Pod): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp && !this.terminating && !this.notOurs) void this.terminate();
  }

  /** Graceful deletion: preStop, SIGTERM, SIGKILL at the end of the grace period, then the pod object goes. */
  async terminate(): Promise<void> {
    if (this.terminating || this.stopped) return;
    this.terminating = true;
    const deadline = Date.now() + this.graceSeconds * 1_000;
    const running = [...this.init, ...this.main].filter((c) => c.running);
    for (const c of running) this.ctx.event(this.pod, 'Normal', 'Killing', `Stopping container ${c.name}`, c.name);
    await Promise.all(
      [...this.init, ...this.main].map(async (c) => {
        if (c.running && c.spec.lifecycle?.preStop) await this.preStop(c.spec, c.spec.lifecycle.preStop, deadline);
        await c.stop(Math.max(0, deadline - Date.now()));
      }),
    );
    this.changed();
    const { namespace, name, uid } = this.pod.metadata;
    try {
      await this.ctx.client.expect(
        'DELETE',
        `/api/v1/namespaces/${namespace}/pods/${encodeURIComponent(name)}`,
        { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
        [200, 202, 404, 409],
      );
    } catch (error) {
      this.ctx.warn('a terminated pod could not be removed', { pod: `${namespace}/${name}`, error: (error as Error).message });
    }
  }

  /** The pod is gone from the API (or the runner stops): its processes end, and with `release` its address and folder. */
  async stop(release: boolean, graceMs = VANISHED_GRACE_MS): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.init, ...this.main].map((c) => c.stop(graceMs)));
    if (release) {
      this.ctx.network.release(this.owner);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Process ids of its containers' sandboxes. */
  async pids(): Promise<number[]> {
    return (await Promise.all([...this.init, ...this.main].map((c) => c.pids()))).flat();
  }

  /** Its status as the kubelet would write it, or undefined when it has nothing to say (not its node, not started). */
  status(): PodStatus | undefined {
    if (this.notOurs || this.hostIP === undefined) return undefined;
    const containersReady = this.main.every((c) => c.ready);
    const gates = (this.pod.spec.readinessGates ?? []).filter(
      (g) => !this.pod.status?.conditions?.some((c) => c.type === g.conditionType && c.status === 'True'),
    );
    const phase = this.phase();
    const unready = this.main.filter((c) => !c.ready).map((c) => c.name);
    const incomplete = this.init.filter((c) => !(c.state.terminated?.exitCode === 0)).map((c) => c.name);
    const completed = phase === 'Succeeded' || phase === 'Failed';
    const conditions: PodCondition[] = [
      this.condition('PodReadyToStartContainers', this.sandboxReady && !completed),
      this.condition(
        'Initialized',
        this.initDone,
        this.initDone ? undefined : 'ContainersNotInitialized',
        `containers with incomplete status: [${incomplete.join(' ')}]`,
      ),
      this.condition(
        'ContainersReady',
        containersReady && !completed,
        completed ? 'PodCompleted' : 'ContainersNotReady',
        completed ? undefined : `containers with unready status: [${unready.join(' ')}]`,
      ),
      this.condition(
        'Ready',
        containersReady && gates.length === 0 && !completed,
        completed ? 'PodCompleted' : !containersReady ? 'ContainersNotReady' : 'ReadinessGatesNotReady',
        completed
          ? undefined
          : !containersReady
            ? `containers with unready status: [${unready.join(' ')}]`
            : `corresponding condition of pod readiness gate "${gates[0]?.conditionType}" does not exist.`,
      ),
    ];
    return {
      phase,
      conditions,
      hostIP: this.hostIP,
      hostIPs: [{ ip: this.hostIP }],
      ...(this.address && this.sandboxReady ? { podIP: this.address, podIPs: [{ ip: this.address }] } : {}),
      startTime: this.startTime,
      ...(this.sandboxError ? { message: `Failed to create pod sandbox: ${this.sandboxError}` } : {}),
      ...(this.init.length > 0 ? { initContainerStatuses: this.init.map((c) => c.status()) } : {}),
      containerStatuses: this.main.map((c) => c.status()),
    };
  }

  private phase(): string {
    if (this.initFailed) return 'Failed';
    if (!this.initDone) return 'Pending';
    if (this.main.every((c) => c.final)) return this.main.every((c) => c.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
    return this.main.some((c) => c.everStarted) ? 'Running' : 'Pending';
  }

  private condition(type: ConditionType, ok: boolean, reason?: string, message?: string): PodCondition {
    const status = ok ? 'True' : 'False';
    const previous = this.transitions.get(type);
    const at = previous?.status === status ? previous.at : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    this.transitions.set(type, { status, at });
    return { type, status, lastTransitionTime: at, ...(!ok && reason ? { reason } : {}), ...(!ok && message ? { message } : {}) };
  }

  /** A pod that ran to its end: its address goes back (its status keeps showing it, as on a real cluster). */
  private finish(): void {
    this.ctx.network.release(this.owner);
  }

  private changed(): void {
    this.ctx.statusChanged(this);
  }

  /** The pod's folder: `root` (its containers' `/`, the pod's uid's) and one log per container. */
  private prepareFolder(): void {
    const uid = this.ctx.network.uidOf(this.address!);
    const root = path.join(this.dir, 'root');
    // The program's mount point made here: bwrap would make a missing /opt 0700, closed to the pod's uid.
    for (const sub of ['tmp', 'etc', 'var', 'opt/localcloud']) {
      mkdirSync(path.join(root, sub), { recursive: true });
      chmodSync(path.join(root, sub), 0o755);
    }
    const hostname = (this.pod.spec.hostname ?? this.pod.metadata.name).slice(0, 63);
    writeFileSync(path.join(root, 'etc', 'hostname'), `${hostname}\n`);
    writeFileSync(path.join(root, 'etc', 'hosts'), `127.0.0.1\tlocalhost\n${this.address}\t${hostname}\n`);
    // The pod's uid by name: PostgreSQL's initdb and server look themselves up and refuse an unknown uid.
    writeFileSync(path.join(root, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\npod:x:${uid}:${uid}:pod:/tmp:/bin/sh\n`);
    writeFileSync(path.join(root, 'etc', 'group'), `root:x:0:\npod:x:${uid}:\n`);
    // Its `/` and /tmp are the pod's to write; /etc stays the machine root's (read-only to the pod).
    prepareTopLevel(root);
    chownSync(root, uid, uid);
    chownSync(path.join(root, 'tmp'), uid, uid);
    // The pod's own, as on an image's root: mount points made under it (the service account's token
    // at /var/run/secrets/...) must not leave it unwritable to the pod (PGDATA is /var/lib/...).
    chownSync(path.join(root, 'var'), uid, uid);
  }

  private host(): ContainerHost {
    return {
      describe: () => ({ name: this.pod.metadata.name, namespace: this.pod.metadata.namespace ?? 'default', uid: this.uid }),
      ending: () => this.terminating || this.stopped,
      graceSeconds: () => this.graceSeconds,
      address: () => this.address ?? '',
      spawn: (container, mode) => this.spawn(container, mode),
      changed: () => this.changed(),
      event: (type, reason, message, container) => this.ctx.event(this.pod, type, reason, message, container),
    };
  }

  private async spawn(container: Container, mode: 'serve' | 'complete'): Promise<ContainerProcess> {
    const verdict = judgeImage(container.image);
    const sandbox = {
      root: path.join(this.dir, 'root'),
      uid: this.ctx.network.uidOf(this.address!),
      hostname: this.pod.spec.hostname ?? this.pod.metadata.name,
      logFile: path.join(this.dir, `${container.name}.log`),
    };
    if (verdict.runnable && verdict.program !== 'app') {
      // A database image: the real server, with the container's environment (Secrets read now).
      const env = await containerEnv(this.ctx.client, this.pod.metadata.namespace ?? 'default', container);
      const { mounts, env: mountEnv } = await containerMounts(this.ctx.client, this.pod, container, this.dir, sandbox.uid);
      const launch = await serverLaunch(verdict.program, container, this.address!, { ...mountEnv, ...env }, this.ctx.planeBinDir, {
        uid: this.uid,
      });
      for (const mount of mounts) prepareMountPoint(sandbox.root, mount.target, 'dir');
      for (const mount of launch.mounts ?? []) prepareMountPoint(sandbox.root, mount.target, 'file');
      return ContainerProcess.start({
        ...sandbox,
        programDir: (await this.ctx.program()).hostDir,
        ...launch,
        mounts: [...mounts, ...(launch.mounts ?? [])],
      });
    }
    const program = await this.ctx.program();
    const ports = new Set<number>();
    for (const port of container.ports ?? []) if ((port.protocol ?? 'TCP') === 'TCP') ports.add(port.containerPort);
    // A probe on a port the container does not declare is still answered, as the app would.
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      const port = probePort(container, probe?.httpGet?.port ?? probe?.tcpSocket?.port);
      if (port !== undefined) ports.add(port);
    }
    return ContainerProcess.start({
      ...sandbox,
      programDir: program.hostDir,
      command: appCommand(
        nodeInSandbox(),
        [
          program.script,
          ...podAppArgv({ address: this.address!, ports: [...ports], image: container.image, name: this.pod.metadata.name, mode }),
        ],
        this.dir,
      ),
    });
  }

  /** A preStop hook the simulated app can honour: a sleep (the sleep action, or an exec of `sleep N`), or an HTTP GET. */
  private async preStop(container: Container, handler: LifecycleHandler, deadline: number): Promise<void> {
    const remaining = () => Math.max(0, deadline - Date.now());
    let seconds = handler.sleep?.seconds;
    const command = handler.exec?.command?.join(' ') ?? '';
    const slept = /^(?:\S*\/)?sleep\s+(\d+(?:\.\d+)?)$|^(?:\S*\/)?(?:ba)?sh\s+-c\s+["']?sleep\s+(\d+(?:\.\d+)?)["']?$/.exec(command.trim());
    if (seconds === undefined && slept) seconds = Number(slept[1] ?? slept[2]);
    if (seconds !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(seconds! * 1_000, remaining())));
      return;
    }
    if (handler.httpGet) {
      const port = probePort(container, handler.httpGet.port);
      if (port === undefined) return;
      await new Promise<void>((resolve) => {
        const req = http.get(
          { host: handler.httpGet!.host || this.address, port, path: handler.httpGet!.path || '/', agent: false, timeout: remaining() },
          (res) => {
            res.resume();
            res.on('end', () => resolve());
          },
        );
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve());
      });
    }
  }
}
