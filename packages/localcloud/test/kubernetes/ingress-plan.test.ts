// The cluster ingress's routing decisions and nginx configuration, from API objects alone: Gateway
// API weights, ingress-nginx canary annotations, precedence, endpoints by Service port, and the
// exact per-endpoint weights that make nginx split by the backends' weights.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { endpointWeights, renderIngressConf } from '../../src/kubernetes/ingress/nginx-conf';
import type { ClusterTraffic, EndpointSlice, HttpRoute, Ingress, Service } from '../../src/kubernetes/ingress/objects';
import { planTraffic } from '../../src/kubernetes/ingress/traffic-plan';
import { tempDir } from '../../../../test/helpers/temp';

const service = (name: string, port = 80, portName?: string): Service => ({
  metadata: { name, namespace: 'shop' },
  spec: { ports: [{ port, ...(portName ? { name: portName } : {}) }] },
});
const slice = (serviceName: string, targetPort: number, ready: string[], notReady: string[] = [], portName?: string): EndpointSlice => ({
  metadata: { name: `${serviceName}-x`, namespace: 'shop', labels: { 'kubernetes.io/service-name': serviceName } },
  ports: [{ port: targetPort, ...(portName ? { name: portName } : {}) }],
  endpoints: [
    ...ready.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ...notReady.map((a) => ({ addresses: [a], conditions: { ready: false } })),
  ],
});
const gateway = {
  metadata: { name: 'public', namespace: 'shop' },
  spec: { gatewayClassName: 'nginx', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
};
const route = (
  name: string,
  backends: { name: string; weight?: number }[],
  extra: Partial<HttpRoute['spec']> = {},
  created = '2026-01-01T00:00:00Z',
): HttpRoute => ({
  metadata: { name, namespace: 'shop', creationTimestamp: created },
  spec: { parentRefs: [{ name: 'public' }], rules: [{ backendRefs: backends.map((b) => ({ ...b, port: 80 })) }], ...extra },
});
const ingress = (name: string, serviceName: string, annotations: Record<string, string> = {}): Ingress => ({
  metadata: { name, namespace: 'shop', annotations },
  spec: {
    rules: [
      {
        host: 'shop.example',
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: serviceName, port: { number: 80 } } } }] },
      },
    ],
  },
});
const traffic = (t: Partial<ClusterTraffic>): ClusterTraffic => ({
  gateways: [gateway],
  httpRoutes: [],
  ingresses: [],
  services: [service('web'), service('web-canary')],
  endpointSlices: [slice('web', 8080, ['127.1.0.2', '127.1.0.3', '127.1.0.4'], ['127.1.0.9']), slice('web-canary', 8080, ['127.1.0.5'])],
  ...t,
});

test("an HTTPRoute splits by its backendRefs weights over each Service's ready endpoints", () => {
  const [planned, ...rest] = planTraffic(
    traffic({
      httpRoutes: [
        route('web', [
          { name: 'web', weight: 90 },
          { name: 'web-canary', weight: 10 },
        ]),
      ],
    }),
  );
  expect(rest).toEqual([]);
  expect(planned).toMatchObject({ host: '*', path: '/', exact: false, source: 'HTTPRoute shop/web' });
  expect(planned!.backends).toEqual([
    { service: 'shop/web:80', weight: 90, endpoints: ['127.1.0.2:8080', '127.1.0.3:8080', '127.1.0.4:8080'] },
    { service: 'shop/web-canary:80', weight: 10, endpoints: ['127.1.0.5:8080'] },
  ]);
  // 90 over 3 endpoints, 10 over 1: each stable endpoint 30, the canary 10, reduced to 3:3:3:1.
  expect(endpointWeights(planned!)).toEqual([
    { endpoint: '127.1.0.2:8080', weight: 3 },
    { endpoint: '127.1.0.3:8080', weight: 3 },
    { endpoint: '127.1.0.4:8080', weight: 3 },
    { endpoint: '127.1.0.5:8080', weight: 1 },
  ]);
});

test('a route attached to no Gateway of the class is not served; weight 0 and endpoint-less backends get nothing', () => {
  const foreign = { ...gateway, metadata: { name: 'other', namespace: 'shop' }, spec: { ...gateway.spec, gatewayClassName: 'istio' } };
  const unattached = route('elsewhere', [{ name: 'web' }], { parentRefs: [{ name: 'other' }] });
  expect(planTraffic(traffic({ gateways: [gateway, foreign], httpRoutes: [unattached] }))).toEqual([]);
  const [planned] = planTraffic(
    traffic({ httpRoutes: [route('web', [{ name: 'web', weight: 1 }, { name: 'web-canary', weight: 0 }, { name: 'missing' }])] }),
  );
  expect(endpointWeights(planned!).map((w) => w.endpoint)).toEqual(['127.1.0.2:8080', '127.1.0.3:8080', '127.1.0.4:8080']);
  const conf = renderIngressConf(planTraffic(traffic({ httpRoutes: [route('web', [{ name: 'web-canary', weight: 0 }])] })), {
    address: '127.1.0.250',
    dir: '/x',
  });
  expect(conf).toContain(
    'return 503 "HTTPRoute shop/web: no ready endpoint with weight above 0 (shop/web-canary:80 weight 0, 1 ready)\\n";',
  );
  expect(conf).not.toContain('upstream route_0');
});

test("a canary Ingress takes canary-weight of the main Ingress's host and path; HTTPRoutes come first", () => {
  const main = ingress('web', 'web');
  const canary = ingress('web-canary', 'web-canary', {
    'nginx.ingress.kubernetes.io/canary': 'true',
    'nginx.ingress.kubernetes.io/canary-weight': '20',
  });
  const [planned] = planTraffic(traffic({ ingresses: [canary, main] }));
  expect(planned).toMatchObject({ host: 'shop.example', path: '/', source: 'Ingress shop/web + canary Ingress shop/web-canary (20/100)' });
  expect(planned!.backends.map((b) => [b.service, b.weight])).toEqual([
    ['shop/web:80', 80],
    ['shop/web-canary:80', 20],
  ]);
  // An HTTPRoute for the same host and path wins over both.
  const claimed = route('web', [{ name: 'web-canary' }], { hostnames: ['shop.example'] });
  const plans = planTraffic(traffic({ ingresses: [canary, main], httpRoutes: [claimed] }));
  expect(plans.map((p) => p.source)).toEqual(['HTTPRoute shop/web']);
  // Of two HTTPRoutes for one host and path, the older one.
  const newer = route('newer', [{ name: 'web' }], { hostnames: ['shop.example'] }, '2026-02-01T00:00:00Z');
  expect(planTraffic(traffic({ httpRoutes: [newer, claimed] })).map((p) => p.source)).toEqual(['HTTPRoute shop/web']);
});

test('named Service ports select the EndpointSlice port of the same name', () => {
  const named = traffic({
    services: [
      {
        metadata: { name: 'api', namespace: 'shop' },
        spec: {
          ports: [
            { name: 'metrics', port: 9090 },
            { name: 'http', port: 80 },
          ],
        },
      },
    ],
    endpointSlices: [
      {
        metadata: { name: 'api-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'api' } },
        ports: [
          { name: 'metrics', port: 9100 },
          { name: 'http', port: 8080 },
        ],
        endpoints: [{ addresses: ['127.1.0.7'] }],
      },
    ],
    httpRoutes: [route('api', [{ name: 'api' }])],
  });
  expect(planTraffic(named)[0]!.backends[0]!.endpoints).toEqual(['127.1.0.7:8080']);
});

test('paths follow Gateway API matching and hosts get their own server with the catch-all routes after theirs', () => {
  const api = route('api', [{ name: 'web-canary' }], {
    hostnames: ['shop.example'],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api' } }, { path: { type: 'Exact', value: '/login' } }],
        backendRefs: [{ name: 'web-canary', port: 80 }],
      },
    ],
  });
  const all = route('all', [{ name: 'web' }]);
  const conf = renderIngressConf(planTraffic(traffic({ httpRoutes: [api, all] })), {
    address: '127.1.0.250',
    dir: '/x',
    workerUser: 'nobody nogroup',
  });
  const servers = conf.split('  server {').slice(1);
  expect(servers).toHaveLength(2);
  const [catchAll, shop] = servers;
  expect(catchAll).toContain('listen 127.1.0.250:80 default_server;');
  expect(catchAll).not.toContain('/api');
  expect(shop).toContain('server_name shop.example;');
  for (const location of ['location = /api {', 'location /api/ {', 'location = /login {', 'location / {']) expect(shop).toContain(location);
  expect(conf).toContain('user nobody nogroup;');
});

test('the configuration passes nginx -t: hosts, exact and prefix paths on one path, a 503 route', () => {
  const dir = tempDir('ingress-conf');
  for (const sub of ['logs', 'tmp']) mkdirSync(path.join(dir, sub));
  const backend = (service: string, weight: number, endpoints: string[]) => ({ service, weight, endpoints });
  const conf = renderIngressConf(
    [
      {
        host: '*',
        path: '/',
        exact: false,
        source: 'HTTPRoute shop/web',
        backends: [
          backend('shop/web:80', 90, ['198.18.1.2:8080', '198.18.1.3:8080']),
          backend('shop/web-canary:80', 10, ['198.18.1.4:8080']),
        ],
      },
      { host: 'shop.example', path: '/api', exact: false, source: 'HTTPRoute shop/api', backends: [backend('shop/api:80', 1, [])] },
      {
        host: 'shop.example',
        path: '/api',
        exact: true,
        source: 'HTTPRoute shop/api-exact',
        backends: [backend('shop/api:80', 1, ['198.18.1.9:80'])],
      },
    ],
    { address: '127.1.0.250', dir, workerUser: process.getuid?.() === 0 ? 'nobody nogroup' : undefined },
  );
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const checked = spawnSync('/usr/sbin/nginx', ['-t', '-p', dir, '-c', file, '-e', path.join(dir, 'logs', 'error.log')], {
    encoding: 'utf8',
  });
  expect(checked.stderr).toContain('test is successful');
  // 90 over 2 endpoints and 10 over 1: 45:45:10, reduced to 9:9:2.
  expect(conf).toContain('server 198.18.1.2:8080 weight=9;');
  expect(conf).toContain('server 198.18.1.4:8080 weight=2;');
});
