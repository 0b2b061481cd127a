// Runs backup commands on the worker itself (targets reached by `connection`): spawn with an argv,
// never a shell, and a small explicit environment so the worker's own secrets do not leak into
// pg_dump's or mariadb's environment.
import { spawn } from 'node:child_process';
import { TailBuffer, type CommandExit, type CommandRunner, type CommandSpec, type RunningCommand } from './command-runner';

/** What a dump tool needs from the worker's environment; everything else stays behind. */
const PASSED_THROUGH = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export function localRunner(): CommandRunner {
  return {
    where: 'worker',
    start(command: CommandSpec): RunningCommand {
      const [file, ...args] = command.argv;
      if (!file) throw new Error('localRunner: empty argv');
      const env: Record<string, string> = {};
      for (const name of PASSED_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name] as string;
      const child = spawn(file, args, { env: { ...env, ...command.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      const stderr = new TailBuffer();
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      const completion = new Promise<CommandExit>((resolve) => {
        // 'close' (not 'exit'): stdout and stderr are fully read by then.
        child.once('close', (exitCode, signal) => resolve({ exitCode, signal, stderrTail: stderr.toString() }));
        child.once('error', (err) => resolve({ exitCode: null, signal: null, stderrTail: `${file}: ${err.message}` }));
      });
      child.stdin.on('error', () => undefined); // EPIPE when the command exits before reading all input
      return {
        stdout: child.stdout,
        stdin: child.stdin,
        completion,
        pid: child.pid,
        kill: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        },
      };
    },
  };
}
