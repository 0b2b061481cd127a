// What can go wrong talking to a host, by kind, so activities can classify it (retry or not)
// without reading messages. Messages name the host, never a key or an environment value.

export type SshErrorKind =
  /** TCP refused, reset, unreachable, DNS: the host is not (yet) there. */
  | 'connect'
  /** No SSH handshake within the ready timeout. */
  | 'handshake-timeout'
  /** The server refused our key. */
  | 'authentication'
  /** The server's host key is not one of the pinned fingerprints. */
  | 'host-key'
  /** The connection dropped after it was up. */
  | 'disconnected'
  /** The server refused a channel, an exec or the sftp subsystem. */
  | 'channel'
  /** A command ran longer than its timeout and was stopped. */
  | 'command-timeout'
  /** The caller aborted; the command was stopped. */
  | 'aborted'
  /** An SFTP operation failed (no such file, permission denied, ...). */
  | 'sftp'
  /** Our own input was wrong (bad fingerprint, empty argv, bad environment name, unusable key). */
  | 'invalid';

export class SshError extends Error {
  constructor(
    readonly kind: SshErrorKind,
    message: string,
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SshError';
  }
}

export class HostKeyMismatchError extends SshError {
  constructor(
    host: string,
    port: number,
    readonly presented: string,
    readonly expected: readonly string[],
  ) {
    super(
      'host-key',
      `host key of ${host}:${port} is ${presented}, which is not the pinned ${expected.length === 1 ? 'fingerprint' : 'fingerprints'} ${expected.join(', ')}; refusing to connect (the host was replaced, or someone is in the middle)`,
      host,
      port,
    );
    this.name = 'HostKeyMismatchError';
  }
}

/** Classifies an error from ssh2's Client ('error' event) by its level and code. */
export function classifyClientError(err: Error & { level?: string; code?: string | number }, host: string, port: number): SshError {
  if (err instanceof SshError) return err;
  const where = `${host}:${port}`;
  const level = err.level ?? '';
  if (level === 'client-authentication')
    return new SshError('authentication', `${where} refused the SSH key (${err.message})`, host, port, { cause: err });
  if (level === 'client-timeout')
    return new SshError('handshake-timeout', `no SSH handshake from ${where} in time`, host, port, { cause: err });
  if (level === 'client-socket' || typeof err.code === 'string')
    return new SshError('connect', `cannot reach ${where}: ${err.code ?? err.message}`, host, port, { cause: err });
  if (/parse privateKey|privateKey value|Unsupported key format|Encrypted private (OpenSSH )?key detected/i.test(err.message))
    return new SshError('invalid', `the SSH private key for ${where} cannot be used: ${err.message.replace(/:.*$/s, '')}`, host, port);
  return new SshError('connect', `SSH connection to ${where} failed: ${err.message}`, host, port, { cause: err });
}
