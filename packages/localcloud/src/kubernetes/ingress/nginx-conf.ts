// The cluster ingress's nginx.conf from its planned routes (pure). Each route becomes an upstream
// whose servers are its backends' ready endpoints, weighted so every backend gets exactly its share
// per round (one worker, nginx's smooth weighted round robin): an endpoint of a backend with weight
// w and n endpoints gets w * L / n, L the least common multiple of the backends' endpoint counts.
// A route with no ready endpoint, or only weight 0, answers 503 naming why. Paths follow Gateway
// API's matching: PathPrefix /api matches /api and /api/x but not /apix; Exact only itself.
import type { PlannedRoute } from './traffic-plan';

export interface IngressConfOptions {
  /** Where it listens (port 80 of this address). */
  address: string;
  /** Its folder: pid and logs. */
  dir: string;
  /** Where the worker buffers large bodies: a folder the worker's user can reach (default <dir>/tmp). */
  tempDir?: string;
  /** The user its workers run as when the master runs as root. */
  workerUser?: string;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number) => (a * b) / gcd(a, b);

/** Each endpoint's nginx weight, reduced by their common divisor; empty when nothing can serve. */
export function endpointWeights(route: PlannedRoute): { endpoint: string; weight: number }[] {
  const serving = route.backends.filter((b) => b.weight > 0 && b.endpoints.length > 0);
  if (serving.length === 0) return [];
  const common = serving.reduce((l, b) => lcm(l, b.endpoints.length), 1);
  const weights = serving.flatMap((b) => b.endpoints.map((endpoint) => ({ endpoint, weight: (b.weight * common) / b.endpoints.length })));
  // One endpoint may back two Services of the route: nginx takes a server once, so add them up.
  const merged = new Map<string, number>();
  for (const w of weights) merged.set(w.endpoint, (merged.get(w.endpoint) ?? 0) + w.weight);
  const divisor = [...merged.values()].reduce(gcd);
  return [...merged].map(([endpoint, weight]) => ({ endpoint, weight: weight / divisor }));
}

/** Why a route cannot serve, for its 503. */
function whyNotServing(route: PlannedRoute): string {
  if (route.backends.length === 0) return `${route.source}: no backend`;
  return `${route.source}: no ready endpoint with weight above 0 (${route.backends.map((b) => `${b.service} weight ${b.weight}, ${b.endpoints.length} ready`).join('; ')})`;
}

const quotedText = (text: string) => text.replace(/["\\$\n]/g, '_');

interface Location {
  match: string;
  lines: string[];
}

function locations(route: PlannedRoute, upstream: string | undefined): Location[] {
  const body = upstream
    ? [`proxy_pass http://${upstream};`, 'proxy_set_header Host $host;', 'proxy_http_version 1.1;', 'proxy_set_header Connection "";']
    : [`default_type text/plain;`, `return 503 "${quotedText(whyNotServing(route))}\\n";`];
  const at = (match: string): Location => ({ match, lines: [`    location ${match} {`, ...body.map((line) => `      ${line}`), '    }'] });
  const path = route.path.replace(/[\s;{}"'\\]/g, '');
  if (route.exact) return [at(`= ${path}`)];
  if (path === '/' || path.endsWith('/')) return [at(path)];
  return [at(`= ${path}`), at(`${path}/`)];
}

/** A server's locations, each match once: exact routes first, so `= /api` is the Exact route's. */
function serverLocations(routes: { route: PlannedRoute; upstream: string | undefined }[]): string[] {
  const ordered = [...routes.filter((r) => r.route.exact), ...routes.filter((r) => !r.route.exact)];
  const seen = new Map<string, Location>();
  for (const { route, upstream } of ordered)
    for (const loc of locations(route, upstream)) if (!seen.has(loc.match)) seen.set(loc.match, loc);
  if (!seen.has('/'))
    seen.set('/', {
      match: '/',
      lines: ['    location / {', '      default_type text/plain;', '      return 404 "no route for this host and path\\n";', '    }'],
    });
  return [...seen.values()].flatMap((l) => l.lines);
}

export function renderIngressConf(routes: PlannedRoute[], options: IngressConfOptions): string {
  const upstreams: string[] = [];
  const hostOf = (route: PlannedRoute) => route.host.toLowerCase().replace(/[^a-z0-9.*-]/g, '');
  const served = routes.map((route, i) => {
    const weights = endpointWeights(route);
    const upstream = weights.length ? `route_${i}` : undefined;
    if (upstream)
      upstreams.push(
        `  # ${route.source}: ${route.host} ${route.exact ? '= ' : ''}${route.path}`,
        `  upstream ${upstream} {`,
        ...weights.map((w) => `    server ${w.endpoint} weight=${w.weight};`),
        '    keepalive 16;',
        '  }',
      );
    return { route, upstream, host: hostOf(route) };
  });
  // A route for every host ('*') also serves each named host, after that host's own routes.
  const catchAll = served.filter((s) => s.host === '*');
  const hosts = ['*', ...new Set(served.map((s) => s.host).filter((h) => h !== '*'))];
  const serverBlocks = hosts.map((host) =>
    [
      '  server {',
      `    listen ${options.address}:80${host === '*' ? ' default_server' : ''};`,
      `    server_name ${host === '*' ? '_' : host};`,
      ...serverLocations(host === '*' ? catchAll : [...served.filter((s) => s.host === host), ...catchAll]),
      '  }',
    ].join('\n'),
  );
  const dir = options.dir;
  return [
    "# Written by the local cloud from the cluster's HTTPRoutes and Ingresses; rewritten on every change.",
    ...(options.workerUser ? [`user ${options.workerUser};`] : []),
    // One worker keeps the weighted round robin exact per round.
    'worker_processes 1;',
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/logs/error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
      (kind) => `  ${kind}_temp_path ${options.tempDir ?? `${dir}/tmp`}/${kind};`,
    ),
    '  server_names_hash_bucket_size 128;',
    ...upstreams,
    ...serverBlocks,
    '}',
    '',
  ].join('\n');
}
