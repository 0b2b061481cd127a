// The failover benchmark's two loads, both on loopback and both stopped by the caller:
//   - a writer, the application writing one row at a time to whichever MariaDB server takes it
//     (a fenced, read-only or stopped one refuses, and the writer tries the other next), each row
//     named so the rows acknowledged can be matched one by one against the rows present later;
//   - a prober, GETs through the local Cloudflare edge in a few loops, each on a fresh connection
//     (no keep-alive: a request is steered afresh, as a new visitor's is), recording when it was
//     sent and which site answered or how it failed.
import { request } from 'node:http';
import { appWrite, type MariadbServer } from '../test/helpers/mariadb-servers';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Writer {
  /** Rows a server acknowledged: note -> when (ms since the epoch). */
  acknowledged: Map<string, number>;
  /** Writes refused or unanswered, with when (ms since the epoch). */
  refusedAt: number[];
  /** Stops after the write in flight; resolves once it ended. */
  stop(): Promise<void>;
}

/** Writes `<tag>-<n>` rows, starting on `first`; `servers` are the two it alternates between on refusal. */
export function startWriter(tag: string, servers: [MariadbServer, MariadbServer], first: MariadbServer, gapMs = 20): Writer {
  const writer: Writer = { acknowledged: new Map(), refusedAt: [], stop: async () => undefined };
  let stopping = false;
  let target = first;
  const done = (async () => {
    for (let n = 0; !stopping; n++) {
      const note = `${tag}-${n}`;
      try {
        await appWrite(target, note);
        writer.acknowledged.set(note, Date.now());
      } catch {
        writer.refusedAt.push(Date.now());
        target = target === servers[0] ? servers[1] : servers[0];
      }
      await pause(gapMs);
    }
  })();
  writer.stop = async () => {
    stopping = true;
    await done;
  };
  return writer;
}

/** The longest time between two acknowledged writes: how long the application could not write. */
export function longestWriteGapMs(writer: Writer): number {
  const times = [...writer.acknowledged.values()].sort((a, b) => a - b);
  return Math.max(0, ...times.slice(1).map((t, i) => t - times[i]!));
}

/** The rows of `tag` a server holds. */
export async function rowsPresent(server: MariadbServer, tag: string): Promise<Set<string>> {
  const out = await server.sql(`SELECT note FROM shop.orders WHERE note LIKE '${tag}-%'`);
  return new Set(out.split('\n').filter(Boolean));
}

export interface Probe {
  /** When it was sent (ms since the epoch). */
  at: number;
  /** When its answer (or failure) came. */
  doneAt: number;
  /** The site that answered with a 2xx. */
  site?: string;
  /** Why it failed: `status 503`, `no answer`. */
  failed?: string;
}

export interface Prober {
  probes: Probe[];
  stop(): Promise<Probe[]>;
}

function probeOnce(edgeUrl: URL, host: string, timeoutMs: number): Promise<Omit<Probe, 'at' | 'doneAt'>> {
  return new Promise((resolve) => {
    const req = request(edgeUrl, { method: 'GET', headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve(
          status >= 200 && status < 300 ? { site: String(res.headers['x-opsflow-site'] ?? 'unnamed') } : { failed: `status ${status}` },
        );
      });
      res.on('error', () => resolve({ failed: 'no answer' }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ failed: 'no answer' }));
    req.end();
  });
}

/** GETs `host` through the edge in `loops` loops, each one request after another `gapMs` apart, until stopped; probes in the order sent. */
export function startProber(edgeUrl: string, host: string, loops = 4, gapMs = 10): Prober {
  const prober: Prober = { probes: [], stop: async () => prober.probes };
  let stopping = false;
  const url = new URL('/', edgeUrl);
  const done = Promise.all(
    Array.from({ length: loops }, async () => {
      while (!stopping) {
        const at = Date.now();
        const answer = await probeOnce(url, host, 5_000);
        prober.probes.push({ at, doneAt: Date.now(), ...answer });
        await pause(gapMs);
      }
    }),
  );
  prober.stop = async () => {
    stopping = true;
    await done;
    return prober.probes.sort((a, b) => a.at - b.at);
  };
  return prober;
}

/** The probes sent in [from, to): answers by site and failures by kind. */
export function tally(
  probes: Probe[],
  from: number,
  to: number,
): { requests: number; bySite: Record<string, number>; failed: Record<string, number> } {
  const out = { requests: 0, bySite: {} as Record<string, number>, failed: {} as Record<string, number> };
  for (const p of probes) {
    if (p.at < from || p.at >= to) continue;
    out.requests++;
    const [tallyOf, key] = p.site !== undefined ? [out.bySite, p.site] : [out.failed, p.failed!];
    tallyOf[key] = (tallyOf[key] ?? 0) + 1;
  }
  return out;
}

/** When the probes began to land only on `site` (every probe sent from then on answered by it), or undefined. */
export function onlyOnSiteSince(probes: Probe[], site: string): number | undefined {
  let since: number | undefined;
  for (const p of probes) {
    if (p.site === site) since ??= p.at;
    else since = undefined;
  }
  return since;
}
