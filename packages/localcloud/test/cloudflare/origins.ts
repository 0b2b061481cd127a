// Real origin servers for edge tests: each answers with its name, counts what it served, and its
// health check (GET /health) can be turned to fail while it keeps serving everything else.
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Origin {
  name: string;
  address: string;
  port: number;
  /** Requests served, health checks aside. */
  served: number;
  /** What GET /health answers (200 unless a test says otherwise). */
  healthStatus: number;
  stop(): Promise<void>;
}

export async function startOrigin(name: string, address: string): Promise<Origin> {
  let server: Server | undefined;
  const origin: Origin = {
    name,
    address,
    port: 0,
    served: 0,
    healthStatus: 200,
    stop: async () => {
      if (!server) return;
      const closing = server;
      server = undefined;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
  server = createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(origin.healthStatus).end();
    origin.served++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  });
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, address, () => resolve());
  });
  origin.port = (server.address() as AddressInfo).port;
  return origin;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One GET through the edge for `host`: its status and body. */
export function viaEdge(edgeUrl: string, host: string, path = '/'): Promise<{ status: number; body: string }> {
  const url = new URL(edgeUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { host }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `n` GETs through the edge, 16 at a time: how many each body (origin name) or status came back. */
export async function sendMany(edgeUrl: string, host: string, n: number): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      sent++;
      const { status, body } = await viaEdge(edgeUrl, host);
      const key = status === 200 ? body : `status ${status}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return tally;
}

export function closeEdgeClients(): void {
  agent.destroy();
}

/**
 * The range a Binomial(n, p) count falls in but with probability about 6e-7 (mean ± 5 standard
 * deviations): a fair split that lands outside it is a bug, not bad luck.
 */
export function binomialRange(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.floor(n * p - 5 * sd), Math.ceil(n * p + 5 * sd)];
}
