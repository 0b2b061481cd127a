// SSH activities: wait until a host answers SSH (and learn its host key), run a command, upload
// files. Host keys are checked on every connection: a workflow pins the fingerprint waitForSsh
// returns on first contact (or the spec's) and passes it to every later call. Commands are argv
// (each word quoted, never interpreted) or fixed scripts with values as positional arguments.
// Output streams into heartbeat details; cancelling the activity stops the command on the host.
// Secrets (the private key, environment values) never reach heartbeats, logs or failures.
import { ApplicationFailure, CancelledFailure, Context, heartbeat, log } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import {
  connect,
  describeCommand,
  commandName,
  FINGERPRINT,
  lastLines,
  SshError,
  type CommandSpec,
  type SshConnection,
} from '../../integrations/ssh';

export interface SshActivityDeps {
  /**
   * The private key text. The worker loads it from its key files (OPSFLOW_SSH_KEYS); `keyName` is
   * the name an input gives in `key`, if any. It is read per connection and never stored here.
   */
  privateKey: (keyName?: string) => string | Promise<string>;
  /** Resolves secret references (`env:NAME`, `file:/path`) given in `secretEnv`. */
  resolveSecret?: (ref: string) => string | Promise<string>;
  /** TCP connect, handshake and login, per attempt (default 20 s). */
  readyTimeoutMs?: number;
  /** waitForSsh's pause between attempts: first, and the longest (default 1 s doubling to 10 s). */
  retryBackoffMs?: { first: number; max: number };
  /** How often a running command heartbeats its progress (default every 2 s). */
  heartbeatIntervalMs?: number;
  /** How much of the end of stdout and stderr results and failures carry (default 8 KiB each). */
  resultTailBytes?: number;
}

export interface SshHostInput {
  host: string;
  port?: number;
  user: string;
  /** Name of the worker's key to log in with; the deps decide what no name means. */
  key?: string;
}

export interface WaitForSshInput extends SshHostInput {
  /** When known (from the spec), the host key must be one of these. */
  expectedFingerprints?: string[];
  /** How long to keep trying, in all. */
  timeoutMs: number;
}

export interface WaitForSshResult {
  /** The host key's SHA256 fingerprint: pin it for the rest of the run. */
  fingerprint: string;
  attempts: number;
}

export interface RunRemoteCommandInput extends SshHostInput {
  /** Host key fingerprints to accept (the one pinned on first contact, or the spec's). */
  fingerprints: string[];
  /** The command, one argv element per word. Either this or `script`. */
  argv?: string[];
  /** A fixed script run by `bash -s`; values go in `args` ($1, $2, ...), never into its text. */
  script?: string;
  args?: string[];
  /** What to call a script in descriptions and failures (default "script"). */
  label?: string;
  /** Text for the command's stdin. */
  stdin?: string;
  /** Environment values; never shown anywhere (redacted in descriptions and output). */
  env?: Record<string, string>;
  /** Environment values given as secret references, resolved by the worker. */
  secretEnv?: Record<string, string>;
  /** Stops the command after this long (RemoteCommandTimedOut, retryable). */
  timeoutMs?: number;
  /** Exit codes that count as success (default [0]). */
  okExitCodes?: number[];
}

export interface RunRemoteCommandResult {
  exitCode: number;
  stdoutTail: string;
  stderrTail: string;
  stdoutBytes: number;
  stderrBytes: number;
  durationMs: number;
}

export interface UploadFile {
  /** Absolute path on the host; missing parent directories are created. */
  path: string;
  content: string;
  /** How `content` is written in the input (default utf8; base64 for binary files). */
  encoding?: 'utf8' | 'base64';
  /** Permission bits (default 0o644). */
  mode?: number;
}

export interface UploadFilesInput extends SshHostInput {
  fingerprints: string[];
  files: UploadFile[];
}

export interface WriteEnvFileInput extends SshHostInput {
  fingerprints: string[];
  /** Absolute path of the file on the host, such as /opt/app/.env; written with mode 0600. */
  path: string;
  /** Plain values, written as they are. */
  values: Record<string, string>;
  /** Secret references (`env:NAME`, `file:/path`), resolved here on the worker, never in history. */
  secrets?: Record<string, string>;
}

export interface UploadFilesResult {
  files: { path: string; bytes: number }[];
}

/** Heartbeat details of a running command: what runs, how far, the last lines. Nothing secret. */
export interface CommandProgress {
  host: string;
  command: string;
  elapsedMs: number;
  stdoutBytes: number;
  stderrBytes: number;
  lastLines: string[];
}

const HEARTBEAT_LINES = 5;
const FAILURE_STDERR_CHARS = 2000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(message: string): ApplicationFailure {
  return failure(STEP_FAILURE.InvalidSshInput, message);
}

function hostLabel(input: SshHostInput): string {
  return `${input.host}:${input.port ?? 22}`;
}

/** Replaces every secret value (of 4 characters or more) in a text. */
function redactor(values: string[]): (text: string) => string {
  const secrets = values.filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return (text) => text;
  return (text) => secrets.reduce((t, secret) => t.split(secret).join('[redacted]'), text);
}

function checkFingerprints(fingerprints: unknown, field: string, required: boolean): string[] | undefined {
  if (fingerprints === undefined || (Array.isArray(fingerprints) && fingerprints.length === 0)) {
    if (required) throw invalid(`${field} must list the host key fingerprint(s) to accept (pin the one waitForSsh returned)`);
    return undefined;
  }
  if (!Array.isArray(fingerprints) || !fingerprints.every((f) => typeof f === 'string' && FINGERPRINT.test(f))) {
    throw invalid(`${field} must be OpenSSH SHA256 fingerprints (SHA256:<43 base64 characters>)`);
  }
  return fingerprints as string[];
}

/** When the activity was cancelled, the cancellation is what leaves it, whatever the body threw. */
function cancellation(): CancelledFailure | undefined {
  const signal = Context.current().cancellationSignal;
  if (!signal.aborted) return undefined;
  return signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure(String(signal.reason ?? 'CANCELLED'));
}

/** How an SSH error leaves an activity: retryable when the host may yet answer, final when not. */
export function toSshFailure(err: unknown, redact: (text: string) => string = (t) => t): unknown {
  const cancelled = cancellation();
  if (cancelled) return cancelled;
  if (!(err instanceof SshError)) return err;
  const message = redact(err.message);
  switch (err.kind) {
    case 'host-key':
      return failure(STEP_FAILURE.SshHostKeyMismatch, message);
    case 'authentication':
      return failure(STEP_FAILURE.SshAuthenticationFailed, message);
    case 'invalid':
      return invalid(message);
    case 'command-timeout':
      return failure(STEP_FAILURE.RemoteCommandTimedOut, message, { retryable: true });
    case 'sftp': {
      // SFTP status 2 (no such file) and 3 (permission denied) will not change by retrying.
      const code = (err.cause as { code?: unknown } | undefined)?.code;
      return code === 2 || code === 3
        ? failure(STEP_FAILURE.SftpFailed, message)
        : failure(STEP_FAILURE.SftpFailed, message, { retryable: true });
    }
    default:
      return failure(STEP_FAILURE.SshConnectionFailed, message, { retryable: true });
  }
}

export function createSshActivities(deps: SshActivityDeps) {
  const readyTimeoutMs = deps.readyTimeoutMs ?? 20_000;
  const backoff = deps.retryBackoffMs ?? { first: 1000, max: 10_000 };
  const heartbeatEvery = deps.heartbeatIntervalMs ?? 2000;
  const resultTail = deps.resultTailBytes ?? 8 * 1024;

  async function privateKey(input: SshHostInput): Promise<string> {
    try {
      return await deps.privateKey(input.key);
    } catch (err) {
      // The loader's message names a key or a file, never the key's content.
      throw failure(
        STEP_FAILURE.SshKeyUnavailable,
        `SSH key ${input.key ?? '(default)'} is not available to this worker: ${(err as Error).message}`,
      );
    }
  }

  /** Connects with the host key pinned, runs the body, always closes. */
  async function withConnection<T>(
    input: SshHostInput & { fingerprints: string[] },
    body: (conn: SshConnection) => Promise<T>,
    redact?: (text: string) => string,
  ): Promise<T> {
    const pinned = checkFingerprints(input.fingerprints, 'fingerprints', true)!;
    let conn: SshConnection | undefined;
    try {
      conn = await connect(
        { host: input.host, port: input.port ?? 22, username: input.user, privateKey: await privateKey(input), hostKey: { pinned } },
        { readyTimeoutMs, signal: Context.current().cancellationSignal },
      );
      return await body(conn);
    } catch (err) {
      throw toSshFailure(err, redact);
    } finally {
      // Ending the connection also ends any command still running there (its supervisor sees it).
      conn?.close();
    }
  }

  return {
    /**
     * Tries to log in until it works or `timeoutMs` has passed, heartbeating each attempt; returns
     * the host key fingerprint to pin. A host key that does not match `expectedFingerprints` fails
     * at once (SshHostKeyMismatch); running out of time fails with SshUnreachable. Neither is
     * retried: the workflow decides.
     */
    async waitForSsh(input: WaitForSshInput): Promise<WaitForSshResult> {
      const expected = checkFingerprints(input.expectedFingerprints, 'expectedFingerprints', false);
      const ctx = Context.current();
      const where = hostLabel(input);
      const key = await privateKey(input);
      const started = Date.now();
      const deadline = started + input.timeoutMs;
      let delay = backoff.first;
      let lastError = 'none yet';
      let details = {};
      // A connect attempt can take up to readyTimeoutMs: keep heartbeating through it.
      const ticker = setInterval(() => heartbeat(details), heartbeatEvery);
      try {
        for (let attempt = 1; ; attempt++) {
          details = { waitingFor: `ssh ${input.user}@${where}`, attempt, lastError };
          heartbeat(details);
          try {
            const conn = await connect(
              { host: input.host, port: input.port ?? 22, username: input.user, privateKey: key, hostKey: { pinned: expected } },
              { readyTimeoutMs: Math.max(1000, Math.min(readyTimeoutMs, deadline - Date.now())), signal: ctx.cancellationSignal },
            );
            conn.close();
            log.info('SSH is up', { host: where, fingerprint: conn.fingerprint, attempts: attempt, ms: Date.now() - started });
            return { fingerprint: conn.fingerprint, attempts: attempt };
          } catch (err) {
            const failure = toSshFailure(err);
            if (failure instanceof CancelledFailure) throw failure;
            if (err instanceof SshError && (err.kind === 'host-key' || err.kind === 'invalid')) throw failure;
            lastError = err instanceof Error ? err.message : String(err);
          }
          const remaining = deadline - Date.now();
          if (remaining <= 0) {
            throw failure(
              STEP_FAILURE.SshUnreachable,
              `SSH on ${where} did not answer within ${input.timeoutMs} ms (${attempt} attempts); last error: ${lastError}`,
            );
          }
          await ctx.sleep(Math.min(delay, remaining));
          delay = Math.min(backoff.max, delay * 2);
        }
      } finally {
        clearInterval(ticker);
      }
    },

    /**
     * Runs one command. Exit codes other than `okExitCodes` fail with RemoteCommandFailed (not
     * retryable: the same command would fail the same way), naming the command's first word, the
     * exit code and the end of stderr. Connection trouble is retryable (SshConnectionFailed).
     */
    async runRemoteCommand(input: RunRemoteCommandInput): Promise<RunRemoteCommandResult> {
      if ((input.argv === undefined) === (input.script === undefined)) throw invalid('give either argv or script, not both or neither');
      if (
        input.argv !== undefined &&
        (!Array.isArray(input.argv) || input.argv.length === 0 || !input.argv.every((w) => typeof w === 'string'))
      )
        throw invalid('argv must be a non-empty list of strings');
      if (input.args !== undefined && input.script === undefined) throw invalid('args go with script; with argv, put them in argv');
      const spec: CommandSpec = input.argv !== undefined ? { argv: input.argv } : { script: input.script!, args: input.args ?? [] };

      const env: Record<string, string> = { ...(input.env ?? {}) };
      for (const [name, ref] of Object.entries(input.secretEnv ?? {})) {
        if (!ENV_NAME.test(name)) throw invalid(`secretEnv name ${JSON.stringify(name)} is not a valid shell name`);
        if (name in env) throw invalid(`${name} is in both env and secretEnv`);
        if (!deps.resolveSecret) throw invalid(`secretEnv ${name} needs a secret resolver, and this worker has none`);
        try {
          env[name] = await deps.resolveSecret(ref);
        } catch (err) {
          throw failure(STEP_FAILURE.SecretUnavailable, `secret for ${name} (${ref}) cannot be resolved: ${(err as Error).message}`);
        }
      }
      const redact = redactor(Object.values(env));
      const where = hostLabel(input);
      const description = describeCommand({ ...spec, label: input.label, env });
      const name = commandName({ argv: input.argv, label: input.label });
      const okCodes = input.okExitCodes ?? [0];

      return withConnection(
        input,
        async (conn) => {
          const started = Date.now();
          let recent = '';
          let stdoutBytes = 0;
          let stderrBytes = 0;
          const progress = (): CommandProgress => ({
            host: where,
            command: description,
            elapsedMs: Date.now() - started,
            stdoutBytes,
            stderrBytes,
            lastLines: lastLines(redact(recent), HEARTBEAT_LINES),
          });
          heartbeat(progress());
          const ticker = setInterval(() => heartbeat(progress()), heartbeatEvery);
          try {
            const result = await conn.run(spec, {
              stdin: input.stdin,
              env,
              timeoutMs: input.timeoutMs,
              signal: Context.current().cancellationSignal,
              tailBytes: resultTail,
              onOutput: (chunk, stream) => {
                if (stream === 'stdout') stdoutBytes += chunk.length;
                else stderrBytes += chunk.length;
                recent = (recent + chunk.toString('utf8')).slice(-4096);
              },
            });
            const outcome = {
              exitCode: result.exitCode ?? -1,
              stdoutTail: redact(result.stdoutTail),
              stderrTail: redact(result.stderrTail),
              stdoutBytes: result.stdoutBytes,
              stderrBytes: result.stderrBytes,
              durationMs: result.durationMs,
            };
            log.info('remote command finished', {
              host: where,
              command: description,
              exitCode: result.exitCode,
              signal: result.signal,
              ms: result.durationMs,
            });
            if (result.exitCode === null || !okCodes.includes(result.exitCode)) {
              const how =
                result.exitCode === null ? `was killed by ${result.signal ?? 'an unknown signal'}` : `exited with code ${result.exitCode}`;
              const stderr = outcome.stderrTail.trim().slice(-FAILURE_STDERR_CHARS);
              throw failure(STEP_FAILURE.RemoteCommandFailed, `${name} ${how} on ${where}${stderr ? `: ${stderr}` : ' (no stderr)'}`, {
                details: [{ ...outcome, exitCode: result.exitCode, signal: result.signal, command: description }],
              });
            }
            return outcome;
          } finally {
            clearInterval(ticker);
          }
        },
        redact,
      );
    },

    /** Writes files over SFTP (each replaced atomically, parents created), heartbeating per file. */
    async uploadFiles(input: UploadFilesInput): Promise<UploadFilesResult> {
      if (!Array.isArray(input.files)) throw invalid('files must be a list');
      const contents = input.files.map((file, i) => {
        if (typeof file.path !== 'string' || !file.path.startsWith('/') || file.path.split('/').includes('..'))
          throw invalid(`files[${i}].path must be an absolute path without ..`);
        if (typeof file.content !== 'string') throw invalid(`files[${i}].content must be a string`);
        if (file.mode !== undefined && (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o7777))
          throw invalid(`files[${i}].mode must be permission bits such as 0o644 (420)`);
        return file.encoding === 'base64' ? Buffer.from(file.content, 'base64') : Buffer.from(file.content, 'utf8');
      });
      const where = hostLabel(input);
      return withConnection(input, async (conn) => {
        const done: { path: string; bytes: number }[] = [];
        const madeDirs = new Set<string>();
        for (const [i, file] of input.files.entries()) {
          const cancelled = cancellation();
          if (cancelled) throw cancelled;
          heartbeat({ host: where, uploading: file.path, file: i + 1, of: input.files.length });
          const dir = file.path.slice(0, file.path.lastIndexOf('/')) || '/';
          if (!madeDirs.has(dir)) {
            await conn.mkdirp(dir);
            madeDirs.add(dir);
          }
          const { bytes } = await conn.putFile(file.path, contents[i]!, { mode: file.mode ?? 0o644 });
          done.push({ path: file.path, bytes });
        }
        log.info('files uploaded', { host: where, files: done.length, bytes: done.reduce((n, f) => n + f.bytes, 0) });
        return { files: done };
      });
    },

    /**
     * Writes a dotenv file (docker compose's `.env`) over SFTP, mode 0600, with the secrets
     * resolved on the worker: the workflow only ever holds their references. Values are written
     * single-quoted, which compose reads literally (no interpolation).
     */
    async writeEnvFile(input: WriteEnvFileInput): Promise<{ path: string; names: string[] }> {
      if (typeof input.path !== 'string' || !input.path.startsWith('/') || input.path.split('/').includes('..'))
        throw invalid('path must be an absolute path without ..');
      const entries: [string, string][] = Object.entries(input.values ?? {});
      for (const [name, ref] of Object.entries(input.secrets ?? {})) {
        if (name in (input.values ?? {})) throw invalid(`${name} is both a value and a secret`);
        if (!deps.resolveSecret) throw invalid(`secret ${name} needs a secret resolver, and this worker has none`);
        try {
          entries.push([name, await deps.resolveSecret(ref)]);
        } catch (err) {
          throw failure(STEP_FAILURE.SecretUnavailable, `secret for ${name} (${ref}) cannot be resolved: ${(err as Error).message}`);
        }
      }
      const secretValues = entries.slice(Object.keys(input.values ?? {}).length).map(([, v]) => v);
      const redact = redactor(secretValues);
      const lines = entries.map(([name, value]) => {
        if (!ENV_NAME.test(name)) throw invalid(`${name} is not a valid environment variable name`);
        if (/['\n\r]/.test(value))
          throw invalid(`the value of ${name} holds a quote or a line break, which a compose .env file cannot carry literally`);
        return `${name}='${value}'\n`;
      });
      const dir = input.path.slice(0, input.path.lastIndexOf('/')) || '/';
      await withConnection(
        input,
        async (conn) => {
          await conn.mkdirp(dir);
          await conn.putFile(input.path, Buffer.from(lines.join(''), 'utf8'), { mode: 0o600 });
        },
        redact,
      );
      log.info('env file written', { host: hostLabel(input), path: input.path, names: entries.length });
      return { path: input.path, names: entries.map(([name]) => name) };
    },
  };
}

export type SshActivities = ReturnType<typeof createSshActivities>;
