// Where backup commands run. A runner starts one command (an argv, never a shell line) and hands
// back its streams and how it ended. The local runner spawns on the worker; a droplet runner runs
// the same argv over SSH (`docker exec -i <service> ...`) and plugs in through this interface alone:
// with src/clients/ssh, `start` is `execStream(endpoint, { argv }, { stdin: aPassThrough, env,
// signal, onStderr })`, returning that PassThrough as stdin, `done` mapped to `completion` (a
// rejection as exitCode null) and `kill` aborting the signal; BackupDeps.dropletRunner supplies it.
import type { Readable, Writable } from 'node:stream';

export interface CommandExit {
  /** null when the command was ended by a signal (or the channel closed without a status). */
  exitCode: number | null;
  signal: string | null;
  /** The last few KiB of stderr, for the failure message. */
  stderrTail: string;
}

export interface CommandSpec {
  argv: string[];
  /**
   * Extra environment for the command: how passwords travel (PGPASSWORD, MYSQL_PWD), never argv,
   * so they show in no process list and no log.
   */
  env?: Record<string, string>;
}

export interface RunningCommand {
  stdout: Readable;
  stdin: Writable;
  /** Resolves once the command ended and its output streams closed; never rejects. */
  completion: Promise<CommandExit>;
  /** Ends the command now (SIGKILL locally; a signal or closing the channel over SSH). */
  kill(): void;
  /** The local process id, when there is one (diagnostics, tests). */
  pid?: number;
}

export interface CommandRunner {
  /** For messages: `worker`, `droplet stack-b-platform, service postgres`, ... */
  readonly where: string;
  /**
   * Starts the command. May be async (an SSH runner opens its channel first); a command that
   * starts and then fails is reported through `completion`, not by rejecting here.
   */
  start(command: CommandSpec): RunningCommand | Promise<RunningCommand>;
}

export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly where: string,
    readonly exit: CommandExit,
  ) {
    super(
      `${command} on ${where} ${exitDescription(exit)}${exit.stderrTail.trim() ? `: ${exit.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
    );
    this.name = 'CommandFailed';
  }
}

export function exitDescription(exit: CommandExit): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return exit.exitCode === null ? 'ended without an exit status' : `exited with status ${exit.exitCode}`;
}

/** Keeps the last `limit` bytes written to it: stderr of a long dump is unbounded. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 4096) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit) this.size -= (this.chunks.shift() as Buffer).length;
  }

  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/**
 * Runs a short command (a query, `--version`) to completion and returns its stdout; throws
 * CommandFailed unless it exits 0. Not for dumps: it keeps stdout in memory (up to maxBytes).
 */
export async function runToCompletion(
  runner: CommandRunner,
  command: CommandSpec & { input?: string; maxBytes?: number },
): Promise<string> {
  const running = await runner.start(command);
  const limit = command.maxBytes ?? 16 * 1024 * 1024;
  const chunks: Buffer[] = [];
  let size = 0;
  running.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) running.kill();
    else chunks.push(chunk);
  });
  running.stdin.on('error', () => undefined); // a command that exits before reading its input
  running.stdin.end(command.input ?? '');
  const exit = await running.completion;
  const name = command.argv[0] ?? 'command';
  if (size > limit) throw new CommandFailed(name, runner.where, { ...exit, stderrTail: `output larger than ${limit} bytes` });
  if (exit.exitCode !== 0) throw new CommandFailed(name, runner.where, exit);
  return Buffer.concat(chunks).toString('utf8');
}
