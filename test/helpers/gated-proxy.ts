// An HTTP proxy on loopback in front of a real server (Prometheus), whose gate holds requests by
// construction: while armed, a request is parked until released, so an activity that sent it is
// known to be inside its call for as long as the test wants.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGate } from './gate';

export interface GatedProxy {
  address: string;
  /** Parks every request from now on until release(). */
  arm(): void;
  /** Resolves once a request is parked. */
  held(): Promise<void>;
  /** Parked requests go through (their clients may be gone) and new ones are no longer parked. */
  release(): void;
  /** Requests parked so far. */
  readonly parkedCount: number;
  close(): Promise<void>;
}

export async function startGatedProxy(target: string): Promise<GatedProxy> {
  const upstream = new URL(target);
  const gate = createGate();
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = http.createServer((req, res) => {
    if (!gate.armed) return forward(req, res);
    gate.park(() => forward(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: GatedProxy = {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get parkedCount() {
      return gate.parkedCount;
    },
    arm: () => gate.arm(),
    held: () => gate.held(),
    release: () => gate.release(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
