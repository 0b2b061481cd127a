// A DumpSource is what streamBackupToSpaces reads: one command whose stdout is the backup
// (pg_dump, mariadb-dump, tar) and whose completion says whether that output is whole. Where the
// command runs (the worker, a droplet over SSH, a container) is the runner's business.
import type { Readable } from 'node:stream';
import type { CommandExit, CommandRunner, CommandSpec } from './command-runner';

export interface DumpStream {
  stdout: Readable;
  /** Resolves when the command ended; the output is whole only if exitCode is 0. */
  completion: Promise<CommandExit>;
  /** Stops the command: the upload failed or the activity was cancelled. */
  kill(): void;
}

export interface DumpSource {
  /** For messages: the program (`pg_dump`) and where it runs (the runner's `where`). */
  readonly command: string;
  readonly where: string;
  start(): Promise<DumpStream>;
}

export function commandSource(runner: CommandRunner, command: CommandSpec): DumpSource {
  return {
    command: command.argv[0] ?? 'command',
    where: runner.where,
    async start() {
      const running = await runner.start(command);
      // A dump reads nothing: closing stdin at once also tells an SSH channel there is no input.
      running.stdin.end();
      return { stdout: running.stdout, completion: running.completion, kill: () => running.kill() };
    },
  };
}

/** `tar -C dir -cf - .`: a directory (media volume) as one archive on stdout. */
export function directorySource(runner: CommandRunner, directory: { path: string; exclude?: string[] }): DumpSource {
  const excludes = (directory.exclude ?? []).map((pattern) => `--exclude=${pattern}`);
  return commandSource(runner, { argv: ['tar', ...excludes, '-C', directory.path, '-cf', '-', '.'] });
}
