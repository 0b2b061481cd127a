// One process of a control plane (etcd, kube-apiserver, ...): spawned in a process group of its
// own with its output in a log file, and stopped by signalling that group. It dies with the local
// cloud even when the cloud is SIGKILLed: setpriv sets its parent-death signal to SIGKILL before
// it execs the component, and a normal exit of the cloud's process kills the group too.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';
const LOG_TAIL_BYTES = 4_000;

export interface ComponentOptions {
  name: string;
  binary: string;
  args: string[];
  logFile: string;
  env: Record<string, string>;
}

export class ComponentProcess {
  private readonly exited: Promise<void>;
  private readonly killOnExit = () => this.signalGroup('SIGKILL');

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    process.once('exit', this.killOnExit);
  }

  static start(options: ComponentOptions): ComponentProcess {
    const log = openSync(options.logFile, 'a', 0o600);
    try {
      const child = spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', options.binary, ...options.args], {
        detached: true,
        stdio: ['ignore', log, log],
        // Not the cloud's environment: a stray KUBECONFIG or ETCD_* variable would change behaviour.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
      });
      return new ComponentProcess(options.name, child, options.logFile);
    } finally {
      closeSync(log);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How it ended, for errors: exit code or signal. */
  get exitDescription(): string {
    return this.child.signalCode ? `signal ${this.child.signalCode}` : `exit code ${this.child.exitCode}`;
  }

  /** The end of its log, for error messages. */
  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-LOG_TAIL_BYTES);
    } catch {
      return '';
    }
  }

  /** SIGTERM to its group, SIGKILL if it has not exited within graceMs. */
  async stop(graceMs: number): Promise<void> {
    process.off('exit', this.killOnExit);
    if (!this.running) return;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Anything it started in its group goes with it.
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}
