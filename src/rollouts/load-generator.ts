// A load generator for rollout tests, benchmarks and the demo: GET requests to one loopback URL,
// bounded in count and in time, each on a fresh connection (so a proxy routes each afresh), every
// answer counted by body and every failure kept. Loopback only: it must never load someone else's
// server by a typo.
import http from 'node:http';
import { isLoopbackHost } from '../specs/endpoint-url';

export interface LoadTally {
  /** 200 answers by body (the test servers answer with their name). */
  byBody: Record<string, number>;
  /** Each failed request: `HTTP 502`, or the connection error. */
  failures: string[];
  done: number;
  /** Why it stopped: all requests answered, `enough()` said so, or the time bound. */
  stoppedBy: 'count' | 'enough' | 'deadline';
}

export interface LoadOptions {
  /** At most this many requests in all. */
  total: number;
  /** Requests in flight at once (default 1: one after another). */
  concurrency?: number;
  /** Stop starting requests after this long (default 60 s). */
  deadlineMs?: number;
  /** Per request (default 5 s). */
  requestTimeoutMs?: number;
  /** Called after each answer with the count so far: a gate for a test, not awaited. */
  onAnswer?: (done: number) => void;
  /** Stop early once this returns true. */
  enough?: () => boolean;
}

const MAX_TOTAL = 1_000_000;
const MAX_CONCURRENCY = 256;

export function checkLoadTarget(url: string): URL {
  const target = new URL(url);
  if (target.protocol !== 'http:') throw new Error(`the load generator speaks http only, not ${target.protocol}`);
  if (!isLoopbackHost(target.hostname))
    throw new Error(`the load generator sends to loopback only (127.0.0.0/8, ::1, localhost), not ${target.hostname}`);
  return target;
}

function get(target: URL, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(target, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body = (body + chunk).slice(0, 1024)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export async function generateLoad(url: string, options: LoadOptions): Promise<LoadTally> {
  const target = checkLoadTarget(url);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(options.total) || options.total < 1 || options.total > MAX_TOTAL)
    throw new Error(`total must be a whole number from 1 to ${MAX_TOTAL}, got ${options.total}`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    throw new Error(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`);
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const tally: LoadTally = { byBody: {}, failures: [], done: 0, stoppedBy: 'count' };
  let started = 0;
  const loop = async () => {
    while (started < options.total) {
      if (options.enough?.()) return void (tally.stoppedBy = 'enough');
      if (Date.now() > deadline) return void (tally.stoppedBy = 'deadline');
      started++;
      try {
        const { status, body } = await get(target, requestTimeoutMs);
        if (status === 200) tally.byBody[body] = (tally.byBody[body] ?? 0) + 1;
        else tally.failures.push(`HTTP ${status}`);
      } catch (err) {
        tally.failures.push((err as Error).message);
      }
      tally.done++;
      options.onAnswer?.(tally.done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return tally;
}
