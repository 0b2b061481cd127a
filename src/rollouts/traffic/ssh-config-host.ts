// A ConfigHost on a droplet, over an open SSH connection: the front host where nginx runs (stacks
// B and C; in the local cloud, Debian's nginx inside the droplet). Commands go as argv, each
// argument quoted by the SSH client, never as a shell line; a file is uploaded beside its target
// and moved over it, so nginx never reads half a file.
import type { SshConnection } from '../../integrations/ssh/connection';
import type { CommandResult, ConfigHost } from './config-host';

// Exit status that means "no such file" (cat's own 1 could be a permission problem).
const MISSING = 44;
const READ_IF_PRESENT = `if [ -e "$1" ]; then exec cat -- "$1"; else exit ${MISSING}; fi`;

export class SshConfigHost implements ConfigHost {
  constructor(
    private readonly connection: SshConnection,
    private readonly commandTimeoutMs = 30_000,
  ) {}

  async read(path: string): Promise<string | undefined> {
    const result = await this.connection.execScript(READ_IF_PRESENT, [path], { timeoutMs: this.commandTimeoutMs, tailBytes: 1024 * 1024 });
    if (result.exitCode === MISSING) return undefined;
    if (result.exitCode !== 0)
      throw new Error(
        `reading ${path} on ${this.connection.host} failed (exit ${result.exitCode ?? result.signal}): ${result.stderrTail.trim()}`,
      );
    if (result.stdoutBytes > Buffer.byteLength(result.stdoutTail))
      throw new Error(`${path} on ${this.connection.host} is larger than 1 MiB; not an upstream file opsflow wrote`);
    return result.stdoutTail;
  }

  async write(path: string, text: string): Promise<void> {
    const temporary = `${path}.opsflow-tmp`;
    await this.connection.putFile(temporary, text, { mode: 0o644 });
    const moved = await this.connection.exec(['mv', '-f', '--', temporary, path], { timeoutMs: this.commandTimeoutMs });
    if (moved.exitCode !== 0)
      throw new Error(`moving ${temporary} over ${path} on ${this.connection.host} failed: ${moved.stderrTail.trim()}`);
  }

  async run(program: string, args: readonly string[]): Promise<CommandResult> {
    const result = await this.connection.exec([program, ...args], { timeoutMs: this.commandTimeoutMs });
    if (result.exitCode === null)
      throw new Error(
        `${program} on ${this.connection.host} ended by ${result.signal ?? 'a signal'} (timeout ${this.commandTimeoutMs} ms?)`,
      );
    return { code: result.exitCode, stdout: result.stdoutTail, stderr: result.stderrTail };
  }
}
