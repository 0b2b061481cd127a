// One container of a pod as a process of this machine, confined like a droplet's services: through
// bubblewrap, its `/` is the pod's own folder (the machine's /usr read-only, the program's folder
// read-only, its own /proc of a pid namespace of its own, /dev), it runs as the pod's own host uid
// (pod-network.ts) with no capability but binding ports below 1024, and no_new_privs. It shares the
// machine's network, where it binds the pod's address only.
// It never outlives the local cloud, however the cloud ends: setpriv gives bwrap a parent-death
// SIGKILL, and bwrap gives one to the init of the container's pid namespace (--die-with-parent),
// whose end takes every process of the namespace with it. The init, not the container, carries
// it: a parent-death signal is cleared when a process changes its uid, which the container does
// (setpriv --reuid) before it runs the program (seen: with the container as pid 1 itself, a
// SIGKILLed parent left it running).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readlinkSync, symlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveBwrap } from '../../hosts/sandbox';
import { LISTENING_LINE } from './pod-app-protocol';
import { MOUNT_POINT } from './pod-app-program';

const SETPRIV = '/usr/bin/setpriv';
const LOG_TAIL_BYTES = 2_000;
/**
 * V8 kept small: an idle pod's app needs a few MB of heap, and a cluster runs tens of them. Lite
 * mode (no optimizing compiler) took 6 MB off each app's RSS (52 -> 46 MB, PSS 14 -> 12.7 MB) and
 * served 4,000 keep-alive requests no slower here (1.7-2.1 s either way, the client the bound).
 */
// (--no-expose-wasm: lite mode turns WebAssembly off anyway, and says so on stderr unless told.)
const NODE_FLAGS = ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1', '--max-old-space-size=96', '--v8-pool-size=1'];

export interface ContainerProcessOptions {
  /** Host folder that becomes the container's `/` (owned by `uid`). */
  root: string;
  /** Host folder mounted read-only at /opt/localcloud: the program. */
  programDir: string;
  /** What runs, as the container sees it: the simulated app (appCommand) or a server (pod-servers.ts). */
  command: string[];
  /** Environment beyond the fixed minimum (a server's settings, such as POSTGRES_PASSWORD). */
  env?: Record<string, string>;
  /** A line the program prints on stdout once it serves (its probes start then); default the app's. */
  readyLine?: string;
  /** Host folders the runner made, mounted read-only inside (volumes, the service account's token). */
  mounts?: { source: string; target: string }[];
  uid: number;
  hostname: string;
  /** Host file that gets the container's output. */
  logFile: string;
}

/**
 * The simulated application: node, its flags, the script and its arguments. The pod's folder is
 * named in its command line (`--pod-dir=`), so the processes of a cluster's folder can be found.
 */
export function appCommand(node: string, argv: string[], podDir: string): string[] {
  return [node, ...NODE_FLAGS, ...argv, `--pod-dir=${podDir}`];
}

export class ContainerProcess {
  /** Exit status: the container's, or 128 + signal number when killed by one. */
  readonly exited: Promise<number>;
  /** Resolves once the program says it listens (never, if it exits first). */
  readonly listening: Promise<void>;
  /** The pid of the init of the container's pid namespace (bwrap's), once bwrap has reported it. */
  private readonly initPid: Promise<number | undefined>;
  /** The container's own pid (as the machine sees it): the init's child. */
  private containerPid?: Promise<number | undefined>;
  private done = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly logFile: string,
    readyLine: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('error', () => resolve(127));
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0)));
    });
    void this.exited.then(() => (this.done = true));
    this.initPid = new Promise((resolve) => {
      let buffered = '';
      const status = child.stdio[3] as NodeJS.ReadableStream;
      // Read until bwrap closes it: a closed pipe would kill bwrap with SIGPIPE.
      status.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const match = /"child-pid":\s*(\d+)/.exec(buffered);
        if (match) resolve(Number(match[1]));
      });
      status.on('error', () => resolve(undefined));
      status.on('end', () => resolve(undefined));
    });
    this.listening = new Promise((resolve) => {
      let seen = '';
      // stdout goes through us to the log, so the line that says it listens is seen at once.
      child.stdout!.on('data', (chunk: Buffer) => {
        this.append(chunk);
        if (seen !== readyLine) {
          seen = (seen + chunk.toString()).slice(-4_096);
          if (seen.includes(readyLine)) {
            seen = readyLine;
            resolve();
          }
        }
      });
    });
  }

  static start(options: ContainerProcessOptions): ContainerProcess {
    const log = openSync(options.logFile, 'a', 0o600);
    try {
      const args = [
        '--pdeathsig',
        'SIGKILL',
        '--',
        resolveBwrap(),
        '--bind',
        options.root,
        '/',
        '--ro-bind',
        '/usr',
        '/usr',
        ...topLevelMounts(),
        '--ro-bind',
        options.programDir,
        MOUNT_POINT,
        ...(options.mounts ?? []).flatMap((m) => ['--ro-bind', m.source, m.target]),
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        '--unshare-pid',
        '--unshare-ipc',
        '--unshare-uts',
        '--unshare-cgroup-try',
        '--hostname',
        options.hostname.slice(0, 63),
        '--die-with-parent',
        '--new-session',
        '--json-status-fd',
        '3',
        '--cap-drop',
        'ALL',
        // Only for setpriv below, which drops them all but the one kept in the ambient set.
        ...['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE'].flatMap((cap) => ['--cap-add', cap]),
        '--chdir',
        '/',
        '--',
        SETPRIV,
        `--reuid=${options.uid}`,
        `--regid=${options.uid}`,
        '--clear-groups',
        '--inh-caps=-all,+net_bind_service',
        '--ambient-caps=+net_bind_service',
        '--bounding-set=-all,+net_bind_service',
        '--',
        ...options.command,
      ];
      const child = spawn(SETPRIV, args, {
        detached: true,
        stdio: ['ignore', 'pipe', log, 'pipe'],
        // Nothing of the local cloud's own environment.
        env: { ...options.env, PATH: '/usr/bin:/bin', HOME: '/tmp', HOSTNAME: options.hostname.slice(0, 63), LANG: 'C.UTF-8' },
      });
      return new ContainerProcess(child, options.logFile, options.readyLine ?? LISTENING_LINE);
    } finally {
      closeSync(log);
    }
  }

  get running(): boolean {
    return !this.done;
  }

  /** Process ids of bwrap, its namespace's init and the container, while they run. */
  async pids(): Promise<number[]> {
    const pids = [this.child.pid, await this.initPid, await this.container()].filter((pid): pid is number => pid !== undefined);
    return pids.filter((pid) => existsSync(`/proc/${pid}`));
  }

  /** The end of its output, for a terminated state's message. */
  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-LOG_TAIL_BYTES);
    } catch {
      return '';
    }
  }

  /** SIGTERM to the container (the namespace's init ignores it); SIGKILL to all of it when it has not ended within graceMs. */
  async stop(graceMs: number): Promise<number> {
    if (this.done) return this.exited;
    const pid = await this.container();
    if (pid !== undefined && (await this.isOurs(pid))) signal(pid, 'SIGTERM');
    else this.kill();
    const timer = setTimeout(() => this.kill(), Math.max(0, graceMs));
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL to the namespace's init (the whole namespace ends with it), then to bwrap. */
  kill(): void {
    void this.initPid.then((init) => {
      if (init !== undefined && !this.done && parentOf(init) === this.child.pid) signal(init, 'SIGKILL');
      if (this.child.pid !== undefined) signal(-this.child.pid, 'SIGKILL');
      this.child.kill('SIGKILL');
    });
  }

  /** The container's pid: the init's child, once the init has started it. */
  private container(): Promise<number | undefined> {
    this.containerPid ??= (async () => {
      const init = await this.initPid;
      if (init === undefined) return undefined;
      for (let i = 0; i < 100 && !this.done; i++) {
        try {
          const child = Number(readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(/\s+/)[0]);
          if (child > 0) return child;
        } catch {
          return undefined; // the init is gone
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return undefined;
    })();
    return this.containerPid;
  }

  /** Whether `pid` is still the container (the init's child), not a process that took its pid since. */
  private async isOurs(pid: number): Promise<boolean> {
    const init = await this.initPid;
    return init !== undefined && parentOf(pid) === init;
  }

  private append(chunk: Buffer): void {
    try {
      const fd = openSync(this.logFile, 'a');
      try {
        writeSync(fd, chunk);
      } finally {
        closeSync(fd);
      }
    } catch {
      // The pod's folder is gone (deleted meanwhile): nothing to keep.
    }
  }
}

function parentOf(pid: number): number | undefined {
  try {
    return Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

function signal(target: number, name: NodeJS.Signals): void {
  try {
    process.kill(target, name);
  } catch {
    // Already gone.
  }
}

const TOP_LEVEL = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * /bin, /lib and friends as on the machine. Where it merges them into /usr they are links, made
 * once in the pod's folder (bwrap would make them there itself and then trip over them at the
 * container's next start); where they are real folders, read-only mounts.
 */
export function prepareTopLevel(root: string): void {
  for (const dir of TOP_LEVEL) {
    const stat = lstatSync(`/${dir}`, { throwIfNoEntry: false });
    const inRoot = path.join(root, dir);
    if (stat?.isSymbolicLink() && !lstatSync(inRoot, { throwIfNoEntry: false })) symlinkSync(readlinkSync(`/${dir}`), inRoot);
  }
}

function topLevelMounts(): string[] {
  return TOP_LEVEL.filter((dir) => lstatSync(`/${dir}`, { throwIfNoEntry: false })?.isDirectory()).flatMap((dir) => [
    '--ro-bind',
    `/${dir}`,
    `/${dir}`,
  ]);
}
