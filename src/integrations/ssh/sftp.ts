// Files over SFTP: put (written beside the target, then renamed over it, so a reader never sees half
// a file), get (bounded), and mkdir -p.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { SFTPWrapper, Stats } from 'ssh2';
import { SshError } from './errors';

export interface PutFileOptions {
  /** Permission bits of the file (default 0o644), set explicitly so the server's umask does not matter. */
  mode?: number;
}

export interface GetFileOptions {
  /** Refuse files larger than this (default 64 MiB): a getFile result lives in memory. */
  maxBytes?: number;
}

const NO_SUCH_FILE = 2;
const WRITE_CHUNK = 32 * 1024;

interface Where {
  host: string;
  port: number;
}

function sftpError(where: Where, operation: string, remotePath: string, err: unknown): SshError {
  const message = err instanceof Error ? err.message : String(err);
  return new SshError('sftp', `sftp ${operation} ${remotePath} on ${where.host}:${where.port}: ${message}`, where.host, where.port, {
    cause: err,
  });
}

function call<T>(
  where: Where,
  operation: string,
  remotePath: string,
  run: (cb: (err: Error | undefined | null, value?: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      run((err, value) => (err ? reject(sftpError(where, operation, remotePath, err)) : resolve(value as T)));
    } catch (err) {
      reject(sftpError(where, operation, remotePath, err));
    }
  });
}

function isNoSuchFile(err: unknown): boolean {
  return err instanceof SshError && (err.cause as { code?: unknown } | undefined)?.code === NO_SUCH_FILE;
}

async function* chunksOf(content: Buffer | string | Readable): AsyncGenerator<Buffer> {
  if (typeof content === 'string') content = Buffer.from(content);
  if (Buffer.isBuffer(content)) {
    for (let i = 0; i < content.length; i += WRITE_CHUNK) yield content.subarray(i, i + WRITE_CHUNK);
    return;
  }
  for await (const chunk of content) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    for (let i = 0; i < buf.length; i += WRITE_CHUNK) yield buf.subarray(i, i + WRITE_CHUNK);
  }
}

export async function putFile(
  sftp: SFTPWrapper,
  where: Where,
  remotePath: string,
  content: Buffer | string | Readable,
  options: PutFileOptions = {},
): Promise<{ bytes: number }> {
  if (!remotePath.startsWith('/'))
    throw new SshError('invalid', `remote path ${JSON.stringify(remotePath)} must be absolute`, where.host, where.port);
  const mode = options.mode ?? 0o644;
  const temp = path.posix.join(
    path.posix.dirname(remotePath),
    `.${path.posix.basename(remotePath)}.opsflow-${randomBytes(6).toString('hex')}`,
  );
  const handle = await call<Buffer>(where, 'open', temp, (cb) => sftp.open(temp, 'w', { mode: 0o600 }, cb));
  let bytes = 0;
  let open = true;
  try {
    for await (const chunk of chunksOf(content)) {
      await call<void>(where, 'write', remotePath, (cb) => sftp.write(handle, chunk, 0, chunk.length, bytes, cb));
      bytes += chunk.length;
    }
    open = false;
    await call<void>(where, 'close', remotePath, (cb) => sftp.close(handle, cb));
    await call<void>(where, 'chmod', remotePath, (cb) => sftp.chmod(temp, mode, cb));
    await rename(sftp, where, temp, remotePath);
    return { bytes };
  } catch (err) {
    if (open) await call<void>(where, 'close', remotePath, (cb) => sftp.close(handle, cb)).catch(() => {});
    await call<void>(where, 'unlink', temp, (cb) => sftp.unlink(temp, cb)).catch(() => {});
    throw err;
  }
}

/** Replaces the target atomically (OpenSSH's posix-rename); plain SFTP rename refuses an existing target. */
async function rename(sftp: SFTPWrapper, where: Where, from: string, to: string): Promise<void> {
  try {
    await call<void>(where, 'rename', to, (cb) => sftp.ext_openssh_rename(from, to, cb));
  } catch (err) {
    if (!/does not support/i.test((err as Error).message)) throw err;
    await call<void>(where, 'unlink', to, (cb) => sftp.unlink(to, cb)).catch((e: unknown) => {
      if (!isNoSuchFile(e)) throw e;
    });
    await call<void>(where, 'rename', to, (cb) => sftp.rename(from, to, cb));
  }
}

export async function getFile(sftp: SFTPWrapper, where: Where, remotePath: string, options: GetFileOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const stats = await call<Stats>(where, 'stat', remotePath, (cb) => sftp.stat(remotePath, cb));
  if (!stats.isFile())
    throw new SshError('sftp', `sftp get ${remotePath} on ${where.host}:${where.port}: not a regular file`, where.host, where.port);
  if (stats.size > maxBytes)
    throw new SshError(
      'sftp',
      `sftp get ${remotePath} on ${where.host}:${where.port}: ${stats.size} bytes is more than the ${maxBytes} allowed`,
      where.host,
      where.port,
    );
  return call<Buffer>(where, 'read', remotePath, (cb) => sftp.readFile(remotePath, cb));
}

/** Creates the directory and any missing parents; existing directories are fine, other files are not. */
export async function mkdirp(sftp: SFTPWrapper, where: Where, remotePath: string, options: { mode?: number } = {}): Promise<void> {
  if (!remotePath.startsWith('/'))
    throw new SshError('invalid', `remote path ${JSON.stringify(remotePath)} must be absolute`, where.host, where.port);
  const parts = path.posix.normalize(remotePath).split('/').filter(Boolean);
  let current = '';
  for (const part of parts) {
    current += '/' + part;
    const stats = await call<Stats>(where, 'stat', current, (cb) => sftp.stat(current, cb)).catch((err: unknown) => {
      if (isNoSuchFile(err)) return undefined;
      throw err;
    });
    if (stats) {
      if (!stats.isDirectory())
        throw new SshError(
          'sftp',
          `sftp mkdir ${remotePath} on ${where.host}:${where.port}: ${current} exists and is not a directory`,
          where.host,
          where.port,
        );
      continue;
    }
    const dir = current;
    await call<void>(where, 'mkdir', dir, (cb) => sftp.mkdir(dir, { mode: options.mode ?? 0o755 }, cb)).catch(async (err: unknown) => {
      // Someone else made it in between: fine if it is a directory now.
      const again = await call<Stats>(where, 'stat', dir, (cb) => sftp.stat(dir, cb)).catch(() => undefined);
      if (!again?.isDirectory()) throw err;
    });
  }
}
