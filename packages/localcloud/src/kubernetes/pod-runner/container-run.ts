// One container of a pod over its life, as the kubelet runs it: its image judged (pod-images.ts),
// its process started (container-process.ts), its probes run (probes.ts: startup, then readiness
// and liveness, each on its own period and thresholds), restarted after it exits as the pod's
// restartPolicy says with the kubelet's back-off (10 s, doubling, at most 5 min), and its status
// (waiting, running, terminated, last state, restart count, started, ready) kept for the pod's.
import { randomBytes } from 'node:crypto';
import { ContainerProcess } from './container-process';
import type { Container, ContainerState, ContainerStatus, Probe } from './kube-types';
import { judgeImage, pullBackOff } from './pod-images';
import { runProbe, unsupportedProbe } from './probes';
import { ContainerEnvError } from './container-env';
import { PodVolumeError } from './pod-volumes';

const BACKOFF_FIRST_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** A container that ran this long before exiting starts its back-off from the beginning again. */
const BACKOFF_RESET_MS = 600_000;
/** A container whose Secret or ConfigMap is missing is tried again this often (the kubelet's sync), until it is there. */
const CONFIG_RETRY_MS = 10_000;
/** How long an image that is not in the registry shows ErrImagePull before ImagePullBackOff. */
const PULL_BACKOFF_AFTER_MS = 5_000;
/** Exit messages carry the end of the container's output, as a terminationMessagePolicy of FallbackToLogsOnError does. */
const MESSAGE_LINES = 10;

/** What a container needs of its pod. */
export interface ContainerHost {
  /** namespace/name (uid), for messages. */
  describe(): { name: string; namespace: string; uid: string };
  /** The pod's address, once it has one. */
  address(): string;
  /** Starts the container's process (the pod's sandbox settings, its program). */
  spawn(container: Container, mode: 'serve' | 'complete'): Promise<ContainerProcess>;
  /** Something of the container's status changed: the pod's status is written (soon). */
  changed(): void;
  event(type: 'Normal' | 'Warning', reason: string, message: string, container: string): void;
  /** Whether the pod is being deleted or its runner stopped: nothing restarts any more. */
  ending(): boolean;
  /** The pod's terminationGracePeriodSeconds. */
  graceSeconds(): number;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export class ContainerRun {
  state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  lastState: ContainerState = {};
  restartCount: number;
  ready = false;
  started = false;
  /** Terminated for good: the restart policy does not start it again. */
  final = false;
  /** It has run at least once (the pod is past Pending). */
  everStarted = false;
  private process?: ContainerProcess;
  private imageID = '';
  private containerID = '';
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakers = new Set<() => void>();
  private generation = 0;
  private backoffMs = 0;

  constructor(
    readonly spec: Container,
    private readonly host: ContainerHost,
    private readonly mode: 'serve' | 'complete',
    private readonly restartPolicy: RestartPolicy,
    previousRestarts: number,
  ) {
    this.restartCount = previousRestarts;
  }

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /**
   * Runs the container until the restart policy lets it rest: resolves with its last exit code,
   * or undefined when its image cannot run (it then waits with the reason) or the pod is ending.
   */
  async run(): Promise<number | undefined> {
    for (;;) {
      const verdict = judgeImage(this.spec.image);
      if (!verdict.runnable) {
        this.state = { waiting: { reason: verdict.reason, message: verdict.message } };
        this.host.changed();
        this.host.event('Warning', 'Failed', `Failed to pull image "${this.spec.image}": ${verdict.message}`, this.name);
        if (verdict.reason === 'ErrImagePull') {
          await this.sleep(PULL_BACKOFF_AFTER_MS);
          if (this.host.ending()) return undefined;
          this.state = { waiting: pullBackOff(this.spec.image, verdict.message) };
          this.host.changed();
          this.host.event('Normal', 'BackOff', `Back-off pulling image "${this.spec.image}"`, this.name);
        }
        return undefined;
      }
      this.imageID = verdict.imageID;
      if (this.host.ending()) return undefined;
      const startedAt = new Date();
      const code = await this.runOnce(startedAt);
      if (code === 'config missing') {
        // CreateContainerConfigError: started as soon as what it reads exists, as the kubelet does.
        await this.sleep(CONFIG_RETRY_MS);
        if (this.host.ending()) return undefined;
        continue;
      }
      if (code === undefined || this.host.ending()) return code;
      const restart = this.restartPolicy === 'Always' || (this.restartPolicy === 'OnFailure' && code !== 0);
      if (!restart) {
        this.final = true;
        this.host.changed();
        return code;
      }
      this.backoffMs =
        Date.now() - startedAt.getTime() > BACKOFF_RESET_MS || this.backoffMs === 0
          ? BACKOFF_FIRST_MS
          : Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
      this.lastState = this.state;
      this.restartCount++;
      const pod = this.host.describe();
      this.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${this.backoffMs / 1000}s restarting failed container=${this.name} pod=${pod.name}_${pod.namespace}(${pod.uid})`,
        },
      };
      this.host.changed();
      this.host.event('Warning', 'BackOff', 'Back-off restarting failed container', this.name);
      await this.sleep(this.backoffMs);
      if (this.host.ending()) return undefined;
    }
  }

  /** Stops the container: SIGTERM, SIGKILL after graceMs. Its run() then returns. */
  async stop(graceMs: number): Promise<void> {
    this.generation++;
    this.clearTimers();
    for (const wake of this.wakers) wake();
    this.ready = false;
    await this.process?.stop(graceMs);
  }

  /** Process ids of its sandbox while it runs. */
  async pids(): Promise<number[]> {
    return this.process?.running ? this.process.pids() : [];
  }

  status(): ContainerStatus {
    return {
      name: this.name,
      image: this.spec.image,
      imageID: this.imageID,
      ...(this.containerID ? { containerID: this.containerID } : {}),
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      state: this.state,
      lastState: this.lastState,
    };
  }

  private async runOnce(startedAt: Date): Promise<number | undefined | 'config missing'> {
    let process: ContainerProcess;
    try {
      process = await this.host.spawn(this.spec, this.mode);
    } catch (error) {
      if (error instanceof ContainerEnvError || error instanceof PodVolumeError) {
        const message = (error as Error).message;
        const shown = this.state.waiting?.message === message;
        this.state = { waiting: { reason: 'CreateContainerConfigError', message } };
        this.host.changed();
        if (!shown) this.host.event('Warning', 'Failed', `Error: ${message}`, this.name);
        return 'config missing';
      }
      this.state = { waiting: { reason: 'CreateContainerError', message: (error as Error).message } };
      this.host.changed();
      this.host.event('Warning', 'Failed', `Error: ${(error as Error).message}`, this.name);
      return undefined;
    }
    this.process = process;
    this.containerID = `opsflow://${randomBytes(16).toString('hex')}`;
    this.everStarted = true;
    this.state = { running: { startedAt: startedAt.toISOString() } };
    const generation = ++this.generation;
    this.host.event('Normal', 'Started', `Started container ${this.name}`, this.name);
    this.host.changed();
    if (this.mode === 'serve') void this.probe(process, generation, startedAt);
    const code = await process.exited;
    this.generation++;
    this.clearTimers();
    this.ready = false;
    this.started = false;
    const finishedAt = new Date().toISOString();
    const tail = code === 0 ? '' : process.logTail().trimEnd().split('\n').slice(-MESSAGE_LINES).join('\n');
    this.state = {
      terminated: {
        exitCode: code,
        reason: code === 0 ? 'Completed' : 'Error',
        ...(tail ? { message: tail } : {}),
        startedAt: startedAt.toISOString(),
        finishedAt,
        containerID: this.containerID,
      },
    };
    this.host.changed();
    return code;
  }

  /** The container's probes, from when its program listens until it exits. */
  private async probe(process: ContainerProcess, generation: number, startedAt: Date): Promise<void> {
    const current = () => this.generation === generation && process.running;
    // A program that says it listens is probed at once; one that never says so, after 2 s.
    await Promise.race([process.listening, process.exited, this.sleep(2_000)]);
    const { startupProbe, readinessProbe, livenessProbe } = this.spec;
    const sinceStart = Date.now() - startedAt.getTime();
    if (!current()) return;
    if (startupProbe && !unsupportedProbe(startupProbe)) {
      await this.sleep(Math.max(0, (startupProbe.initialDelaySeconds ?? 0) * 1_000 - sinceStart));
      const passed = await this.loop(startupProbe, 'Startup', generation, process, () => undefined, 'until-success');
      if (!passed) return;
    }
    if (!current()) return;
    this.started = true;
    if (!readinessProbe || unsupportedProbe(readinessProbe)) this.ready = true;
    this.host.changed();
    if (readinessProbe && !unsupportedProbe(readinessProbe))
      void this.delayed(readinessProbe, sinceStart, () =>
        this.loop(readinessProbe, 'Readiness', generation, process, (ready) => {
          if (this.ready !== ready) {
            this.ready = ready;
            this.host.changed();
          }
        }),
      );
    if (livenessProbe && !unsupportedProbe(livenessProbe))
      void this.delayed(livenessProbe, sinceStart, () => this.loop(livenessProbe, 'Liveness', generation, process, () => undefined));
  }

  private async delayed(probe: Probe, sinceStartMs: number, body: () => Promise<boolean>): Promise<void> {
    await this.sleep(Math.max(0, (probe.initialDelaySeconds ?? 0) * 1_000 - sinceStartMs));
    await body();
  }

  /**
   * Runs a probe every periodSeconds while this run of the container lasts. Readiness reports each
   * change after its thresholds; liveness and startup kill the container after failureThreshold
   * failures in a row (startup stops probing at its first success). Resolves whether it passed.
   */
  private async loop(
    probe: Probe,
    kind: 'Startup' | 'Readiness' | 'Liveness',
    generation: number,
    process: ContainerProcess,
    report: (passing: boolean) => void,
    until: 'until-success' | 'forever' = 'forever',
  ): Promise<boolean> {
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1_000;
    const successThreshold = Math.max(1, probe.successThreshold ?? 1);
    const failureThreshold = Math.max(1, probe.failureThreshold ?? 3);
    let successes = 0;
    let failures = 0;
    let lastFailureShown = '';
    while (this.generation === generation && process.running) {
      const result = await runProbe(probe, this.spec, this.host.address());
      if (this.generation !== generation || !process.running) return false;
      if (result.ok) {
        successes++;
        failures = 0;
        lastFailureShown = '';
        if (until === 'until-success') return true;
        if (successes >= successThreshold) report(true);
      } else {
        failures++;
        successes = 0;
        // One event per kind of failure, not one per period.
        if (result.detail !== lastFailureShown) {
          this.host.event('Warning', 'Unhealthy', `${kind} probe failed: ${result.detail}`, this.name);
          lastFailureShown = result.detail;
        }
        if (failures >= failureThreshold) {
          if (kind === 'Readiness') report(false);
          else {
            this.host.event('Normal', 'Killing', `Container ${this.name} failed ${kind.toLowerCase()} probe, will be restarted`, this.name);
            void process.stop((probe.terminationGracePeriodSeconds ?? this.host.graceSeconds()) * 1_000);
            return false;
          }
        }
      }
      await this.sleep(periodMs);
    }
    return false;
  }

  /** Waits, or less if the container is stopped meanwhile. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.timers.add(timer);
      this.wakers.add(wake);
    });
  }

  private clearTimers(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
