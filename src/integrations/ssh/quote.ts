// The one way a remote command line is built: every argv element POSIX-quoted on its own, so no
// value is ever interpreted by the remote shell (`$(...)`, backticks, globs, newlines, quotes).
// Nothing else in opsflow pastes text into a command line.

/** One word, single-quoted for a POSIX shell: `it's` becomes `'it'\''s'`. */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error('a command argument cannot contain a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line that makes the remote shell run exactly `argv`, each element one word. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('a command needs at least one word');
  return argv.map(quoteArg).join(' ');
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * A short human description of a command for logs, heartbeats and failure messages: words as a
 * shell would show them, environment values never shown (they may be secrets), long commands cut.
 */
export function describeCommand(
  command: { argv?: readonly string[]; script?: string; label?: string; env?: Record<string, string> },
  maxLength = 200,
): string {
  const env = Object.keys(command.env ?? {}).map((name) => `${name}=[redacted]`);
  const words = command.argv
    ? command.argv.map((w) => (SAFE_WORD.test(w) ? w : quoteArg(w).replace(/\n/g, '\\n')))
    : [`bash -s (${command.label ?? 'script'})`];
  const text = [...env, ...words].join(' ');
  return text.length > maxLength ? text.slice(0, maxLength - 1) + '…' : text;
}

/** The command's first word, as failure messages name it. */
export function commandName(command: { argv?: readonly string[]; label?: string }): string {
  if (command.argv?.[0] !== undefined) return command.argv[0];
  return command.label ?? 'script';
}
