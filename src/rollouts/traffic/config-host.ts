// The machine a traffic backend's files and commands live on: this one (tests, a worker beside
// nginx) or a droplet over SSH (a later implementation). Commands are a program and its arguments,
// never a shell line, so no value can become a command.
import { execFile } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ConfigHost {
  /** A file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Replaces a file whole (a reader sees the old text or the new, never half). */
  write(path: string, text: string): Promise<void>;
  run(program: string, args: readonly string[]): Promise<CommandResult>;
}

export class LocalConfigHost implements ConfigHost {
  constructor(private readonly commandTimeoutMs = 30_000) {}

  async read(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async write(path: string, text: string): Promise<void> {
    const temporary = `${path}.opsflow-tmp`;
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, path);
  }

  run(program: string, args: readonly string[]): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      execFile(program, [...args], { timeout: this.commandTimeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        if (err && code === -1) return reject(new Error(`${program} did not run: ${err.message}`));
        resolve({ code, stdout, stderr });
      });
    });
  }
}
