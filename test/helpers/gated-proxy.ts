// An HTTP proxy on loopback in front of a real server (Prometheus), whose gate holds requests by
// construction: while armed, a request is parked until released, so an activity that sent it is
// known to be inside its call for as long as the test wants.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatedProxy {
  address: string;
  /** Parks every request from now on until release(). */
  arm(): void;
  /** Resolves once a request is parked. */
  held(): Promise<void>;
  /** Parked requests go through (their clients may be gone) and new ones are no longer parked. */
  release(): void;
  /** Requests parked so far. */
  parkedCount: number;
  close(): Promise<void>;
}

export async function startGatedProxy(target: string): Promise<GatedProxy> {
  const upstream = new URL(target);
  let armed = false;
  let parked: (() => void)[] = [];
  let onPark: (() => void) | undefined;
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
    if (!armed) return forward(req, res);
    proxy.parkedCount++;
    parked.push(() => forward(req, res));
    onPark?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: GatedProxy = {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    parkedCount: 0,
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
