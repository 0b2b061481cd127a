// What an application image becomes in a droplet: a small HTTP server inside the local cloud's own
// process (cheap enough for many droplets), on the droplet's address and each published port.
//   GET /health   200 "ok", or 503 when the tag says `unhealthy`
//   GET /version  the image tag
//   GET /metrics  Prometheus text: requests by status code, errors, the image
//   anything else 200 with a small JSON description
// Misbehaviour comes from the tag (see image.ts); /metrics always answers, so it can be scraped.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImageRef, Misbehaviour } from './image';
import { misbehaviourOf } from './image';
import type { PortBinding } from './state';

export const SLOW_DELAY_MS = 2_000;

export class AppService {
  private readonly servers: http.Server[] = [];
  private readonly behaviour: Misbehaviour;
  private readonly counts = new Map<number, number>();
  private requests = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly address: string,
    private readonly image: ImageRef,
    private readonly name: string,
  ) {
    this.behaviour = misbehaviourOf(image);
  }

  /** Listens on every published TCP port (an unpublished one gets a free port); returns what it bound. */
  async listen(ports: PortBinding[]): Promise<PortBinding[]> {
    const bound: PortBinding[] = [];
    try {
      for (const port of ports) {
        if (port.protocol !== 'tcp') {
          bound.push(port);
          continue;
        }
        const server = http.createServer((request, response) => this.handle(request, response));
        server.keepAliveTimeout = 5_000;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port.published ?? 0, this.address, () => {
            server.off('error', reject);
            resolve();
          });
        });
        this.servers.push(server);
        bound.push({ ...port, published: (server.address() as AddressInfo).port });
      }
    } catch (error) {
      await this.close();
      const failed = ports[bound.length];
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && failed) {
        throw new Error(`Bind for ${this.address}:${failed.published} failed: port is already allocated`);
      }
      throw error;
    }
    return bound;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(
      this.servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Idle keep-alive connections would otherwise hold the port's server open.
            server.closeAllConnections();
          }),
      ),
    );
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      response.on('finish', () => this.count(status));
      response.writeHead(status, { 'content-type': type, 'x-served-by': this.name });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (url.pathname === '/metrics') return send(200, this.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
    const respond = () => {
      const number = ++this.requests;
      // Every other request fails, starting with the second, so a single probe may still pass.
      if (this.behaviour.erroring && number % 2 === 0) return send(500, 'internal server error\n');
      if (url.pathname === '/health' || url.pathname === '/healthz') {
        return this.behaviour.unhealthy ? send(503, 'unhealthy\n') : send(200, 'ok\n');
      }
      if (url.pathname === '/version') return send(200, `${this.image.tag}\n`);
      send(
        200,
        JSON.stringify({ service: this.name, image: this.image.reference, version: this.image.tag, path: url.pathname }) + '\n',
        'application/json',
      );
    };
    if (!this.behaviour.slow) return respond();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      respond();
    }, SLOW_DELAY_MS);
    this.timers.add(timer);
  }

  private count(status: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
  }

  private metrics(): string {
    const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    const codes = [...this.counts.entries()].sort(([a], [b]) => a - b);
    const errors = codes.filter(([code]) => code >= 500).reduce((sum, [, count]) => sum + count, 0);
    return [
      '# HELP http_requests_total HTTP requests served, by status code.',
      '# TYPE http_requests_total counter',
      ...codes.map(([code, count]) => `http_requests_total{code="${code}"} ${count}`),
      '# HELP http_request_errors_total HTTP requests answered with a 5xx status.',
      '# TYPE http_request_errors_total counter',
      `http_request_errors_total ${errors}`,
      '# HELP app_info The image this service runs.',
      '# TYPE app_info gauge',
      `app_info{image="${label(this.image.reference)}",version="${label(this.image.tag)}"} 1`,
      '',
    ].join('\n');
  }
}
