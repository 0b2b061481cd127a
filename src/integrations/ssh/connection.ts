// One SSH connection to one host, with its host key checked: against pinned fingerprints when
// given, and in every case reported, so a workflow can pin it on first contact and pass it on.
import type { Readable } from 'node:stream';
import { Client, type SFTPWrapper } from 'ssh2';
import { classifyClientError, HostKeyMismatchError, SshError } from './errors';
import { exec, execStream, type ExecOptions, type ExecResult, type ExecStream } from './exec';
import { normalizeFingerprint, sha256Fingerprint } from './fingerprint';
import type { CommandSpec } from './remote-command';
import { getFile, mkdirp, putFile, type GetFileOptions, type PutFileOptions } from './sftp';

export interface SshTarget {
  host: string;
  port?: number;
  username: string;
  /** PEM or OpenSSH private key text. Never logged, never put in an error. */
  privateKey: string;
  hostKey?: {
    /** 'SHA256:...' fingerprints; when given, the server's key must be one of them. */
    pinned?: readonly string[];
  };
}

export interface ConnectOptions {
  /** How long the TCP connect plus SSH handshake and login may take (default 20 s). */
  readyTimeoutMs?: number;
  /** Aborting gives up connecting. */
  signal?: AbortSignal;
  /** SSH keepalives while connected, so a vanished host is noticed (default every 15 s, 3 missed). */
  keepaliveIntervalMs?: number;
}

export class SshConnection {
  private sftpSession?: Promise<SFTPWrapper>;
  private closed = false;

  constructor(
    private readonly client: Client,
    readonly host: string,
    readonly port: number,
    /** The SHA256 fingerprint of the host key this server presented. */
    readonly fingerprint: string,
  ) {
    client.on('close', () => (this.closed = true));
    client.on('end', () => (this.closed = true));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private endpoint() {
    return { client: this.client, host: this.host, port: this.port, isClosed: () => this.closed };
  }

  /** Runs argv (each element POSIX-quoted, never interpreted) to its end. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return exec(this.endpoint(), { argv }, options);
  }

  /** Runs a fixed script with `bash -s`; values go as positional arguments ($1, $2, ...), never into the text. */
  execScript(script: string, args: readonly string[] = [], options?: ExecOptions): Promise<ExecResult> {
    return exec(this.endpoint(), { script, args }, options);
  }

  /** Either form, as a command spec. */
  run(spec: CommandSpec, options?: ExecOptions): Promise<ExecResult> {
    return exec(this.endpoint(), spec, options);
  }

  /** Runs a command whose stdout the caller streams; nothing is buffered beyond SSH's window. */
  execStream(
    command: readonly string[] | CommandSpec,
    options?: Omit<ExecOptions, 'onOutput'> & { onStderr?: (chunk: Buffer) => void },
  ): Promise<ExecStream> {
    const spec: CommandSpec = Array.isArray(command) ? { argv: command as readonly string[] } : (command as CommandSpec);
    return execStream(this.endpoint(), spec, options);
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client.sftp((err, sftp) => {
        if (err) {
          this.sftpSession = undefined;
          reject(
            new SshError(
              this.closed ? 'disconnected' : 'channel',
              `${this.host}:${this.port} refused the sftp subsystem: ${err.message}`,
              this.host,
              this.port,
              { cause: err },
            ),
          );
        } else {
          sftp.on('close', () => (this.sftpSession = undefined));
          resolve(sftp);
        }
      });
    });
    return this.sftpSession;
  }

  async putFile(remotePath: string, content: Buffer | string | Readable, options?: PutFileOptions): Promise<{ bytes: number }> {
    return putFile(await this.sftp(), this, remotePath, content, options);
  }

  async getFile(remotePath: string, options?: GetFileOptions): Promise<Buffer> {
    return getFile(await this.sftp(), this, remotePath, options);
  }

  async mkdirp(remotePath: string, options?: { mode?: number }): Promise<void> {
    return mkdirp(await this.sftp(), this, remotePath, options);
  }

  /** Ends the connection; commands still running are stopped by their supervisor. */
  close(): void {
    this.closed = true;
    this.client.end();
  }
}

/** Opens a connection, checking the host key, and logs in with the private key. */
export function connect(target: SshTarget, options: ConnectOptions = {}): Promise<SshConnection> {
  const host = target.host;
  const port = target.port ?? 22;
  let pinned: string[] | undefined;
  try {
    pinned = target.hostKey?.pinned?.length ? target.hostKey.pinned.map(normalizeFingerprint) : undefined;
  } catch (err) {
    return Promise.reject(new SshError('invalid', (err as Error).message, host, port));
  }
  if (options.signal?.aborted) return Promise.reject(new SshError('aborted', `connecting to ${host}:${port} was aborted`, host, port));

  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: string | undefined;
    let mismatch: HostKeyMismatchError | undefined;
    let settled = false;

    const fail = (err: SshError) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.removeAllListeners('ready');
      client.on('error', () => {});
      client.destroy();
      reject(err);
    };
    const onAbort = () => fail(new SshError('aborted', `connecting to ${host}:${port} was aborted`, host, port));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    client.once('ready', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      // Later connection errors surface through the commands that were running.
      client.on('error', () => {});
      resolve(new SshConnection(client, host, port, presented as string));
    });
    client.on('error', (err: Error & { level?: string; code?: string | number }) => fail(mismatch ?? classifyClientError(err, host, port)));
    client.on('close', () =>
      fail(mismatch ?? new SshError('connect', `${host}:${port} closed the connection during the SSH handshake`, host, port)),
    );

    try {
      client.connect({
        host,
        port,
        username: target.username,
        privateKey: target.privateKey,
        readyTimeout: options.readyTimeoutMs ?? 20_000,
        keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        // Only our key: no agent, no password, no keyboard-interactive prompts.
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          presented = sha256Fingerprint(key);
          if (pinned && !pinned.includes(presented)) {
            mismatch = new HostKeyMismatchError(host, port, presented, pinned);
            return false;
          }
          return true;
        },
      });
    } catch (err) {
      // Synchronous failures are about our configuration (mostly an unusable private key); the
      // message is ssh2's description, which never contains the key itself.
      fail(classifyClientError(err as Error, host, port));
    }
  });
}
