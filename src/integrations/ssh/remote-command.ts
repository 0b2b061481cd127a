// What actually runs on the host for one command: a small fixed bash supervisor that
//  - reads the environment (if any) from the first bytes of stdin, so values, which may be secrets,
//    never appear on a command line (visible in `ps`) or in sshd's logs;
//  - starts the command in its own process group, with the rest of stdin;
//  - on TERM, HUP or INT stops that whole group, children included, and KILLs it if it is still
//    there 10 s later. The TERM comes from the client: as a signal request over the channel, and,
//    because sshd refuses signal requests for sessions without privilege separation (every root
//    login) and older sshd ignore them, also from a second command on the same connection that
//    finds the supervisor by the random name it runs under (`opsflow-<token>`, its $0);
//  - watches its parent, the sshd session: if the connection goes away (a client that died or
//    was cut off), it stops the group the same way;
//  - exits with the command's exit status (a command killed by signal N exits 128+N, as in a shell).
// The command itself is POSIX-quoted argv, or a fixed script read by `bash -s` from stdin with the
// values as positional arguments. Nothing user-supplied is ever pasted into script text.
import { randomBytes } from 'node:crypto';
import { quoteArg, quoteArgv } from './quote';

const STOP_GROUP =
  'kill -TERM -- -"$job" 2>/dev/null; if [ -z "$killer" ]; then ( sleep 10; kill -KILL -- -"$job" ) </dev/null >/dev/null 2>&1 4>&- & killer=$!; fi';

export const SUPERVISOR = [
  'n=$1; shift',
  `while [ "$n" -gt 0 ]; do IFS= read -r -d '' kv || exit 125; export "$kv"; n=$((n-1)); done`,
  // The supervisor's own stderr goes nowhere (job control notices like "[1] Done"); the command's
  // stays the channel's.
  'exec 4>&2 2>/dev/null',
  `trap 'stop=1; if [ -n "$job" ]; then ${STOP_GROUP.replace(/'/g, `'\\''`)}; fi' TERM HUP INT`,
  'set -m',
  '"$@" 2>&4 4>&- &',
  'job=$!',
  '( while kill -0 "$PPID" 2>/dev/null; do sleep 1; done; kill -TERM -- -"$job"; sleep 10; kill -KILL -- -"$job" ) </dev/null >/dev/null 2>&1 4>&- &',
  'watch=$!',
  'set +m',
  `if [ -n "$stop" ]; then ${STOP_GROUP}; fi`,
  'while :; do wait "$job"; rc=$?; kill -0 "$job" 2>/dev/null || break; done',
  'kill -- -"$watch" 2>/dev/null',
  'if [ -n "$killer" ]; then kill "$killer" 2>/dev/null; fi',
  'exit "$rc"',
].join('\n');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type CommandSpec =
  { argv: readonly string[]; script?: undefined; args?: undefined } | { script: string; args?: readonly string[]; argv?: undefined };

export interface RemoteCommand {
  /** The command line sent in the exec request. */
  commandLine: string;
  /** The command line that stops this command from another channel (supervised commands only). */
  stopCommandLine?: string;
  /** Bytes to send on stdin before the caller's own stdin (environment, script text). */
  preamble: Buffer;
}

/**
 * Builds the exec request for a command. `supervise: false` sends the bare quoted argv (for hosts
 * without bash): no environment, no script, and cancellation relies on sshd's signal support alone.
 */
export function buildRemoteCommand(
  spec: CommandSpec,
  env: Record<string, string> = {},
  supervise = true,
  token = randomBytes(9).toString('hex'),
): RemoteCommand {
  if (!/^[0-9a-f]{8,}$/.test(token)) throw new Error('the supervisor token must be lowercase hex');
  const entries = Object.entries(env);
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) throw new Error(`environment variable name ${JSON.stringify(name)} is not a valid shell name`);
    if (value.includes('\0')) throw new Error(`environment variable ${name} cannot contain a NUL byte`);
  }
  if (!supervise) {
    if (spec.argv === undefined) throw new Error('a script needs the supervisor (bash on the host)');
    if (entries.length > 0) throw new Error('environment values need the supervisor (bash on the host)');
    return { commandLine: quoteArgv(spec.argv), preamble: Buffer.alloc(0) };
  }
  const job = spec.argv !== undefined ? [...spec.argv] : ['bash', '-s', '--', ...(spec.args ?? [])];
  if (spec.argv !== undefined && spec.argv.length === 0) throw new Error('a command needs at least one word');
  const parts: Buffer[] = entries.map(([name, value]) => Buffer.from(`${name}=${value}\0`));
  if (spec.script !== undefined) parts.push(Buffer.from(wrapScript(spec.script)));
  return {
    commandLine: `exec bash -c ${quoteArg(SUPERVISOR)} opsflow-${token} ${quoteArgv([String(entries.length), ...job])}`,
    // pkill never matches itself; the login shell execs it, so no other process carries the token.
    stopCommandLine: `exec pkill -TERM -f -- opsflow-${token}`,
    preamble: Buffer.concat(parts),
  };
}

/**
 * A script for `bash -s` followed by the caller's stdin: bash reads a non-seekable stdin one byte
 * at a time, so wrapping the body in one compound command (parsed whole before it runs) and
 * exiting right after it leaves everything after it to the commands inside, as their stdin.
 */
export function wrapScript(body: string): string {
  if (body.includes('\0')) throw new Error('a script cannot contain a NUL byte');
  return `{\n${body}\n}; exit $?\n`;
}
