// The SSH daemon of one droplet: public-key logins with the keys the droplet was created with,
// commands run in the droplet's sandbox with exit codes, stderr and signals, and SFTP through
// OpenSSH's own sftp-server confined to the same sandbox.
import type { ChildProcess } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Server, utils, type Connection, type ServerChannel, type ParsedKey } from 'ssh2';
import { sandboxEnv, spawnInSandbox, type DropletSandbox } from './sandbox';

export interface SshAccess {
  /** OpenSSH public keys allowed to log in as root. */
  authorizedKeys(): string[];
  /** Fault: the host refuses SSH connections. */
  refusing(): boolean;
  /** Fault: the droplet's region is dark; connections get no answer at all. */
  dark(): boolean;
  /** Counted as they happen (for benchmarks: SSH logins and commands per operation). */
  counts?: SshCounts;
}

/** Successful logins and the commands (exec, shell, sftp) they ran. */
export interface SshCounts {
  logins: number;
  commands: number;
}

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
/** How long a connection to a dark host hangs before it is dropped. */
const DARK_HOLD_MS = 120_000;
const KILL_GRACE_MS = 2_000;

export class DropletSshServer {
  private readonly ssh: Server;
  private readonly tcp: net.Server;
  private readonly sockets = new Set<Socket>();
  private readonly children = new Set<ChildProcess>();

  constructor(
    private readonly sandbox: DropletSandbox,
    hostKey: string,
    private readonly access: SshAccess,
  ) {
    this.ssh = new Server({ hostKeys: [hostKey], ident: 'OpenSSH_9.2p1 opsflow-localcloud' }, (client) => this.onClient(client));
    this.tcp = net.createServer((socket) => this.onSocket(socket));
  }

  /** Listens on the droplet's address; resolves with the port actually bound. */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(port, this.sandbox.address, () => {
        this.tcp.off('error', reject);
        resolve((this.tcp.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    for (const child of this.children) killGroup(child, 'SIGKILL');
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }

  private onSocket(socket: Socket): void {
    if (this.access.dark()) {
      // A dark region answers nothing: the client's handshake simply times out.
      socket.pause();
      const timer = setTimeout(() => socket.destroy(), DARK_HOLD_MS);
      socket.once('close', () => clearTimeout(timer));
      this.track(socket);
      return;
    }
    if (this.access.refusing()) {
      socket.resetAndDestroy();
      return;
    }
    this.track(socket);
    this.ssh.injectSocket(socket);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  private onClient(client: Connection): void {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const allowed = this.access.authorizedKeys().some((key) => sameKey(key, ctx.key.algo, ctx.key.data));
      if (!allowed || ctx.username !== 'root') return ctx.reject(['publickey']);
      // Without a signature the client only asks whether the key would do; with one, verify it.
      if (!ctx.signature || !ctx.blob) return ctx.accept();
      const parsed = utils.parseKey(`${ctx.key.algo} ${ctx.key.data.toString('base64')}`) as ParsedKey;
      if (parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      if (this.access.counts) this.access.counts.logins++;
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        const env: Record<string, string> = {};
        let running: ChildProcess | undefined;
        session.on('env', (accept, _reject, info) => {
          // Like sshd's default AcceptEnv: only locale settings pass.
          if (/^(LANG|LC_[A-Z]+)$/.test(info.key)) env[info.key] = info.val;
          accept?.();
        });
        session.on('pty', (accept) => accept?.());
        session.on('window-change', (accept) => accept?.());
        session.on('signal', (accept, _reject, info) => {
          if (running) killGroup(running, `SIG${info.name}` as NodeJS.Signals);
          accept?.();
        });
        session.on('exec', (accept, _reject, info) => {
          running = this.run(accept(), ['/bin/bash', '-c', info.command], env);
        });
        session.on('shell', (accept) => {
          running = this.run(accept(), ['/bin/bash', '-l'], env);
        });
        session.on('subsystem', (accept, reject, info) => {
          if (info.name !== 'sftp') return reject();
          running = this.run(accept(), [SFTP_SERVER, '-d', '/root'], env);
        });
      });
    });
  }

  /** Runs argv in the droplet with the channel as its stdio, then reports its exit like sshd. */
  private run(channel: ServerChannel, argv: string[], env: Record<string, string>): ChildProcess {
    if (this.access.counts) this.access.counts.commands++;
    const child = spawnInSandbox(this.sandbox, argv, {
      env: sandboxEnv({ ...env, SSH_CONNECTION: `127.0.0.1 0 ${this.sandbox.address} 22` }),
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so a signal or a dropped connection reaches everything it started.
      detached: true,
    });
    this.children.add(child);
    channel.pipe(child.stdin!).on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    child.stdout!.pipe(channel, { end: false });
    child.stderr!.pipe(channel.stderr, { end: false });
    let exited = false;
    channel.on('close', () => {
      // The client went away mid-command: hang up on it, as sshd does, then make sure.
      if (exited) return;
      killGroup(child, 'SIGHUP');
      setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
    });
    child.on('error', (error) => {
      channel.stderr.write(`localcloud: cannot start the command: ${error.message}\n`);
    });
    child.on('close', (code, signal) => {
      exited = true;
      this.children.delete(child);
      const finish = () => {
        if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
        else channel.exit(code ?? 255);
        channel.end();
      };
      if (channel.writableNeedDrain) channel.once('drain', finish);
      else finish();
    });
    return child;
  }
}

function sameKey(authorized: string, algo: string, blob: Buffer): boolean {
  const parsed = utils.parseKey(authorized);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const allowedBlob = key.getPublicSSH();
  return key.type === algo && allowedBlob.length === blob.length && timingSafeEqual(allowedBlob, blob);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  // Once it has ended (by a signal too: exitCode stays null then) its pid may name another group.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}
