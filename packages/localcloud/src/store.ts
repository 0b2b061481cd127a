// The local cloud's state on disk: loaded at start, written atomically after every change
// (batched within a few milliseconds), so a restart loses nothing.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { emptyState, type CloudState } from './state';

export class Store {
  state: CloudState;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.state = this.load();
  }

  private get file(): string {
    return path.join(this.dir, 'state.json');
  }

  private load(): CloudState {
    try {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as CloudState;
      // State written by an older version may lack newer collections: start those empty.
      const empty = emptyState();
      return { ...empty, ...saved, internal: { ...empty.internal, ...saved.internal }, linode: { ...empty.linode, ...saved.linode } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new Error(`local cloud state ${this.file} is unreadable: ${(err as Error).message}`);
    }
  }

  nextId(): number {
    return this.state.nextId++;
  }

  /** Schedule a write; changes made in the same tick are written together. */
  changed(): void {
    this.saveTimer ??= setTimeout(() => this.flush(), 5);
  }

  flush(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  reset(): void {
    this.state = emptyState();
    this.flush();
  }
}
