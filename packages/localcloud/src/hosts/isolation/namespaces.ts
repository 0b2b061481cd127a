// The namespaces a droplet's commands run in, one set per droplet, held by the local cloud:
// - a user namespace that maps the droplet's uids 0-65535 to its host range (uid-range.ts), in
//   which no further user namespace can be made (max_user_namespaces = 0);
// - a pid namespace, so the droplet sees its own processes only. Its init is a bubblewrap that
//   dies with the local cloud (--die-with-parent), and with it every process of the droplet: a
//   crash of the local cloud leaves nothing running, so no pid ever needs to be read back from
//   the droplet's files to end what it started.
// The local cloud keeps an open descriptor to each namespace; bwrap joins them (sandbox.ts).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { UIDS_PER_DROPLET } from './uid-range';

const run = promisify(execFile);
const SLEEP = '/usr/bin/sleep';

export class DropletNamespaces {
  private closed = false;

  private constructor(
    /** Host uid of the droplet's root. */
    readonly uidBase: number,
    private readonly userFd: number,
    private readonly pidFd: number,
    private readonly init: ChildProcess,
  ) {}

  static async create(uidBase: number, bwrap: string): Promise<DropletNamespaces> {
    const userFd = await makeUserNamespace(uidBase);
    try {
      const { init, pidFd } = await makePidNamespace(bwrap);
      return new DropletNamespaces(uidBase, userFd, pidFd, init);
    } catch (error) {
      closeSync(userFd);
      throw error;
    }
  }

  /** Descriptors for bwrap's --userns2 and --pidns; refused once the droplet is stopped. */
  handles(): { userFd: number; pidFd: number } {
    if (this.closed) throw new Error('the droplet is stopped: its namespaces are gone');
    return { userFd: this.userFd, pidFd: this.pidFd };
  }

  /** Whether `pid` is a process of this droplet now (a pid of one that ended may be reused by any process). */
  owns(pid: number): boolean {
    if (this.closed) return false;
    try {
      return statSync(`/proc/${pid}/ns/pid`).ino === fstatSync(this.pidFd).ino;
    } catch {
      return false;
    }
  }

  /** Whether the pid namespace still has its init (it ends with the local cloud or close()). */
  get alive(): boolean {
    return !this.closed && this.init.exitCode === null && this.init.signalCode === null;
  }

  /** Ends every process of the droplet at once (the init's end takes the namespace down). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ended = new Promise((resolve) =>
      this.init.exitCode !== null || this.init.signalCode !== null ? resolve(undefined) : this.init.once('exit', resolve),
    );
    this.init.kill('SIGKILL');
    await ended;
    closeSync(this.userFd);
    closeSync(this.pidFd);
  }
}

/**
 * A user namespace with the droplet's range mapped, returned as an open descriptor. The process
 * that made it is only needed until the maps are written and the descriptor is open.
 */
async function makeUserNamespace(uidBase: number): Promise<number> {
  const holder = spawn('unshare', ['--user', '--', '/bin/sh', '-c', `echo ready; exec ${SLEEP} infinity`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await firstLine(holder, 'unshare --user');
    const pid = holder.pid!;
    // Written from here (root in the parent namespace), as newuidmap would.
    writeFileSync(`/proc/${pid}/uid_map`, `0 ${uidBase} ${UIDS_PER_DROPLET}\n`);
    writeFileSync(`/proc/${pid}/gid_map`, `0 ${uidBase} ${UIDS_PER_DROPLET}\n`);
    const fd = openSync(`/proc/${pid}/ns/user`, 'r');
    try {
      // Root of the namespace, which no droplet process is, sets its limit of nested namespaces.
      await run('nsenter', [`--user=/proc/${pid}/ns/user`, '--', '/bin/sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces']);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return fd;
  } finally {
    holder.kill('SIGKILL');
  }
}

/** A pid namespace whose init is a bubblewrap holding no capabilities, rooted in an empty folder. */
async function makePidNamespace(bwrap: string): Promise<{ init: ChildProcess; pidFd: number }> {
  const init = spawn(
    bwrap,
    [
      '--unshare-pid',
      '--die-with-parent',
      '--cap-drop',
      'ALL',
      '--json-status-fd',
      '3',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--',
      SLEEP,
      'infinity',
    ],
    { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], detached: true },
  );
  try {
    const status = JSON.parse(await firstLine(init, 'bwrap --unshare-pid', 3)) as { 'child-pid': number; 'pid-namespace': number };
    const pidFd = openSync(`/proc/${status['child-pid']}/ns/pid`, 'r');
    // The namespace opened is the one bwrap reported, not one of a process that took a reused pid.
    if (fstatSync(pidFd).ino !== status['pid-namespace']) {
      closeSync(pidFd);
      throw new Error("the droplet's pid namespace ended while it was being opened");
    }
    // bwrap reports before its init has tied itself to bwrap's life (PR_SET_PDEATHSIG): until
    // the init waits on its children, ending bwrap would leave it behind. Wait for that.
    await untilWaiting(status['child-pid'], init);
    return { init, pidFd };
  } catch (error) {
    init.kill('SIGKILL');
    throw error;
  }
}

/** Resolves once the process sleeps in wait() (its /proc wchan), which bwrap's init reaches last. */
async function untilWaiting(pid: number, owner: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    let wchan = '';
    try {
      wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8');
    } catch {
      // gone: reported below
    }
    if (wchan === 'do_wait') return;
    if (owner.exitCode !== null || owner.signalCode !== null || wchan === '')
      throw new Error("the droplet's pid namespace ended while it was being made");
    if (i === 3000) throw new Error("the droplet's pid namespace did not settle within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The first line a child writes on stdout (or fd `fd`), or an error if it ends first. */
function firstLine(child: ChildProcess, what: string, fd = 1): Promise<string> {
  const stream = child.stdio[fd] as NodeJS.ReadableStream;
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      stream.off('data', onData);
      // Keep draining: a closed pipe would end the writer with SIGPIPE.
      stream.on('data', () => undefined);
      resolve(buffered.slice(0, newline));
    };
    stream.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`${what} ended (${signal ?? code}) before it was ready`)));
  });
}
