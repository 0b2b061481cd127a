// Weights applied by nginx: the upstream file is rewritten, `nginx -t` checks the whole
// configuration with it, and only then `nginx -s reload` (graceful: requests in flight finish on
// the old workers). A file nginx refuses is taken back at once, so the old split keeps serving;
// the split before the last change is kept beside the file as `.previous` for rollback, and every
// split put in place is one line of `.journal` (the router's own record of what it applied).
import type { ConfigHost } from './config-host';
import { renderUpstream, weightsInUpstream, type UpstreamLayout } from './nginx-config';
import { TrafficWeightsError, type TrafficRouter, type Weights } from './router';

export interface NginxRouterOptions {
  host: ConfigHost;
  layout: UpstreamLayout;
  /** The upstream file, which nginx's configuration includes. */
  upstreamFile: string;
  /** The nginx program (default `nginx`). */
  nginx?: string;
  /** Arguments that select this nginx instance, such as ['-c', '/etc/nginx/nginx.conf']; added to -t and -s reload. */
  instanceArgs?: readonly string[];
  /**
   * nginx's pid file (Linux hosts): when given, a change returns only once the master runs a worker
   * started by this reload, i.e. once the new split is live (`nginx -s reload` only sends a signal).
   */
  confirmReload?: { pidFile: string; timeoutMs?: number };
}

/** nginx refused the new configuration (`nginx -t`); its own words are in the message. */
export class NginxConfigRefusedError extends Error {
  constructor(readonly output: string) {
    super(`nginx -t refused the new upstream file, so the previous one was put back and keeps serving: ${output.trim()}`);
    this.name = 'NginxConfigRefusedError';
  }
}

export class NginxReloadError extends Error {
  constructor(readonly output: string) {
    super(`nginx -s reload failed (is this nginx running?): ${output.trim()}`);
    this.name = 'NginxReloadError';
  }
}

export class NginxReloadNotConfirmedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NginxReloadNotConfirmedError';
  }
}

export class NginxRouter implements TrafficRouter {
  private readonly nginx: string;
  private readonly instanceArgs: readonly string[];

  constructor(private readonly options: NginxRouterOptions) {
    this.nginx = options.nginx ?? 'nginx';
    this.instanceArgs = options.instanceArgs ?? [];
  }

  private get previousFile(): string {
    return `${this.options.upstreamFile}.previous`;
  }

  get journalFile(): string {
    return `${this.options.upstreamFile}.journal`;
  }

  async setWeights(weights: Weights): Promise<void> {
    const text = renderUpstream(this.options.layout, weights);
    const { host, upstreamFile } = this.options;
    const old = await host.read(upstreamFile);
    if (old === text) {
      // Already in place (a retried activity, or one killed between writing and reloading): nginx -t
      // again (the killed attempt may not have got that far), the .previous it may not have saved,
      // the journal line if it is missing, and a reload (idempotent).
      await this.check(old, old);
      await this.keepPending();
      await this.journal(text);
      return this.reload();
    }
    // The split being replaced is noted first, so an attempt killed after the install still saves
    // it as .previous when retried (else a rollback would go back two splits).
    await host.write(this.pendingFile, old ?? '');
    try {
      await this.install(text, old);
    } catch (err) {
      await host.write(this.pendingFile, '');
      throw err;
    }
    await this.keepPending();
    await this.journal(text);
    await this.reload();
  }

  /** The split noted before the last install becomes .previous (once: the note is then cleared). */
  private async keepPending(): Promise<void> {
    const { host } = this.options;
    const pending = await host.read(this.pendingFile);
    if (!pending) return;
    await host.write(this.previousFile, pending);
    await host.write(this.pendingFile, '');
  }

  private get pendingFile(): string {
    return `${this.options.upstreamFile}.replacing`;
  }

  /** The splits this router put in place, oldest first, as the journal records them. */
  async applied(): Promise<JournalEntry[]> {
    return parseJournal((await this.options.host.read(this.journalFile)) ?? '');
  }

  /** One journal line per split put in place: a retry that finds its split in place adds none. */
  private async journal(text: string): Promise<void> {
    const { host } = this.options;
    const entry = journalLine(text);
    const lines = ((await host.read(this.journalFile)) ?? '').split('\n').filter(Boolean);
    if (lines.length && sameEntry(lines.at(-1)!, entry)) return;
    // Bounded: the newest JOURNAL_LINES changes are kept.
    await host.write(this.journalFile, [...lines, entry].slice(-JOURNAL_LINES).join('\n') + '\n');
  }

  async currentWeights(): Promise<Weights | undefined> {
    const text = await this.options.host.read(this.options.upstreamFile);
    return text === undefined ? undefined : weightsInUpstream(text);
  }

  async rollback(): Promise<Weights> {
    const { host, upstreamFile } = this.options;
    const previous = await host.read(this.previousFile);
    const weights = previous === undefined ? undefined : weightsInUpstream(previous);
    if (previous === undefined || !weights)
      throw new TrafficWeightsError(
        `there is no previous split to roll back to (${this.previousFile} is missing or not written by opsflow)`,
      );
    const current = await host.read(upstreamFile);
    await this.install(previous, current);
    // The undone split becomes the previous one, so a second rollback undoes the first.
    if (current !== undefined) await host.write(this.previousFile, current);
    await this.journal(previous);
    await this.reload();
    return weights;
  }

  /** Puts `text` in place if nginx accepts the whole configuration with it; else puts `old` back. */
  private async install(text: string, old: string | undefined): Promise<void> {
    await this.options.host.write(this.options.upstreamFile, text);
    await this.check(text, old);
  }

  /** `nginx -t` with `text` in place; if refused, `old` goes back (or `text` is left, when it is old). */
  private async check(text: string, old: string | undefined): Promise<void> {
    const { host, upstreamFile } = this.options;
    const check = await host.run(this.nginx, ['-t', '-q', ...this.instanceArgs]);
    if (check.code === 0) return;
    if (old !== undefined && old !== text) await host.write(upstreamFile, old);
    throw new NginxConfigRefusedError(check.stderr || check.stdout);
  }

  private async reload(): Promise<void> {
    const before = this.options.confirmReload ? await this.workers() : [];
    const result = await this.options.host.run(this.nginx, ['-s', 'reload', ...this.instanceArgs]);
    if (result.code !== 0) throw new NginxReloadError(result.stderr || result.stdout);
    if (this.options.confirmReload) await this.newWorkerRunning(before, this.options.confirmReload.timeoutMs ?? 10_000);
  }

  /** The master's worker pids, from /proc (its children). */
  private async workers(): Promise<number[]> {
    const { host, confirmReload } = this.options;
    const master = (await host.read(confirmReload!.pidFile))?.trim();
    if (!master || !/^\d+$/.test(master))
      throw new NginxReloadNotConfirmedError(`nginx's pid file ${confirmReload!.pidFile} is missing or holds no pid (is nginx running?)`);
    const children = await host.read(`/proc/${master}/task/${master}/children`);
    return (children ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  }

  // Polling a state on the host, not a workflow timer: this runs inside an activity.
  private async newWorkerRunning(before: readonly number[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await this.workers();
      if (now.some((pid) => !before.includes(pid))) return;
      if (Date.now() > deadline)
        throw new NginxReloadNotConfirmedError(
          `nginx started no new worker within ${timeoutMs} ms of the reload (workers still ${now.join(', ') || 'none'}); its error log says why`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A journal line: when, the split, and the upstream's server lines (which hosts got which weight). */
export interface JournalEntry {
  at: string;
  weights: Weights | undefined;
  servers: string;
}

const JOURNAL_LINES = 500;

/** What a journal line records of an upstream file: its split and its server lines (which host got which weight). */
export function splitRecord(text: string): Omit<JournalEntry, 'at'> {
  const servers = text
    .split('\n')
    .filter((l) => l.trim().startsWith('server '))
    .map((l) => l.trim().replace(/^server |;$/g, ''))
    .join(', ');
  return { weights: weightsInUpstream(text), servers };
}

function journalLine(text: string): string {
  const { weights, servers } = splitRecord(text);
  return `${new Date().toISOString()} ${JSON.stringify(weights)} ${servers}`;
}

/** A journal file's entries, oldest first. */
export function parseJournal(text: string): JournalEntry[] {
  return text.split('\n').filter(Boolean).map(parseJournalLine);
}

function parseJournalLine(line: string): JournalEntry {
  const [at, weights, ...servers] = line.split(' ');
  let parsed: Weights | undefined;
  try {
    parsed = JSON.parse(weights ?? '') as Weights;
  } catch {
    parsed = undefined;
  }
  return { at: at ?? '', weights: parsed, servers: servers.join(' ') };
}

/** The same split over the same servers, whenever it was written. */
function sameEntry(a: string, b: string): boolean {
  return a.slice(a.indexOf(' ')) === b.slice(b.indexOf(' '));
}
