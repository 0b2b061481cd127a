// Tiny HTTP servers that say who they are, and a bounded load generator on loopback that counts
// every answer by body and every failure. One request per connection (no keep-alive), so each
// request is routed afresh by nginx.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NamedServer {
  name: string;
  address: string;
  close(): Promise<void>;
}

export async function startNamedServer(name: string): Promise<NamedServer> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { name, address: `127.0.0.1:${port}`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

export interface Tally {
  byBody: Record<string, number>;
  failures: string[];
  done: number;
}

export function get(port: number, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function record(tally: Tally, result: { status: number; body: string } | Error): void {
  tally.done++;
  if (result instanceof Error) tally.failures.push(result.message);
  else if (result.status !== 200) tally.failures.push(`HTTP ${result.status}`);
  else tally.byBody[result.body] = (tally.byBody[result.body] ?? 0) + 1;
}

/** `count` requests one after another. */
export async function sequential(port: number, count: number): Promise<Tally> {
  const tally: Tally = { byBody: {}, failures: [], done: 0 };
  for (let i = 0; i < count; i++) record(tally, await get(port).catch((e: Error) => e));
  return tally;
}

/**
 * `total` requests from `concurrency` loops; `onDone(n)` is called after each answer so a test can
 * start something at a given count (a gate, not a time; it is not awaited, the load goes on).
 * Bounded by count: it ends when `total` have answered, or sooner once `enough()` says so.
 */
export async function load(port: number, total: number, concurrency: number, onDone: (done: number) => void = () => undefined, enough: () => boolean = () => false): Promise<Tally> {
  const tally: Tally = { byBody: {}, failures: [], done: 0 };
  let started = 0;
  const loop = async () => {
    while (started < total && !enough()) {
      started++;
      record(tally, await get(port).catch((e: Error) => e));
      onDone(tally.done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return tally;
}
