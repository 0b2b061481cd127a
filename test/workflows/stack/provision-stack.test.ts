// provisionStack on a real Temporal dev server and the local cloud with SSH hosts: examples/stack-e.yaml
// as `opsflow provision` loads it (FRA1 on the DigitalOcean API, London on the Linode API, each site
// three app servers and two data servers whose compose files run Debian's real MariaDB and Redis),
// pointed at the local cloud's Cloudflare API and edge. One run makes both sites, wires GTID
// replication inside each site and across, Redis the same, and the load balancer at 50/50; rows and
// keys written on the primary then reach every other server, and the edge's answers come from both
// sites, and every app server's application reads fra1-db-1 as its database. A planned failover
// of the new stack, from the input the result hands over, then promotes london-db-1 (its own replica
// still following, the old primary fenced apart), points London's app servers at it and cuts FRA1's
// app servers off London's databases by firewall; a failback from the same input puts it all back.
// A site that fails (London's app servers never pass their health gate) and a stack that fails after its load balancer was made (no answer names a
// site) each leave nothing behind: no droplet, Linode, VPC, firewall, pool or monitor.
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import Cloudflare from 'cloudflare';
import { createConnection } from 'mysql2/promise';
import path from 'node:path';
import { sampleTraffic } from '../../../src/activities/cloudflare/traffic-sample';
import { loadStackSpec } from '../../../src/specs/load-stack';
import type { StackSpec } from '../../../src/specs/stack';
import type { FailoverResult } from '../../../src/workflows/failover/failover-api';
import type { FailbackResult, FailbackStatus } from '../../../src/workflows/failover/failback-api';
import type { AppServers } from '../../../src/workflows/shared/point-apps';
import type { ProvisionStackResult } from '../../../src/workflows/stack/stack-api';
import { failoverActivities, runActivity } from '../../helpers/failover-stage';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, workflowWorkerActivities, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { startTemporal, uniqueTaskQueue, withWorker } from '../../helpers/temporal';

jest.setTimeout(900_000);

const SECRETS = {
  OPSFLOW_SECRET_STACK_E_MYSQL_ROOT: 'root-pw-e1',
  OPSFLOW_SECRET_STACK_E_MYSQL_REPL: 'repl-pw-e2',
  OPSFLOW_SECRET_STACK_E_REDIS: 'redis-pw-e3',
};
const EXAMPLE = path.join(__dirname, '..', '..', '..', 'examples', 'stack-e.yaml');

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let cf: Cloudflare;
let workers: OpsflowWorkers;
let secrets: Record<string, string>;
const taskQueue = uniqueTaskQueue('provision-stack');

/** examples/stack-e.yaml pointed at the local cloud's Cloudflare, its monitors every second, verified through its edge. */
function stackSpec(change: (spec: StackSpec) => void = () => undefined): StackSpec {
  const spec = loadStackSpec(EXAMPLE);
  spec.cloudflare.apiUrl = `${cloud.apiUrl}/client/v4`;
  spec.cloudflare.monitor = { path: '/health', intervalSeconds: 1, consecutiveDown: 2 };
  spec.cloudflare.verify = { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40, siteHeader: 'x-opsflow-site' };
  for (const site of Object.values(spec.sites))
    for (const e of [site.app, site.data]) e.healthChecks = e.healthChecks.map((c) => ({ ...c, intervalSeconds: 1, attempts: 20 }));
  change(spec);
  return spec;
}

function activities() {
  return { ...workflowWorkerActivities(workers, secrets), ...failoverActivities(secrets) };
}

async function run<T>(type: string, workflowId: string, args: unknown[]): Promise<{ result?: T; failure?: Error }> {
  return withWorker(env, taskQueue, activities(), async () => {
    const handle = await env.client.workflow.start(type, { taskQueue, workflowId, args });
    return handle.result().then(
      (result) => ({ result: result as T }),
      (e: unknown) => ({ failure: e as Error }),
    );
  });
}

/** What the local cloud holds for stack-e: droplets, Linodes, VPCs, firewalls, and Cloudflare's pools and monitors. */
async function leftovers(): Promise<string[]> {
  const get = async <T>(p: string) =>
    (await (await fetch(`${cloud.apiUrl}${p}`, { headers: { authorization: `Bearer ${cloud.token}` } })).json()) as T;
  const found: string[] = [];
  const droplets = await get<{ droplets: { name: string }[] }>('/v2/droplets?per_page=200');
  found.push(...droplets.droplets.map((d) => `droplet ${d.name}`));
  const vpcs = await get<{ vpcs: { name: string }[] }>('/v2/vpcs?per_page=200');
  found.push(...vpcs.vpcs.filter((v) => v.name.startsWith('stack-e')).map((v) => `vpc ${v.name}`));
  const firewalls = await get<{ firewalls: { name: string }[] }>('/v2/firewalls?per_page=200');
  found.push(...firewalls.firewalls.map((f) => `firewall ${f.name}`));
  const linodes = await get<{ data: { label: string }[] }>('/v4/linode/instances?page_size=500');
  found.push(...linodes.data.map((l) => `linode ${l.label}`));
  const linodeFirewalls = await get<{ data: { label: string }[] }>('/v4/networking/firewalls?page_size=500');
  found.push(...linodeFirewalls.data.map((f) => `linode firewall ${f.label}`));
  const linodeVpcs = await get<{ data: { label: string }[] }>('/v4/vpcs?page_size=500');
  found.push(...linodeVpcs.data.map((v) => `linode vpc ${v.label}`));
  const [account] = (await cf.accounts.list()).result;
  found.push(...(await cf.loadBalancers.pools.list({ account_id: account!.id })).result.map((p) => `pool ${p.name}`));
  found.push(...(await cf.loadBalancers.monitors.list({ account_id: account!.id })).result.map((m) => `monitor ${m.description}`));
  return found;
}

async function sql(server: { host: string; port: number }, statement: string): Promise<unknown[]> {
  const connection = await createConnection({
    host: server.host,
    port: server.port,
    user: 'root',
    password: SECRETS.OPSFLOW_SECRET_STACK_E_MYSQL_ROOT,
  });
  try {
    const [rows] = await connection.query(statement);
    return rows as unknown[];
  } finally {
    connection.destroy();
  }
}

const appsOf = (stack: ProvisionStackResult, site: string): AppServers => stack.failover.apps!.sites[site]!;

/** A script run on each app server over SSH (its host key pinned); what each printed, trimmed. */
async function onEachApp(servers: AppServers, script: string, args: string[]): Promise<string[]> {
  const acts = activities();
  return Promise.all(
    servers.hosts.map(async (h) => {
      const target = { host: h.address, port: servers.ssh.port, user: servers.ssh.user, key: servers.ssh.key, fingerprints: [h.hostKey] };
      const out = await runActivity(() => acts.runRemoteCommand({ ...target, script, args }));
      return out.stdoutTail.trim();
    }),
  );
}

/** What the booking service of each app server reads as DATABASE_HOST and REDIS_HOST (asked inside its container). */
async function appDatabaseHosts(servers: AppServers): Promise<string[]> {
  const said = await onEachApp(servers, 'cd "$1" && docker compose exec -T booking printenv DATABASE_HOST REDIS_HOST', [servers.directory]);
  return said.map((out) => out.split('\n').join(' '));
}

/** From each app server: whether a TCP connection to host:port opens ('open') or is refused by a firewall. */
async function appsReach(servers: AppServers, target: { host: string; port: number }): Promise<string[]> {
  const script = 'if why=$( (exec 3<>"/dev/tcp/$1/$2") 2>&1 ); then echo open; else echo "refused: $why"; fi';
  const said = await onEachApp(servers, script, [target.host, String(target.port)]);
  // Refused means reset or refused at once, never a timeout or a name that did not resolve.
  return said.map((out) => (out === 'open' ? 'open' : /^refused: .*Connection (reset|refused)/.test(out) ? 'refused' : out));
}

async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 600; i++) {
    last = await read().catch(() => undefined);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what} (last: ${JSON.stringify(last)})`);
}

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({ sshHosts: {}, timing: { dropletCreateMs: 1500, actionMs: 150 } }));
  secrets = { ...SECRETS, OPSFLOW_SECRET_CLOUDFLARE_TOKEN: cloud.token };
  cf = new Cloudflare({ apiToken: cloud.token, baseURL: `${cloud.apiUrl}/client/v4`, maxRetries: 0 });
  const [account] = (await cf.accounts.list()).result;
  await cf.zones.create({ account: { id: account!.id }, name: 'stack-e.com' });
  workers = await startOpsflowWorkers(env, cloud, secrets);
}, 600_000);

afterAll(async () => {
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
});

test('a site that fails (London never passes its health gate) is rolled back, and FRA1, already made, is destroyed', async () => {
  const spec = stackSpec((s) => {
    s.sites.london!.app.healthChecks = [
      {
        name: 'frontend',
        port: 3000,
        path: '/health',
        expectStatus: 200,
        expectBodyContains: 'never-in-a-body',
        intervalSeconds: 1,
        attempts: 3,
      },
    ];
  });
  const { result, failure } = await run<ProvisionStackResult>('provisionStack', 'provision-stack-e-failed-site', [{ spec }]);
  expect(result).toBeUndefined();
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const message = `${failure!.message} ${String((failure as WorkflowFailedError).cause?.message)}`;
  expect(message).toMatch(/site london: stack-e-lon: .*health/i);
  expect(await leftovers()).toEqual([]);
});

test('examples/stack-e.yaml in one run: both sites, GTID replication in each site and across, Redis the same, Cloudflare at 50/50; then a planned failover of the new stack', async () => {
  const { result, failure } = await run<ProvisionStackResult>('provisionStack', 'provision-stack-e', [{ spec: stackSpec() }]);
  expect(failure).toBeUndefined();
  const stack = result!;
  expect(stack.replication).toEqual([
    'MySQL fra1-db-2 <- fra1-db-1',
    'MySQL london-db-1 <- fra1-db-1',
    'MySQL london-db-2 <- london-db-1',
    'Redis fra1-db-2 <- fra1-db-1',
    'Redis london-db-1 <- fra1-db-1',
    'Redis london-db-2 <- london-db-1',
  ]);
  expect(stack.verified.mysqlCaughtUp).toEqual(['fra1-db-2', 'london-db-1', 'london-db-2']);
  expect(stack.verified.redisLinked).toEqual(['fra1-db-2', 'london-db-1', 'london-db-2']);
  expect(Object.keys(stack.verified.trafficBySite!).sort()).toEqual(['fra1', 'london']);
  expect(stack.sites.fra1!.app.hosts).toHaveLength(3);
  expect(stack.sites.london!.app.hosts).toHaveLength(3);

  // MySQL: a row written on the primary is on every other server; each of them is a read-only replica by GTID.
  const servers = ['fra1', 'london'].flatMap((site) => [stack.sites[site]!.mysql.primary, stack.sites[site]!.mysql.replica]);
  const [primary, ...replicas] = servers;
  await sql(primary!, 'CREATE TABLE booking.bookings (id INT PRIMARY KEY, guest VARCHAR(50)) ENGINE=InnoDB');
  await sql(primary!, "INSERT INTO booking.bookings VALUES (1, 'ada'), (2, 'grace'), (3, 'linus')");
  for (const replica of replicas) {
    await eventually(
      `${replica.name} has the 3 bookings`,
      () => sql(replica, 'SELECT COUNT(*) AS n FROM booking.bookings'),
      (rows) => Number((rows[0] as { n: number }).n) === 3,
    );
    const [status] = (await sql(replica, 'SHOW SLAVE STATUS')) as { Using_Gtid: string; Slave_IO_Running: string; Master_Host: string }[];
    expect(status).toMatchObject({ Using_Gtid: 'Slave_Pos', Slave_IO_Running: 'Yes' });
    expect(await sql(replica, 'SELECT @@global.read_only AS ro')).toEqual([{ ro: 1 }]);
  }
  // london-db-2 follows its own site's first server, not FRA1 across the channel.
  const [londonReplica] = (await sql(stack.sites.london!.mysql.replica, 'SHOW SLAVE STATUS')) as { Master_Host: string }[];
  expect(londonReplica!.Master_Host).toBe(stack.sites.london!.mysql.primary.host);

  // Redis: a key set on the primary is read on the three others.
  const redisOf = (site: string, role: 'primary' | 'replica') => stack.sites[site]!.redis![role];
  const acts = activities();
  expect((await runActivity(() => acts.readRedisRole({ server: redisOf('fra1', 'primary') }))).role).toBe('primary');
  for (const site of ['fra1', 'london'])
    for (const role of ['primary', 'replica'] as const)
      if (!(site === 'fra1' && role === 'primary'))
        expect(await runActivity(() => acts.readRedisRole({ server: redisOf(site, role) }))).toMatchObject({
          role: 'replica',
          primary: { linkUp: true },
        });

  // Cloudflare: one pool per site of its three app servers, weights 50/50, answers from both sites.
  const lb = await cf.loadBalancers.get(stack.loadBalancer.loadBalancerId, { zone_id: stack.loadBalancer.zoneId });
  expect(lb.random_steering?.pool_weights).toEqual({ [stack.loadBalancer.pools.fra1!]: 0.5, [stack.loadBalancer.pools.london!]: 0.5 });
  for (const site of ['fra1', 'london']) {
    const pool = await cf.loadBalancers.pools.get(stack.loadBalancer.pools[site]!, { account_id: stack.loadBalancer.accountId });
    expect(pool.origins?.map((o) => o.address).sort()).toEqual(stack.sites[site]!.app.hosts.map((h) => h.address).sort());
  }
  const sample = await runActivity(() => sampleTraffic({ url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 100 }));
  expect(sample.failed).toEqual({});
  expect(sample.bySite.fra1! + sample.bySite.london!).toBe(100);
  expect(sample.bySite.fra1).toBeGreaterThan(0);
  expect(sample.bySite.london).toBeGreaterThan(0);

  // Every app server's application reads fra1-db-1 (and its Redis) as its database.
  const primaryHost = stack.sites.fra1!.mysql.primary.host;
  expect(stack.failover.apps?.variables).toEqual({ mysqlHost: 'DB_HOST', redisHost: 'REDIS_HOST' });
  for (const site of ['fra1', 'london'])
    expect(await appDatabaseHosts(appsOf(stack, site))).toEqual(Array(3).fill(`${primaryHost} ${primaryHost}`));

  // The data firewalls' 3306 and 6379 are the stack's own: every app server (public and private address) is in them.
  const firewalls = stack.failover.databaseFirewalls!;
  expect(firewalls.ports).toEqual([3306, 6379]);
  expect(firewalls.sites.fra1!.appSources).toHaveLength(6);
  expect(firewalls.sites.london!.cloud).toBe('linode');
  const londonDb = { host: stack.sites.london!.mysql.primary.host, port: 3306 };
  const londonRedis = { host: stack.sites.london!.redis!.primary.host, port: 6379 };
  expect(await appsReach(appsOf(stack, 'fra1'), londonDb)).toEqual(['open', 'open', 'open']);

  const failoverInput = (verify: { siteHeader?: string } = {}) => ({
    ...stack.failover,
    from: 'fra1',
    to: 'london',
    mode: 'planned' as const,
    approval: { autoApproveAfter: '1s' },
    verify: { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40, ...verify },
  });

  // A failover whose traffic check cannot pass (it counts answers by a header no server sends) is
  // rolled back: London's app servers point at fra1-db-1 again, london-db-1 follows it again.
  const unverified = await run<FailoverResult>('failoverSite', 'failover-stack-e-fra1-unverified', [
    failoverInput({ siteHeader: 'x-no-such-header' }),
  ]);
  expect(String((unverified.failure as WorkflowFailedError).cause?.message)).toMatch(
    /^of 40 requests through www.stack-e.com, 0 reached london: .*; rolled back \d+ step\(s\)$/,
  );
  expect(await appDatabaseHosts(appsOf(stack, 'london'))).toEqual(Array(3).fill(`${primaryHost} ${primaryHost}`));
  const [relinked] = (await sql(stack.sites.london!.mysql.primary, 'SHOW SLAVE STATUS')) as { Master_Host: string }[];
  expect(relinked!.Master_Host).toBe(primaryHost);
  // The fence's firewall cut was undone with the rest: FRA1's app servers reach London's databases again.
  expect(await appsReach(appsOf(stack, 'fra1'), londonDb)).toEqual(['open', 'open', 'open']);

  // The failover input the stack hands over runs as is: london-db-1 promoted, its replica still following it.
  // With one more London app server (scaleSurvivor): it is let into London's database firewall and
  // pointed at london-db-1 before it becomes an origin.
  const scaleSurvivor = {
    add: 1,
    environmentSpec: loadStackSpec(EXAMPLE).sites.london!.app,
    like: { group: 'app' },
    origins: { port: 3000 },
  };
  const failover = await run<FailoverResult>('failoverSite', 'failover-stack-e-fra1', [{ ...failoverInput(), scaleSurvivor }]);
  expect(failover.failure).toBeUndefined();
  expect(failover.result!.rpo).toMatchObject({ lostTransactions: 0, redisLostBytes: 0 });
  // Fenced by firewall: FRA1's app servers can no longer open a connection to London's MySQL or
  // Redis (Linode's firewall, enforced by the local cloud), London's own still can.
  expect(failover.result!.appsCut).toEqual({
    firewallId: firewalls.sites.london!.firewallId,
    removed: firewalls.sites.fra1!.appSources,
    ports: [3306, 6379],
  });
  expect(await appsReach(appsOf(stack, 'fra1'), londonDb)).toEqual(['refused', 'refused', 'refused']);
  expect(await appsReach(appsOf(stack, 'fra1'), londonRedis)).toEqual(['refused', 'refused', 'refused']);
  expect(await appsReach(appsOf(stack, 'london'), londonDb)).toEqual(['open', 'open', 'open']);
  const [scaled] = failover.result!.scale!.servers;
  expect(scaled).toMatchObject({ state: 'serving' });
  const londonApps = appsOf(stack, 'london');
  const { fingerprint } = await runActivity(() =>
    activities().waitForSsh({
      host: scaled!.address!,
      port: londonApps.ssh.port,
      user: londonApps.ssh.user,
      key: londonApps.ssh.key,
      timeoutMs: 60_000,
    }),
  );
  const scaleServer: AppServers = {
    ...londonApps,
    hosts: [{ instance: scaled!.instance, address: scaled!.address!, hostKey: fingerprint }],
  };
  expect(await appDatabaseHosts(scaleServer)).toEqual([`${londonDb.host} ${londonDb.host}`]);
  expect(await appsReach(scaleServer, londonDb)).toEqual(['open']);
  await sql(stack.sites.london!.mysql.primary, "INSERT INTO booking.bookings VALUES (4, 'barbara')");
  const londonReplicaServer = stack.sites.london!.mysql.replica;
  await eventually(
    `${londonReplicaServer.name} has london's new booking`,
    () => sql(londonReplicaServer, 'SELECT COUNT(*) AS n FROM booking.bookings'),
    (rows) => Number((rows[0] as { n: number }).n) === 4,
  );
  // The old primary stays fenced and apart until a failback re-points it: read-only, without the new row.
  expect(await sql(stack.sites.fra1!.mysql.primary, 'SELECT @@global.read_only AS ro')).toEqual([{ ro: 1 }]);
  expect(await sql(stack.sites.fra1!.mysql.primary, 'SELECT COUNT(*) AS n FROM booking.bookings')).toEqual([{ n: 3 }]);
  // London's app servers now read london-db-1; FRA1's, out of traffic, are left as they were.
  const londonHost = stack.sites.london!.mysql.primary.host;
  expect(await appDatabaseHosts(appsOf(stack, 'london'))).toEqual(Array(3).fill(`${londonHost} ${londonHost}`));
  expect(await appDatabaseHosts(appsOf(stack, 'fra1'))).toEqual(Array(3).fill(`${primaryHost} ${primaryHost}`));
  const after = await runActivity(() => sampleTraffic({ url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40 }));
  expect(after.bySite).toEqual({ london: 40 });

  // Failback from the same handed-over input, approved: FRA1 is the primary again, London's app
  // servers read fra1-db-1 again (london-db-1 is a replica now) and FRA1's are let back into
  // London's databases: the stack as it was made, at 50/50.
  const failback = await withWorker(env, taskQueue, activities(), async () => {
    const handle = await env.client.workflow.start('failbackSite', {
      taskQueue,
      workflowId: 'failback-stack-e-fra1',
      args: [
        {
          ...stack.failover,
          from: 'london',
          to: 'fra1',
          verify: { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40 },
        },
      ],
    });
    await eventually(
      'the failback waits for approval',
      () => handle.query<FailbackStatus>('status'),
      (s) => s.failback?.phase === 'awaiting approval' || s.outcome !== undefined,
    );
    await handle.executeUpdate('approve', { args: [{ by: 'alice@ops' }] });
    return (await handle.result()) as FailbackResult;
  });
  expect(failback.rpo).toMatchObject({ lostTransactions: 0 });
  expect(failback.apps).toEqual({ pointed: 3, firewallRestored: firewalls.sites.london!.firewallId });
  expect(await sql(stack.sites.fra1!.mysql.primary, 'SELECT @@global.read_only AS ro, COUNT(*) AS n FROM booking.bookings')).toEqual([
    { ro: 0, n: 4 },
  ]);
  for (const site of ['fra1', 'london'])
    expect(await appDatabaseHosts(appsOf(stack, site))).toEqual(Array(3).fill(`${primaryHost} ${primaryHost}`));
  expect(await appsReach(appsOf(stack, 'fra1'), londonDb)).toEqual(['open', 'open', 'open']);
  // The failover's scale server is gone: out of London's pool, its Linode deleted.
  expect(failback.scaleRemoved).toEqual({
    tag: failover.result!.scale!.tag,
    origins: failover.result!.scale!.origins,
    deletedServers: 1,
  });
  expect(await leftovers()).not.toContain(`linode ${scaled!.name}`);
  const londonPool = await cf.loadBalancers.pools.get(stack.loadBalancer.pools.london!, { account_id: stack.loadBalancer.accountId });
  expect(londonPool.origins!.map((o) => o.name)).not.toContain(failover.result!.scale!.origins[0]);
  expect(londonPool.origins).toHaveLength(3);
});

test('a stack that fails after its load balancer was made (no answer names a site) removes the load balancer and both sites', async () => {
  const spec = stackSpec((s) => {
    s.name = 'stack-e';
    s.cloudflare.hostname = 'shop.stack-e.com';
    s.cloudflare.verify = { url: cloud.cloudflare.edge.url, host: 'shop.stack-e.com', requests: 10, siteHeader: 'x-no-such-header' };
    // Beside the stack of the test before: its own names and address ranges.
    Object.values(s.sites).forEach(({ app, data }, i) => {
      app.name = `${app.name}-b`;
      data.name = `${data.name}-b`;
      app.vpc = { ipRange: `10.${60 + 2 * i}.0.0/16` };
      data.vpc = { ipRange: `10.${61 + 2 * i}.0.0/16` };
    });
  });
  const before = await leftovers();
  const { failure } = await run<ProvisionStackResult>('provisionStack', 'provision-stack-e-no-traffic', [{ spec }]);
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect(String((failure as WorkflowFailedError).cause?.message)).toMatch(/no answer from fra1, london/);
  expect(await leftovers()).toEqual(before);
  expect(before.some((thing) => thing.includes('shop'))).toBe(false);
});
