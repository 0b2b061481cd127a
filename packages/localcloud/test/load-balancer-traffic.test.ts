// A DigitalOcean load balancer in the local cloud really forwards: connections to its address and
// entry port reach its droplets at the target port by round robin; a droplet added starts out of
// rotation and gets its share once it has passed healthy_threshold checks; one removed gets no new
// connection; one failing its health check unhealthy_threshold times is taken out and put back
// when it passes again; one that refuses a connection is skipped; a load balancer by tag sends to
// the droplets carrying the tag; a deleted one stops listening. Every API request and answer is
// checked against DigitalOcean's OpenAPI spec.
import http from 'node:http';
import net from 'node:net';
import type { LocalCloud } from '../src';
import type { ContractClient } from '../../../test/helpers/do-api';
import { startLocalCloud } from '../../../test/helpers/localcloud';
import { until } from '../../../test/helpers/until';

jest.setTimeout(180_000);

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cloud: LocalCloud;
let api: ContractClient;
const servers: http.Server[] = [];
const APP_PORT = 19000 + (process.pid % 1000);
const ENTRY_PORT = 18000 + (process.pid % 1000);

beforeAll(async () => {
  ({ cloud, api } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
});
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  for (const server of servers) server.close();
  await cloud?.stop();
});

interface App {
  id: number;
  name: string;
  address: string;
  /** What /health answers (200 by default). */
  health: number;
  server?: http.Server;
}

async function droplet(name: string, tags: string[] = []): Promise<App> {
  const created = await api.call<Body>('POST', '/v2/droplets', {
    name,
    region: 'fra1',
    size: 's-1vcpu-1gb',
    image: 'ubuntu-22-04-x64',
    tags,
  });
  expect(created.status).toBe(202);
  const id = created.body.droplet.id as number;
  const address = await until(`${name} active`, async () => {
    const { body } = await api.call<Body>('GET', `/v2/droplets/${id}`);
    return body.droplet.status === 'active'
      ? (body.droplet.networks.v4.find((n: Body) => n.type === 'public').ip_address as string)
      : undefined;
  });
  return { id, name, address, health: 200 };
}

/** The droplet's application on its address: answers its name, and /health with app.health. */
async function serve(app: App): Promise<void> {
  const server = http.createServer((request, response) => {
    if (request.url === '/health') response.writeHead(app.health).end('health\n');
    else response.end(app.name);
  });
  await new Promise<void>((resolve) => server.listen(APP_PORT, app.address, resolve));
  servers.push(server);
  app.server = server;
}

async function stopServing(app: App): Promise<void> {
  app.server!.closeAllConnections();
  await new Promise((resolve) => app.server!.close(resolve));
}

/** One request on a fresh connection (the balancer picks per connection). */
function get(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port: ENTRY_PORT, path: '/', agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function tally(host: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { status, body } = await get(host);
    const key = status === 200 ? body : `HTTP ${status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

const inRotation = (lbId: string) =>
  cloud.loadBalancers
    .backends(lbId)
    .filter((b) => b.healthy)
    .map((b) => b.droplet_id)
    .sort();

function refused(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: ENTRY_PORT });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

test('round robin over its droplets, health checks honoured, members added and removed through the API', async () => {
  const [a, b, c] = await Promise.all([droplet('lbt-a'), droplet('lbt-b'), droplet('lbt-c')]);
  for (const app of [a!, b!, c!]) await serve(app);
  const created = await api.call<Body>('POST', '/v2/load_balancers', {
    name: 'lbt',
    region: 'fra1',
    forwarding_rules: [{ entry_protocol: 'http', entry_port: ENTRY_PORT, target_protocol: 'http', target_port: APP_PORT }],
    health_check: {
      protocol: 'http',
      port: APP_PORT,
      path: '/health',
      check_interval_seconds: 3,
      healthy_threshold: 2,
      unhealthy_threshold: 2,
    },
    droplet_ids: [a!.id, b!.id],
  });
  expect(created.status).toBe(202);
  const lb = created.body.load_balancer as Body;
  // On this cloud's own host network, as its droplets are.
  expect(lb.ip.split('.').slice(0, 2)).toEqual(a!.address.split('.').slice(0, 2));
  // The defaults DigitalOcean documents, under what was given.
  expect(lb.health_check).toEqual({
    protocol: 'http',
    port: APP_PORT,
    path: '/health',
    check_interval_seconds: 3,
    response_timeout_seconds: 5,
    healthy_threshold: 2,
    unhealthy_threshold: 2,
  });
  await until('the load balancer active with both droplets in rotation', async () => (inRotation(lb.id).length === 2 ? true : undefined));
  expect(await tally(lb.ip, 40)).toEqual({ 'lbt-a': 20, 'lbt-b': 20 });

  // c joins: out of rotation until it has passed its checks, then a third of the connections.
  expect((await api.call('POST', `/v2/load_balancers/${lb.id}/droplets`, { droplet_ids: [c!.id] })).status).toBe(204);
  expect((await api.call<Body>('GET', `/v2/load_balancers/${lb.id}`)).body.load_balancer.droplet_ids).toEqual([a!.id, b!.id, c!.id]);
  const early = await tally(lb.ip, 4);
  expect(early['lbt-c'] ?? 0).toBe(0);
  await until('c in rotation', async () => (inRotation(lb.id).includes(c!.id) ? true : undefined));
  expect(await tally(lb.ip, 30)).toEqual({ 'lbt-a': 10, 'lbt-b': 10, 'lbt-c': 10 });
  const passed = cloud.loadBalancers.backends(lb.id).find((x) => x.droplet_id === c!.id)!;
  expect(passed.passes).toBeGreaterThanOrEqual(2);

  // a leaves: no new connection reaches it, at once.
  expect((await api.call('DELETE', `/v2/load_balancers/${lb.id}/droplets`, { droplet_ids: [a!.id] })).status).toBe(204);
  expect(await tally(lb.ip, 20)).toEqual({ 'lbt-b': 10, 'lbt-c': 10 });

  // c fails its health check: out after unhealthy_threshold failures (its app still answers /), back after healthy_threshold passes.
  c!.health = 500;
  await until('c out of rotation', async () => (inRotation(lb.id).includes(c!.id) ? undefined : true), 60_000);
  expect(await tally(lb.ip, 10)).toEqual({ 'lbt-b': 10 });
  c!.health = 200;
  await until('c back in rotation', async () => (inRotation(lb.id).includes(c!.id) ? true : undefined), 60_000);

  // b stops answering at all: its connections are refused, and c takes every one before any check notices.
  await stopServing(b!);
  expect(await tally(lb.ip, 10)).toEqual({ 'lbt-c': 10 });
  // Connections counted per droplet, as the load balancer passed them.
  const counts = cloud.loadBalancers.counts(lb.id);
  expect(counts.byDroplet[c!.id]).toBe(30);
  expect(counts.unserved).toBe(0);

  // Nobody healthy: DigitalOcean's 503 for an http rule.
  c!.health = 500;
  await until('c out of rotation again', async () => (inRotation(lb.id).includes(c!.id) ? undefined : true), 60_000);
  await until('b out of rotation', async () => (inRotation(lb.id).length === 0 ? true : undefined), 60_000);
  expect(await get(lb.ip)).toEqual({ status: 503, body: 'no healthy droplets\n' });
  expect(cloud.loadBalancers.counts(lb.id).unserved).toBe(1);

  expect((await api.call('DELETE', `/v2/load_balancers/${lb.id}`)).status).toBe(204);
  await until('the deleted load balancer to stop listening', async () => ((await refused(lb.ip)) ? true : undefined), 10_000);
  expect(api.violations).toEqual([]);
});

test('a load balancer by tag sends to the droplets carrying the tag, and lists them', async () => {
  const [x, y] = await Promise.all([droplet('lbt-x', ['web']), droplet('lbt-y', ['web'])]);
  const z = await droplet('lbt-z');
  for (const app of [x!, y!, z]) await serve(app);
  const created = await api.call<Body>('POST', '/v2/load_balancers', {
    name: 'lbt-tag',
    region: 'fra1',
    forwarding_rules: [{ entry_protocol: 'tcp', entry_port: ENTRY_PORT, target_protocol: 'tcp', target_port: APP_PORT }],
    health_check: { protocol: 'tcp', port: APP_PORT, check_interval_seconds: 3, healthy_threshold: 2 },
    tag: 'web',
  });
  const lb = created.body.load_balancer as Body;
  expect(lb.droplet_ids.sort()).toEqual([x!.id, y!.id].sort());
  // Droplets of a tag are not added one by one.
  expect((await api.call('POST', `/v2/load_balancers/${lb.id}/droplets`, { droplet_ids: [z.id] })).status).toBe(422);
  await until('both tagged droplets in rotation', async () => (inRotation(lb.id).length === 2 ? true : undefined));
  expect(await tally(lb.ip, 20)).toEqual({ 'lbt-x': 10, 'lbt-y': 10 });

  // z gets the tag: it joins, and once checked takes its share.
  expect(
    (await api.call('POST', '/v2/tags/web/resources', { resources: [{ resource_id: String(z.id), resource_type: 'droplet' }] })).status,
  ).toBe(204);
  expect((await api.call<Body>('GET', `/v2/load_balancers/${lb.id}`)).body.load_balancer.droplet_ids.sort()).toEqual(
    [x!.id, y!.id, z.id].sort(),
  );
  await until('z in rotation', async () => (inRotation(lb.id).length === 3 ? true : undefined));
  expect(await tally(lb.ip, 30)).toEqual({ 'lbt-x': 10, 'lbt-y': 10, 'lbt-z': 10 });

  // A destroyed droplet leaves the load balancer.
  expect((await api.call('DELETE', `/v2/droplets/${x!.id}`)).status).toBe(204);
  expect(await tally(lb.ip, 20)).toEqual({ 'lbt-y': 10, 'lbt-z': 10 });
  expect((await api.call('DELETE', `/v2/load_balancers/${lb.id}`)).status).toBe(204);
  expect(api.violations).toEqual([]);
});
