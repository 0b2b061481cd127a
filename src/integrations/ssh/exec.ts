// Running one command over an open connection: stdin in, bounded tails of stdout and stderr out,
// and cancellation (an AbortSignal or a timeout) that stops the command on the host.
import { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { SshError } from './errors';
import { buildRemoteCommand, type CommandSpec } from './remote-command';
import { OutputTail } from './tail';

export type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  /** Sent to the command's stdin, then EOF. Without it the command sees EOF at once. */
  stdin?: Readable | string | Buffer;
  /** Environment for the command: sent over stdin to the supervisor, never on the command line. */
  env?: Record<string, string>;
  /** Stops the command (TERM over the channel, then the channel is closed) after this long. */
  timeoutMs?: number;
  /** Aborting stops the command the same way. */
  signal?: AbortSignal;
  /** Every chunk of output as it arrives. */
  onOutput?: (chunk: Buffer, stream: OutputStream) => void;
  /** How much of the end of each stream to keep (default 64 KiB). */
  tailBytes?: number;
  /** false: send the bare quoted argv, for hosts without bash (no env, no script, weaker cancellation). */
  supervise?: boolean;
}

export interface ExecResult {
  /** The exit status, or null when the command ended by a signal (then `signal` names it). */
  exitCode: number | null;
  /** 'SIGTERM'-style name when the remote process ended by a signal, else null. */
  signal: string | null;
  stdoutTail: string;
  stderrTail: string;
  stdoutBytes: number;
  stderrBytes: number;
  durationMs: number;
}

export interface ExecStream {
  /** The command's stdout, with backpressure: the host's command blocks while it is not read. */
  stdout: Readable;
  /** Settles once stdout has been read to its end and the channel closed. */
  done: Promise<ExecResult>;
  /**
   * Bytes of stdout that have arrived from the host so far, read or not. SSH flow control bounds
   * what arrives ahead of the reader: ssh2's 2 MiB channel buffer plus its 2 MiB window.
   */
  receivedBytes: () => number;
}

export const DEFAULT_TAIL_BYTES = 64 * 1024;

interface Endpoint {
  client: Client;
  host: string;
  port: number;
  /** True once the connection itself has gone. */
  isClosed: () => boolean;
}

interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/**
 * Opens an exec channel. The exit status is listened for inside ssh2's callback, synchronously:
 * a quick command's whole life (reply, output, exit status, close) can arrive in one TCP read,
 * which ssh2 parses in one go, before any promise continuation could attach a listener.
 */
function openExec(endpoint: Endpoint, commandLine: string): Promise<{ channel: ClientChannel; exitStatus: () => ExitStatus | undefined }> {
  return new Promise((resolve, reject) => {
    try {
      endpoint.client.exec(commandLine, (err, channel) => {
        if (err) {
          reject(
            new SshError(
              endpoint.isClosed() ? 'disconnected' : 'channel',
              `${endpoint.host}:${endpoint.port} refused to run a command: ${err.message}`,
              endpoint.host,
              endpoint.port,
              { cause: err },
            ),
          );
          return;
        }
        let exit: ExitStatus | undefined;
        channel.on('exit', (code: number | null, signal?: string) => {
          exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
        });
        channel.on('error', () => {}); // surfaced through 'close' and the connection's own error
        resolve({ channel, exitStatus: () => exit });
      });
    } catch (err) {
      reject(
        new SshError(
          'disconnected',
          `no connection to ${endpoint.host}:${endpoint.port}: ${(err as Error).message}`,
          endpoint.host,
          endpoint.port,
          { cause: err },
        ),
      );
    }
  });
}

/**
 * Sends a signal request. ssh2's own channel.signal() silently does nothing once we have sent EOF
 * on stdin (it checks `writable`), but the protocol allows requests until the channel is closed,
 * so it is sent through the protocol object directly in that state.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internal = channel as unknown as {
    outgoing?: { state?: string; id?: number };
    _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
  };
  const state = internal.outgoing?.state;
  const protocol = internal._client?._protocol;
  if ((state === 'open' || state === 'eof') && typeof internal.outgoing?.id === 'number' && typeof protocol?.signal === 'function') {
    protocol.signal(internal.outgoing.id, name);
  } else {
    channel.signal(name);
  }
}

/** How long stopping a command may wait for the stop command to run before giving up on it. */
const STOP_WAIT_MS = 5000;

/** Runs a helper command on the connection, ignoring its output and outcome; never rejects. */
function runQuietly(endpoint: Endpoint, commandLine: string, waitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      endpoint.client.exec(commandLine, (err, channel) => {
        if (err) return done();
        channel.on('error', () => {});
        channel.on('close', done);
        channel.resume();
        channel.stderr.resume();
        channel.end();
      });
    } catch {
      done();
    }
  });
}

function feedStdin(channel: ClientChannel, preamble: Buffer, stdin: ExecOptions['stdin']): () => void {
  if (preamble.length > 0) channel.write(preamble);
  if (stdin === undefined) {
    channel.end();
    return () => {};
  }
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
    channel.end(stdin);
    return () => {};
  }
  // The caller owns errors of its own stream; a failing source still ends our stdin.
  const onError = () => channel.end();
  stdin.once('error', onError);
  stdin.pipe(channel);
  return () => {
    stdin.removeListener('error', onError);
    stdin.unpipe(channel);
  };
}

/**
 * Starts a command and wires everything except stdout consumption. Returns the channel and a
 * promise of the result, which rejects on timeout, abort or a lost connection.
 */
async function start(endpoint: Endpoint, spec: CommandSpec, options: ExecOptions, stdoutTail: OutputTail | undefined) {
  const { host, port } = endpoint;
  let command;
  try {
    command = buildRemoteCommand(spec, options.env ?? {}, options.supervise ?? true);
  } catch (err) {
    throw new SshError('invalid', (err as Error).message, host, port);
  }
  if (options.signal?.aborted) throw new SshError('aborted', `command on ${host}:${port} aborted before it started`, host, port);
  const started = Date.now();
  const { channel, exitStatus } = await openExec(endpoint, command.commandLine);
  const stderrTail = new OutputTail(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const stdoutCount = stdoutTail ?? new OutputTail(0);
  const stopFeeding = feedStdin(channel, command.preamble, options.stdin);
  channel.stderr.on('data', (chunk: Buffer) => {
    stderrTail.push(chunk);
    options.onOutput?.(chunk, 'stderr');
  });

  let abort: (why: SshError) => void = () => {};
  const result = new Promise<ExecResult>((resolve, reject) => {
    let exit: ExitStatus | undefined;
    let stopped: SshError | undefined;
    let timer: NodeJS.Timeout | undefined;

    const stop = (why: SshError) => {
      if (stopped || exitStatus()) return;
      stopped = why;
      cleanup();
      stopFeeding();
      // TERM for the command (the supervisor stops its whole process group): as a signal request,
      // and, since sshd refuses those for root logins, by name from a second channel; then close.
      // Whatever still runs after that is stopped by the supervisor when the connection ends.
      sendSignal(channel, 'TERM');
      const stopping = command.stopCommandLine ? runQuietly(endpoint, command.stopCommandLine, STOP_WAIT_MS) : Promise.resolve();
      void stopping.then(() => {
        channel.close();
        reject(why);
      });
    };
    abort = stop;
    const onAbort = () =>
      stop(new SshError('aborted', `command on ${host}:${port} aborted; it was stopped`, host, port, { cause: options.signal?.reason }));
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          stop(
            new SshError(
              'command-timeout',
              `command on ${host}:${port} ran longer than ${options.timeoutMs} ms; it was stopped`,
              host,
              port,
            ),
          ),
        options.timeoutMs,
      );
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the channel was being opened: the event has already fired.
    if (options.signal?.aborted) onAbort();

    channel.on('exit', () => (exit = exitStatus()));
    channel.on('close', () => {
      exit = exitStatus();
      cleanup();
      stopFeeding();
      if (stopped) return;
      if (!exit) {
        const lost = endpoint.isClosed();
        reject(
          new SshError(
            lost ? 'disconnected' : 'channel',
            lost
              ? `connection to ${host}:${port} was lost while a command ran`
              : `${host}:${port} closed the command's channel without an exit status`,
            host,
            port,
          ),
        );
        return;
      }
      resolve({
        exitCode: exit.code,
        signal: exit.signal,
        stdoutTail: stdoutTail?.text() ?? '',
        stderrTail: stderrTail.text(),
        stdoutBytes: stdoutCount.total,
        stderrBytes: stderrTail.total,
        durationMs: Date.now() - started,
      });
    });
  });
  return { channel, result, stdoutCount, stop: (why: SshError) => abort(why) };
}

/** Runs a command to its end, keeping only the tails of its output. */
export async function exec(endpoint: Endpoint, spec: CommandSpec, options: ExecOptions = {}): Promise<ExecResult> {
  const stdoutTail = new OutputTail(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const { channel, result } = await start(endpoint, spec, options, stdoutTail);
  channel.on('data', (chunk: Buffer) => {
    stdoutTail.push(chunk);
    options.onOutput?.(chunk, 'stdout');
  });
  return result;
}

/**
 * Runs a command whose stdout is the caller's to read (a dump piped into an upload): nothing of
 * stdout is kept here, and the host's command waits while the caller does not read.
 */
export async function execStream(
  endpoint: Endpoint,
  spec: CommandSpec,
  options: Omit<ExecOptions, 'onOutput'> & { onStderr?: (chunk: Buffer) => void } = {},
): Promise<ExecStream> {
  const { channel, result, stdoutCount, stop } = await start(
    endpoint,
    spec,
    { ...options, onOutput: options.onStderr && ((chunk) => options.onStderr!(chunk)) },
    undefined,
  );
  let ended = false;
  const stdout = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      channel.resume();
    },
  });
  channel.on('data', (chunk: Buffer) => {
    stdoutCount.push(chunk);
    if (stdout.destroyed) return; // the reader went away: drain and drop
    if (!stdout.push(chunk)) channel.pause();
  });
  channel.on('end', () => {
    ended = true;
    stdout.push(null);
  });
  // The reader gave up (its upload failed, say): stop the command rather than leave it blocked.
  stdout.on('close', () => {
    if (ended) return;
    // Drain what is left so the channel can close: `done` then settles, with the exit status if
    // the command had already finished, else with the stop below.
    channel.resume();
    stop(
      new SshError(
        'aborted',
        `the reader of a command's output on ${endpoint.host}:${endpoint.port} went away; the command was stopped`,
        endpoint.host,
        endpoint.port,
      ),
    );
  });
  // A stopped or lost command ends the stream: with the same error as `done` when someone listens
  // for errors on it, else without one (an unheard 'error' would crash the process).
  result.catch((err: unknown) => (stdout.listenerCount('error') > 0 ? stdout.destroy(err as Error) : stdout.destroy()));
  channel.pause();
  return { stdout, done: result, receivedBytes: () => stdoutCount.total + channel.readableLength };
}
