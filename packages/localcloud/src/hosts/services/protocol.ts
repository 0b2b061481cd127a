// The wire between the shims inside a droplet (docker, systemctl, apt-get) and the droplet's
// services manager: JSON lines over the droplet's control socket. One request per connection;
// the manager answers with output lines and then either an exit code or a command for the shim to
// run itself (docker exec), so that the command's stdin, stdout and exit status are the shim's own.

/** First and only line the shim sends. */
export interface ShimRequest {
  tool: string;
  args: string[];
  /** The shim's working directory inside the droplet. */
  cwd: string;
  /** The shim's environment: compose files interpolate it, `docker exec -e NAME` reads it. */
  env: Record<string, string>;
}

/** Lines the manager sends back, in order; `exit` or `exec` ends the conversation. */
export type ShimReply = { stdout: string } | { stderr: string } | { exit: number } | { exec: ExecInstruction };

/** A command the shim runs in its own place in the droplet, with its own stdio. */
export interface ExecInstruction {
  argv: string[];
  /** The whole environment of the command: nothing of the caller's leaks in, as with docker exec. */
  env: Record<string, string>;
  /** Working directory inside the droplet. */
  cwd: string;
  /** Whether the command reads the shim's stdin (`docker exec -i`); otherwise it gets none. */
  stdin: boolean;
}

/** Where a command writes while it runs. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Resolves once the shim has taken what was written (for long outputs such as logs). */
  drain(): Promise<void>;
}

/** Everything a command handler gets: the request, where to write, and whether the caller left. */
export interface Invocation {
  request: ShimRequest;
  io: Output;
  /** Aborted when the shim disconnects (Ctrl-C on `docker logs -f`). */
  signal: AbortSignal;
}

/** What a command ends with: an exit status, or a command for the shim to run. */
export type Outcome = number | { exec: ExecInstruction };

/** A mistake in how a command was called: printed to stderr, then the tool's usage exit status. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const MAX_REQUEST_BYTES = 1024 * 1024;

export function parseRequest(line: string): ShimRequest {
  const value = JSON.parse(line) as Partial<ShimRequest>;
  const strings = (list: unknown): list is string[] => Array.isArray(list) && list.every((item) => typeof item === 'string');
  if (
    typeof value.tool !== 'string' ||
    !strings(value.args) ||
    typeof value.cwd !== 'string' ||
    typeof value.env !== 'object' ||
    value.env === null
  ) {
    throw new Error('malformed request');
  }
  const env: Record<string, string> = {};
  for (const [key, item] of Object.entries(value.env)) if (typeof item === 'string') env[key] = item;
  return { tool: value.tool, args: value.args, cwd: value.cwd.startsWith('/') ? value.cwd : '/', env };
}
