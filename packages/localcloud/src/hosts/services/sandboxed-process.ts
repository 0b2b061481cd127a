// Long-running processes inside a droplet (database servers, systemd units): started through
// bubblewrap like every droplet command, in a session of their own so one signal reaches the whole
// service, with their output appended to a log file in the droplet. bwrap reports the service's
// pid on a status pipe, which the local cloud keeps in memory only. Nothing is ever left behind
// to find again: the droplet's pid namespace ends with the local cloud (isolation/namespaces.ts).
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../../log';
import { makeDropletDir, giveToDroplet } from '../isolation/droplet-files';
import { spawnInSandbox, type DropletSandbox } from '../sandbox';
import type { ProcessRef } from './state';

export interface SpawnOptions {
  env: Record<string, string>;
  /** Working directory inside the droplet. */
  cwd?: string;
  /** Host path of the log file that gets stdout and stderr. */
  logFile: string;
  /** Run first on the machine, exec'ing bwrap (listen-sockets.ts: nginx's port 80). */
  launcher?: string[];
}

export class SandboxedProcess {
  /** Exit status, 128 + signal number when killed by a signal. */
  readonly exited: Promise<number>;
  /** The service's own pid (inside bwrap), once bwrap has reported it. */
  readonly ref: Promise<ProcessRef | undefined>;
  private done = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly sandbox: DropletSandbox,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('error', () => resolve(127));
      child.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    void this.exited.then(() => (this.done = true));
    this.ref = new Promise((resolve) => {
      let buffered = '';
      const status = child.stdio[3] as NodeJS.ReadableStream;
      // Keep reading until bwrap closes it: a closed pipe would kill bwrap with SIGPIPE.
      status.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const match = /"child-pid":\s*(\d+)/.exec(buffered);
        if (match) resolve({ pid: Number(match[1]) });
      });
      status.on('error', () => resolve(undefined));
      status.on('end', () => resolve(undefined));
    });
  }

  static spawn(sandbox: DropletSandbox, argv: string[], options: SpawnOptions): SandboxedProcess {
    makeDropletDir(sandbox, path.dirname(options.logFile));
    const log = openSync(options.logFile, 'a');
    try {
      giveToDroplet(sandbox, options.logFile);
      // Detached: a Ctrl-C meant for the local cloud's terminal must not reach the droplet's services.
      const child = spawnInSandbox(sandbox, argv, {
        env: options.env,
        cwd: options.cwd,
        stdio: ['ignore', log, log, 'pipe'],
        detached: true,
        launcher: options.launcher,
        // Own session, report the pid. It dies with us through the droplet's pid namespace.
        bwrapOptions: ['--new-session', '--json-status-fd', '3'],
      });
      return new SandboxedProcess(child, sandbox);
    } finally {
      closeSync(log);
    }
  }

  get running(): boolean {
    return !this.done;
  }

  /** Signals the whole service, then kills it if it has not ended within the grace period. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number> {
    if (this.done) return this.exited;
    const ref = await this.ref;
    if (ref) this.signalService(ref.pid, signal);
    else this.child.kill(signal);
    const timer = setTimeout(() => {
      if (ref) this.signalService(ref.pid, 'SIGKILL');
      this.child.kill('SIGKILL');
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Signals the service's process group, and only ever this droplet's processes. The service is
   * not our child (bwrap is), so its pid is freed as soon as it ends, before we hear of bwrap's end,
   * and on a busy machine another process anywhere may get it. While the pid is in use by a
   * process outside the droplet, nothing is sent. When it is not in use at all, the group id may
   * still be: the kernel reuses no pid that names a live process group, so the group is ours.
   */
  private signalService(pid: number, signal: NodeJS.Signals): void {
    const inUse = existsSync(`/proc/${pid}`);
    if (inUse && !this.sandbox.isolation.owns(pid)) return;
    const reached = signalGroup(pid, signal);
    // Logged to trace the SIGKILLs droplet setup commands sometimes die of under load (issue 11).
    if (!inUse && reached) log.warn('signalled the process group of an ended droplet service', { pid, signal });
  }
}

/** Runs a short command in the droplet to completion, with its output collected. */
export function runInSandbox(
  sandbox: DropletSandbox,
  argv: string[],
  options: { env: Record<string, string>; cwd?: string; input?: string; launcher?: string[] },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnInSandbox(sandbox, argv, {
    env: options.env,
    cwd: options.cwd ?? '/',
    stdio: ['pipe', 'pipe', 'pipe'],
    launcher: options.launcher,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.input ?? '');
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: 127, stdout, stderr: stderr + error.message }));
    child.once('close', (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal), stdout, stderr }));
  });
}

/**
 * Waits until the log file shows `marker` after byte `from` (a server saying it is ready), failing
 * with the log's tail if the process ends first or the time runs out.
 */
export async function waitForLog(
  logFile: string,
  from: number,
  marker: RegExp,
  service: SandboxedProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Whether it still runs is asked before the log is read: what a process writes as it fails
    // is then always in the text reported.
    const running = service.running;
    const text = readFrom(logFile, from);
    if (marker.test(text)) return;
    if (!running) throw new Error(`exited before it was ready:\n${tail(text, 15)}`);
    if (Date.now() > deadline) throw new Error(`not ready after ${Math.round(timeoutMs / 1000)} s:\n${tail(text, 15)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, from: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    const buffer = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buffer, 0, buffer.length, from);
    return buffer.toString();
  } finally {
    closeSync(fd);
  }
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Signals the group and the process; whether either was there to receive it. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  let reached = false;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      reached = true;
    } catch {
      // Already gone.
    }
  }
  return reached;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (os.constants.signals[signal] ?? 0) : 0;
}
