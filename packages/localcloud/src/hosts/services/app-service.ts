// What an application image becomes in a droplet: a small HTTP server inside the local cloud's own
// process (cheap enough for many droplets), on the droplet's address and each published port.
//   GET /health   200 "ok", or 503 when the tag says `unhealthy`
//   GET /version  the image tag
//   GET /metrics  Prometheus text (below), never itself counted
//   anything else 200 with a small JSON description
// Misbehaviour comes from the tag (see image.ts); /metrics always answers, so it can be scraped.
// With OPSFLOW_SITE in its environment, every answer names that site in x-opsflow-site, as a
// multi-site stack's app servers do (a failover's traffic check counts answers by it).
// Metrics, every request but /metrics counted once it is answered, /health included (a probe is a
// request; `unhealthy` shows as 503s), labelled with the version (the image tag) so a canary and
// its stable version are told apart in one Prometheus:
//   http_requests_total{version,code}                         counter
//   http_request_duration_seconds_bucket{version,le}, _sum, _count   histogram (arrival to last byte)
//   http_request_errors_total (5xx), app_info{image,version}
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImageRef, Misbehaviour } from './image';
import { failsUnderErrorRate, misbehaviourOf } from './image';
import type { PortBinding } from './state';

export const SLOW_DELAY_MS = 2_000;
/** Histogram bucket bounds in seconds: 5 ms to 10 s, as Prometheus client libraries default to. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HEALTH_PATHS = new Set(['/health', '/healthz']);

export class AppService {
  private readonly servers: http.Server[] = [];
  private readonly behaviour: Misbehaviour;
  private readonly counts = new Map<number, number>();
  private requests = 0;
  /** Application requests (not /health), which `errN` counts. */
  private appRequests = 0;
  private readonly bucketCounts = DURATION_BUCKETS.map(() => 0);
  private durationSum = 0;
  private durationCount = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly address: string,
    private readonly image: ImageRef,
    private readonly name: string,
    /** Sent with every answer (x-opsflow-site from OPSFLOW_SITE). */
    private readonly headers: Record<string, string> = {},
  ) {
    this.behaviour = misbehaviourOf(image);
  }

  /**
   * Listens on every published TCP port (an unpublished one gets a free port), on each address
   * `addressesOf` gives it (the service's address by default), the same port on all; returns what
   * it bound.
   */
  async listen(ports: PortBinding[], addressesOf: (port: PortBinding) => string[] = () => [this.address]): Promise<PortBinding[]> {
    const bound: PortBinding[] = [];
    let trying = '';
    try {
      for (const port of ports) {
        if (port.protocol !== 'tcp') {
          bound.push(port);
          continue;
        }
        let published = port.published ?? 0;
        for (const address of addressesOf(port)) {
          trying = `${address}:${published}`;
          published = await this.listenOn(address, published);
        }
        bound.push({ ...port, published });
      }
    } catch (error) {
      await this.close();
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`Bind for ${trying} failed: port is already allocated`);
      throw error;
    }
    return bound;
  }

  /** One HTTP server on address:port (0: a free one); resolves with the port it got. */
  private async listenOn(address: string, port: number): Promise<number> {
    const server = http.createServer((request, response) => this.handle(request, response));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    return (server.address() as AddressInfo).port;
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
    const arrived = process.hrtime.bigint();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const metrics = url.pathname === '/metrics';
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      if (!metrics) response.on('finish', () => this.count(status, Number(process.hrtime.bigint() - arrived) / 1e9));
      response.writeHead(status, { ...this.headers, 'content-type': type, 'x-served-by': this.name, 'x-version': this.image.tag });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (metrics) return send(200, this.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
    const health = HEALTH_PATHS.has(url.pathname);
    const respond = () => {
      const number = ++this.requests;
      // Every other request fails, starting with the second, so a single probe may still pass.
      if (this.behaviour.erroring && number % 2 === 0) return send(500, 'internal server error\n');
      if (health) return this.behaviour.unhealthy ? send(503, 'unhealthy\n') : send(200, 'ok\n');
      if (failsUnderErrorRate(++this.appRequests, this.behaviour.errorsPerHundred)) return send(500, 'internal server error\n');
      if (url.pathname === '/version') return send(200, `${this.image.tag}\n`);
      send(
        200,
        JSON.stringify({ service: this.name, image: this.image.reference, version: this.image.tag, path: url.pathname }) + '\n',
        'application/json',
      );
    };
    const delay = (this.behaviour.slow ? SLOW_DELAY_MS : 0) + (health ? 0 : this.behaviour.addedLatencyMs);
    if (delay === 0) return respond();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      respond();
    }, delay);
    this.timers.add(timer);
  }

  private count(status: number, seconds: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) this.bucketCounts[i]!++;
    });
    this.durationSum += seconds;
    this.durationCount++;
  }

  private metrics(): string {
    const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    const codes = [...this.counts.entries()].sort(([a], [b]) => a - b);
    const errors = codes.filter(([code]) => code >= 500).reduce((sum, [, count]) => sum + count, 0);
    const version = `version="${label(this.image.tag)}"`;
    return [
      '# HELP http_requests_total HTTP requests served (all but /metrics), by version and status code.',
      '# TYPE http_requests_total counter',
      ...codes.map(([code, count]) => `http_requests_total{${version},code="${code}"} ${count}`),
      '# HELP http_request_duration_seconds Time from arrival of a request to its last byte sent (all but /metrics).',
      '# TYPE http_request_duration_seconds histogram',
      ...DURATION_BUCKETS.map((bound, i) => `http_request_duration_seconds_bucket{${version},le="${bound}"} ${this.bucketCounts[i]}`),
      `http_request_duration_seconds_bucket{${version},le="+Inf"} ${this.durationCount}`,
      `http_request_duration_seconds_sum{${version}} ${this.durationSum}`,
      `http_request_duration_seconds_count{${version}} ${this.durationCount}`,
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
