// SSH to hosts: connect with host key checking, commands built only from quoted argv or fixed
// scripts, bounded output, cancellation that stops the remote command, and files over SFTP.
export { connect, SshConnection, type ConnectOptions, type SshTarget } from './connection';
export { HostKeyMismatchError, SshError, type SshErrorKind } from './errors';
export { DEFAULT_TAIL_BYTES, type ExecOptions, type ExecResult, type ExecStream, type OutputStream } from './exec';
export { FINGERPRINT, normalizeFingerprint, sha256Fingerprint } from './fingerprint';
export { commandName, describeCommand, quoteArg, quoteArgv } from './quote';
export { buildRemoteCommand, type CommandSpec } from './remote-command';
export type { GetFileOptions, PutFileOptions } from './sftp';
export { lastLines, OutputTail } from './tail';
