// A TCP path from one vantage point to a server that a test can cut, as a network partition
// cuts it: while cut, every connection through it is reset at once (its own open ones too), while
// other paths to the same server (Cloudflare's monitors, a replica's link) are untouched. Counts
// the connections it refused, so a test knows the cut was met rather than assuming it.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { forwardTcp } from './tcp-forward';

export interface PartitionProxy {
  address: string;
  port: number;
  cut(): void;
  heal(): void;
  /** Connections reset because the path was cut. */
  refused: number;
  /** Connections carried through. */
  carried: number;
  close(): Promise<void>;
}

export async function startPartitionProxy(targetHost: string, targetPort: number): Promise<PartitionProxy> {
  let isCut = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (isCut) {
      proxy.refused++;
      client.resetAndDestroy();
      return;
    }
    proxy.carried++;
    forwardTcp(client, targetHost, targetPort, open);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: PartitionProxy = {
    address: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    refused: 0,
    carried: 0,
    cut: () => {
      isCut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    heal: () => void (isCut = false),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
