// A TCP path to a server whose gate holds connections by construction: while armed, a new
// connection is parked (nothing forwarded) until release(), so the activity that opened it is
// known to be inside its call for as long as the test wants. For servers that speak first
// (MariaDB's greeting) as well as HTTP.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpGate {
  host: string;
  port: number;
  /** Parks every connection from now on until release(). */
  arm(): void;
  /** Resolves once a connection is parked. */
  held(): Promise<void>;
  /** Parked connections go through (their clients may be gone) and new ones are no longer parked. */
  release(): void;
  close(): Promise<void>;
}

export async function startTcpGate(targetHost: string, targetPort: number): Promise<TcpGate> {
  let armed = false;
  let parked: (() => void)[] = [];
  let onPark: (() => void) | undefined;
  const open = new Set<net.Socket>();
  const forward = (client: net.Socket) => {
    if (client.destroyed) return;
    const upstream = net.connect(targetPort, targetHost);
    open.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  };
  const server = net.createServer((client) => {
    if (!armed) return forward(client);
    client.on('error', () => client.destroy());
    open.add(client);
    parked.push(() => forward(client));
    onPark?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    arm: () => void (armed = true),
    held: () =>
      new Promise<void>((resolve) => {
        if (parked.length) return resolve();
        onPark = () => {
          onPark = undefined;
          resolve();
        };
      }),
    release: () => {
      armed = false;
      const waiting = parked;
      parked = [];
      for (const go of waiting) go();
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
