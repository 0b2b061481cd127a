// App servers of a two-site stack, as far as the front sees them: each answers every request with
// the site's name in x-opsflow-site, counts what it served, and answers GET /health with 200 (or
// what a test sets) so Cloudflare's monitors can find it down while it keeps serving; a site gone
// dark answers every other request with `appStatus` too.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SiteOrigin {
  name: string;
  site: string;
  address: string;
  port: number;
  served: number;
  healthStatus: number;
  /** What every request but /health gets: 200 with the site's name, or this status when set otherwise. */
  appStatus: number;
  stop(): Promise<void>;
}

export async function startSiteOrigin(site: string, name: string, address = '127.0.0.1'): Promise<SiteOrigin> {
  const origin: SiteOrigin = { name, site, address, port: 0, served: 0, healthStatus: 200, appStatus: 200, stop: async () => undefined };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(origin.healthStatus).end();
    if (origin.appStatus !== 200) return void res.writeHead(origin.appStatus).end();
    origin.served++;
    res.writeHead(200, { 'content-type': 'text/plain', 'x-opsflow-site': site }).end(`${name}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  origin.port = (server.address() as AddressInfo).port;
  origin.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return origin;
}

/**
 * The range a Binomial(n, p) count falls in but with probability about 6e-7 (mean ± 5 standard
 * deviations): a fair split that lands outside it is a bug, not bad luck.
 */
export function binomialRange(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.floor(n * p - 5 * sd), Math.ceil(n * p + 5 * sd)];
}
