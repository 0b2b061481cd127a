// A TCP path to a server whose gate holds connections by construction: while armed, a new
// connection is parked (nothing forwarded) until release(), so the activity that opened it is
// known to be inside its call for as long as the test wants. For servers that speak first
// (MariaDB's greeting) as well as HTTP.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createGate } from './gate';
import { forwardTcp } from './tcp-forward';

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
  const gate = createGate();
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!gate.armed) return forwardTcp(client, targetHost, targetPort, open);
    client.on('error', () => client.destroy());
    open.add(client);
    gate.park(() => forwardTcp(client, targetHost, targetPort, open));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    arm: () => gate.arm(),
    held: () => gate.held(),
    release: () => gate.release(),
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
