// The local edge: an HTTP proxy on a loopback address of the local cloud's own. A request's Host
// names a load balancer (its hostname); the edge steers it to a pool and an origin (steering.ts)
// and forwards it there, counting what went where so tests can measure traffic moving.
import { randomInt } from 'node:crypto';
import { Agent, createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Store } from '../store';
import { DEFAULT_ORIGIN_PORT, type HealthChecker } from './health';
import { cloudflareState } from './state';
import { choose } from './steering';

export interface EdgeCounts {
  /** Requests forwarded, by pool id. */
  pools: Record<string, number>;
  /** Requests forwarded, by `<pool id>/<origin name>`. */
  origins: Record<string, number>;
  /** Requests sent to a fallback pool because no default pool was healthy. */
  fallback: number;
  /** Requests no load balancer took (unknown host, disabled) or no origin could serve. */
  unrouted: number;
  /** Requests whose origin failed to answer (502). */
  originErrors: number;
}

const emptyCounts = (): EdgeCounts => ({ pools: {}, origins: {}, fallback: 0, unrouted: 0, originErrors: 0 });

/** Uniform in [0, 1) from the CSPRNG: weights are met by chance alone, with nothing to predict. */
const uniform = () => randomInt(2 ** 47) / 2 ** 47;

export class Edge {
  private server: Server | undefined;
  private readonly agent = new Agent({ keepAlive: true });
  private tally = emptyCounts();
  url = '';

  constructor(
    private readonly store: Store,
    private readonly health: HealthChecker,
  ) {}

  async start(host: string): Promise<void> {
    const server = createServer((req, res) => {
      try {
        this.handle(req, res);
      } catch (error) {
        // A bug answers 500 at once rather than leaving the client waiting.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`local edge error: ${(error as Error).message}\n`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    this.server = server;
    this.url = `http://${address}:${port}`;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  counts(): EdgeCounts {
    return structuredClone(this.tally);
  }

  resetCounts(): void {
    this.tally = emptyCounts();
  }

  private refuse(res: ServerResponse, status: number, message: string): void {
    this.tally.unrouted++;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${message}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const state = cloudflareState(this.store);
    const lb = state.loadBalancers.map((l) => l.loadBalancer).find((l) => l.name === host && l.enabled !== false);
    // Cloudflare's own codes: 1001 for a name it serves nothing for, 530 with it.
    if (!lb) return this.refuse(res, 530, `error code: 1001 (no load balancer for ${host || 'this request'})`);
    const choice = choose(lb, state.pools, this.health, uniform);
    if (!choice) return this.refuse(res, 503, 'error code: 1000 (no origin available)');
    const { pool, origin } = choice;
    const originKey = `${pool.id}/${origin.name}`;
    this.tally.pools[pool.id] = (this.tally.pools[pool.id] ?? 0) + 1;
    this.tally.origins[originKey] = (this.tally.origins[originKey] ?? 0) + 1;
    if (choice.fallback) this.tally.fallback++;
    const upstream = forward(
      {
        host: origin.address,
        port: origin.port || DEFAULT_ORIGIN_PORT,
        method: req.method,
        path: req.url,
        agent: this.agent,
        headers: {
          ...req.headers,
          ...(origin.header?.Host?.[0] ? { host: origin.header.Host[0] } : {}),
          'cf-connecting-ip': req.socket.remoteAddress ?? '',
          'x-forwarded-for': req.socket.remoteAddress ?? '',
          'x-forwarded-proto': 'http',
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, {
          ...answer.headers,
          'x-localcloud-pool': pool.name,
          'x-localcloud-origin': origin.name ?? '',
        });
        answer.pipe(res);
      },
    );
    // Cloudflare's 521: the origin refused the connection (or broke it).
    upstream.on('error', () => {
      this.tally.originErrors++;
      if (!res.headersSent) res.writeHead(521, { 'content-type': 'text/plain' }).end('error code: 521 (web server is down)\n');
      else res.destroy();
    });
    req.pipe(upstream);
  }
}
