// Runs backup commands in a droplet over SSH: src/clients/ssh's execStream behind the
// CommandRunner interface. The argv is sent POSIX-quoted; the environment (PGPASSWORD, MYSQL_PWD)
// travels on the channel's stdin to the supervisor, never on a command line. With a compose
// service, the argv runs as `docker exec -i -e NAME... <container> argv...`, where `-e NAME`
// without a value hands the container the value from the supervisor's environment.
//
// One SSH connection serves every command of a runner (a PostgreSQL dump holds a psql session
// open while pg_dump runs beside it) and is closed once no command has run for `idleMs`, since
// the activities that use a runner never say when they are done with it.
import { PassThrough } from 'node:stream';
import { SshError, type SshConnection } from '../integrations/ssh';
import { TailBuffer, type CommandExit, type CommandRunner, type CommandSpec, type RunningCommand } from './command-runner';
import { BackupError } from './errors';

export interface SshRunnerOptions {
  /** For messages: `droplet stack-b-platform, service postgres`. */
  where: string;
  /** Opens a connection with the host key checked; failures should already be BackupErrors. */
  connect: () => Promise<SshConnection>;
  /** Compose service (or container name) the commands run in; absent: on the droplet itself. */
  service?: string;
  /** How long an unused connection stays open (default 2 s). */
  idleMs?: number;
}

/** SSH client failures while opening a channel or connecting, in backup terms. */
export function sshFailure(err: unknown, what: string): BackupError {
  if (err instanceof BackupError) return err;
  if (!(err instanceof SshError))
    return new BackupError('DropletUnreachable', `${what}: ${(err as Error)?.message ?? String(err)}`, true, { cause: err });
  switch (err.kind) {
    case 'authentication':
    case 'host-key':
    case 'invalid':
      return new BackupError('SshRefused', `${what}: ${err.message}`, false, { cause: err });
    case 'aborted':
      return new BackupError('Cancelled', `${what}: ${err.message}`, false, { cause: err });
    default:
      return new BackupError('DropletUnreachable', `${what}: ${err.message}`, true, { cause: err });
  }
}

export function sshRunner(options: SshRunnerOptions): CommandRunner {
  const idleMs = options.idleMs ?? 2000;
  let connection: Promise<SshConnection> | undefined;
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let container: Promise<string> | undefined;

  async function acquire(): Promise<SshConnection> {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    active++;
    try {
      const current = connection && (await connection.catch(() => undefined));
      if (current && !current.isClosed) return current;
      connection = options.connect();
      return await connection;
    } catch (err) {
      connection = undefined;
      release();
      throw err;
    }
  }

  function release(): void {
    active--;
    if (active > 0 || !connection) return;
    const closing = connection;
    idleTimer = setTimeout(() => {
      if (active > 0 || connection !== closing) return;
      connection = undefined;
      void closing.then(
        (c) => c.close(),
        () => undefined,
      );
    }, idleMs);
    idleTimer.unref();
  }

  /**
   * The container of the compose service: found by compose's service label (compose names it
   * `<project>-<service>-1`), else a container of that name (container_name, docker run --name).
   */
  function containerOf(ssh: SshConnection, service: string): Promise<string> {
    container ??= (async () => {
      const found = await ssh.exec(['docker', 'ps', '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.Names}}'], {
        tailBytes: 16 * 1024,
        timeoutMs: 30_000,
      });
      if (found.exitCode !== 0) {
        const detail = found.stderrTail.trim().split('\n').slice(-2).join(' | ');
        throw new BackupError(
          'DumpFailed',
          `listing the containers on ${options.where}: docker ps exited with status ${found.exitCode}${detail ? `: ${detail}` : ''}`,
          true,
        );
      }
      const names = found.stdoutTail
        .split('\n')
        .map((n) => n.trim())
        .filter(Boolean);
      if (names.length > 1)
        throw new BackupError(
          'Unsupported',
          `compose service ${service} runs in ${names.length} containers on ${options.where} (${names.join(', ')}); a backup needs exactly one`,
          false,
        );
      return names[0] ?? service;
    })().catch((err: unknown) => {
      container = undefined;
      throw err instanceof BackupError ? err : sshFailure(err, `listing the containers on ${options.where}`);
    });
    return container;
  }

  return {
    where: options.where,
    async start(command: CommandSpec): Promise<RunningCommand> {
      if (command.argv.length === 0) throw new Error('sshRunner: empty argv');
      const ssh = await acquire();
      let released = false;
      const releaseOnce = () => {
        if (!released) {
          released = true;
          release();
        }
      };
      const env = command.env ?? {};
      const stderr = new TailBuffer();
      const stdin = new PassThrough();
      const stopper = new AbortController();
      let killed = false;
      let stream;
      try {
        const argv = options.service
          ? [
              'docker',
              'exec',
              '-i',
              ...Object.keys(env).flatMap((name) => ['-e', name]),
              await containerOf(ssh, options.service),
              ...command.argv,
            ]
          : command.argv;
        stream = await ssh.execStream(
          { argv },
          { stdin, env, signal: stopper.signal, tailBytes: 4096, onStderr: (chunk) => stderr.push(chunk) },
        );
      } catch (err) {
        releaseOnce();
        throw sshFailure(err, `starting ${command.argv[0]} on ${options.where}`);
      }
      const completion = stream.done.then(
        (result): CommandExit => ({ exitCode: result.exitCode, signal: result.signal, stderrTail: stderr.toString() }),
        (err: unknown): CommandExit => {
          const tail = stderr.toString();
          if (killed) return { exitCode: null, signal: 'SIGTERM', stderrTail: tail };
          return {
            exitCode: null,
            signal: null,
            stderrTail: `${tail}${tail && !tail.endsWith('\n') ? '\n' : ''}${(err as Error).message}`,
          };
        },
      );
      void completion.finally(releaseOnce);
      stdin.on('error', () => undefined);
      return {
        stdout: stream.stdout,
        stdin,
        completion,
        kill: () => {
          if (killed) return;
          killed = true;
          stopper.abort();
        },
      };
    },
  };
}
