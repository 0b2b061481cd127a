// Tiny HTTP servers that say who they are, and the product's bounded loopback load generator
// (src/rollouts/load-generator.ts) shaped for these tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateLoad, type LoadTally } from '../../../src/rollouts/load-generator';

export interface NamedServer {
  name: string;
  address: string;
  close(): Promise<void>;
}

export async function startNamedServer(name: string): Promise<NamedServer> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Tally = LoadTally;

/** `count` requests one after another. */
export function sequential(port: number, count: number): Promise<Tally> {
  return generateLoad(`http://127.0.0.1:${port}/`, { total: count });
}

/**
 * `total` requests from `concurrency` loops; `onDone(n)` is called after each answer so a test can
 * start something at a given count (a gate, not a time; it is not awaited, the load goes on).
 * Bounded by count: it ends when `total` have answered, or sooner once `enough()` says so.
 */
export function load(
  port: number,
  total: number,
  concurrency: number,
  onDone: (done: number) => void = () => undefined,
  enough: () => boolean = () => false,
): Promise<Tally> {
  return generateLoad(`http://127.0.0.1:${port}/`, { total, concurrency, onAnswer: onDone, enough });
}
