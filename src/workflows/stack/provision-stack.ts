// provisionStack: stack E's two sites in one run, as the runbook reads.
//   1. Provision both sites at once, a child run each (provisionSite: its data and app servers).
//      A site that fails has rolled itself back; the other is then destroyed too.
//   2. Ready every MySQL server for GTID replication (server_id, strict mode, replication user).
//   3. Wire replication: in each site the replica follows the site's first server, and the other
//      site's first server follows the primary site's (the cross-site channel). Redis the same.
//   4. Cloudflare: a pool per site of its app servers, one load balancer at the spec's split.
//   5. Verify: a check row written on the primary reaches every replica, every Redis replica's
//      link is up, both pools are healthy, requests through the edge reach every site.
// Any failure after step 1 undoes it all newest first: the load balancer, then both sites.
import { executeChild, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { DatabaseServer } from '../../integrations/mysql/connection';
import type { RedisServer } from '../../integrations/redis/replication';
import { destroyWorkflowId } from '../../names/workflow-ids';
import type { EnvironmentSpec } from '../../specs/environment';
import type { DatabaseFirewalls } from '../../specs/failover';
import { groupInstances, orderedSites, parseStackSpec, type StackSpec } from '../../specs/stack';
import { destroyEnvironment } from '../environment/destroy-environment';
import type { ProvisionResult } from '../environment/provision-environment';
import { endsInStatus } from '../shared/ends-in-status';
import { failure, STEP_FAILURE } from '../shared/failures';
import { COMPENSATION_RETRY, describeError, runSaga, type Saga } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { summarizedActivities } from '../shared/summarized-activities';
import { validated } from '../shared/validated';
import { databaseValues, pointAppServers, type AppServers } from '../shared/point-apps';
import { DATABASE_ACCESS_STEP, narrowDatabaseAccess } from './database-access';
import { provisionSite, type ProvisionSiteResult } from './provision-site';
import type { ProvisionStackResult, StackSite } from './stack-api';

export interface ProvisionStackInput {
  spec: StackSpec;
}

const STEPS = [
  'validate spec',
  'provision sites',
  'ready the databases',
  'replicate MySQL',
  'replicate Redis',
  'point the app servers at the primary',
  DATABASE_ACCESS_STEP,
  'Cloudflare load balancer',
  'verify',
];

const act = summarizedActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});
const undo = summarizedActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: COMPENSATION_RETRY });

/** How often and how long the verify step looks again for a replica to catch up or a pool to turn healthy. */
const POLL_MS = 1000;
const MAX_POLLS = 180;

export async function provisionStack(input: ProvisionStackInput): Promise<ProvisionStackResult> {
  const status = new StatusTracker('provisionStack', STEPS);
  return endsInStatus(status, async () => {
    status.step('validate spec');
    const spec = validated('spec', parseStackSpec, input.spec);
    status.answerQueries();
    return runSaga((saga) => provisionStackSaga(spec, status, saga), {
      onRollback: () => status.finish('rolling back'),
      onRolledBack: (report, err) => status.rolledBack(report, describeError(err)),
    });
  });
}

async function provisionStackSaga(spec: StackSpec, status: StatusTracker, saga: Saga): Promise<ProvisionStackResult> {
  const siteNames = orderedSites(spec);

  status.step('provision sites');
  const sites = await provisionSites(spec, siteNames, saga);

  const topology = Object.fromEntries(siteNames.map((site) => [site, siteTopology(spec, site, sites[site]!)]));
  const mysqlServers = siteNames.flatMap((site) => [topology[site]!.mysql.primary, topology[site]!.mysql.replica]);

  status.step('ready the databases');
  await Promise.all(
    mysqlServers.map((server, i) =>
      // 1, 2 in the first site, 101, 102 in the second: unique across the stack, readable in SHOW SLAVE STATUS.
      act.prepareReplicationServer({ server, serverId: Math.floor(i / 2) * 100 + (i % 2) + 1, replication: spec.mysql.replication }),
    ),
  );

  status.step('replicate MySQL');
  const links = replicationLinks(spec, siteNames, topology);
  const replication: string[] = [];
  for (const { follower, leader } of links.mysql) {
    await act.replicateFrom({ server: follower, primary: leader, replication: spec.mysql.replication });
    replication.push(`MySQL ${follower.name} <- ${leader.name}`);
  }

  if (spec.redis) {
    status.step('replicate Redis');
    for (const { follower, leader } of links.redis) {
      await act.pointRedisAt({ server: follower, primary: leader });
      replication.push(`Redis ${follower.name} <- ${leader.name}`);
    }
  }

  const apps = spec.appVariables ? appServersOf(spec, siteNames, sites) : undefined;
  if (spec.appVariables && apps) {
    status.step('point the app servers at the primary');
    const head = topology[spec.primarySite]!;
    const values = databaseValues(spec.appVariables, head.mysql.primary.host, head.redis?.primary.host);
    await Promise.all(siteNames.map((site) => pointAppServers(apps[site]!, values)));
  }

  let databaseFirewalls: DatabaseFirewalls | undefined;
  if (spec.databaseAccess) {
    status.step(DATABASE_ACCESS_STEP);
    databaseFirewalls = await narrowDatabaseAccess(spec, siteNames, sites);
  }

  status.step('Cloudflare load balancer');
  const cloudflare = { ...(spec.cloudflare.apiUrl ? { apiUrl: spec.cloudflare.apiUrl } : {}), apiToken: spec.cloudflare.apiToken };
  const split = spec.cloudflare.split ?? evenSplit(siteNames);
  // Registered first: a create whose answer was lost is still found (by name) and deleted.
  saga.addCompensation(`delete Cloudflare load balancer ${spec.cloudflare.hostname}`, () =>
    undo.removeSiteLoadBalancer({ cloudflare, zone: spec.cloudflare.zone, hostname: spec.cloudflare.hostname, sites: siteNames }),
  );
  const monitor = spec.cloudflare.monitor;
  const lb = await act.ensureSiteLoadBalancer({
    cloudflare,
    zone: spec.cloudflare.zone,
    hostname: spec.cloudflare.hostname,
    sites: siteNames.map((site) => ({
      name: site,
      origins: topology[site]!.app.hosts.map((h) => ({
        name: `${site}-${h.instance}`,
        address: h.address,
        port: spec.cloudflare.origins.port,
      })),
    })),
    monitor: {
      type: 'http',
      path: monitor.path,
      interval: monitor.intervalSeconds,
      timeout: 5,
      retries: 1,
      consecutiveDown: monitor.consecutiveDown,
    },
    initialSplit: split,
  });
  const loadBalancer = {
    zoneId: lb.zoneId,
    accountId: lb.accountId,
    loadBalancerId: lb.loadBalancerId,
    hostname: lb.hostname,
    pools: lb.pools,
  };

  status.step('verify');
  const primary = topology[spec.primarySite]!.mysql.primary;
  const check = await act.verifyWrite({ server: primary, id: `provision-${workflowInfo().workflowId}` });
  const mysqlCaughtUp: string[] = [];
  for (const server of mysqlServers.filter((s) => s !== primary)) {
    await until(`${server.name} has ${primary.name}'s check row (GTID ${check.position})`, async () => {
      const seen = await act.readReplication({ server, primary });
      return seen.behindPrimary?.transactions === 0;
    });
    mysqlCaughtUp.push(server.name);
  }
  const redisLinked: string[] = [];
  for (const { follower, leader } of links.redis) {
    await until(`Redis ${follower.name} linked to ${leader.name}`, async () => {
      const role = await act.readRedisRole({ server: follower });
      return role.role === 'replica' && role.primary?.linkUp === true;
    });
    redisLinked.push(follower.name);
  }
  await until(`Cloudflare sees every pool of ${lb.hostname} healthy`, async () => {
    const health = await act.readPoolHealth({ cloudflare, loadBalancer });
    return siteNames.every((site) => health[site]?.healthy === true);
  });
  const trafficBySite = spec.cloudflare.verify ? await verifyTraffic(spec.cloudflare.verify, split) : undefined;

  status.finish('done');
  const mysqlOf = (site: string) => topology[site]!.mysql.primary;
  return {
    stack: spec.name,
    primarySite: spec.primarySite,
    sites: topology,
    replication,
    loadBalancer,
    verified: { mysqlCaughtUp, redisLinked, poolsHealthy: siteNames, ...(trafficBySite ? { trafficBySite } : {}) },
    failover: {
      environment: spec.name,
      cloudflare,
      loadBalancer,
      // Each site's first server: the primary site's primary and the cross-site replica a failover promotes.
      databases: Object.fromEntries(siteNames.map((site) => [site, mysqlOf(site)])),
      ...(spec.redis ? { redis: Object.fromEntries(siteNames.map((site) => [site, topology[site]!.redis!.primary])) } : {}),
      replication: spec.mysql.replication,
      ...(spec.appVariables && apps ? { apps: { variables: spec.appVariables, sites: apps } } : {}),
      ...(databaseFirewalls ? { databaseFirewalls } : {}),
    },
  };
}

/** Each site's app servers as their provisioning left them: hosts with pinned keys, SSH, the application's folder. */
function appServersOf(spec: StackSpec, siteNames: string[], sites: Record<string, ProvisionSiteResult>): Record<string, AppServers> {
  return Object.fromEntries(
    siteNames.map((site) => {
      const made = sites[site]!.app;
      return [
        site,
        {
          hosts: made.hosts.map((h) => ({ instance: h.instance, address: h.address, hostKey: h.hostKey })),
          ssh: made.ssh,
          directory: made.application?.directory ?? spec.sites[site]!.app.application?.directory ?? '/opt/app',
        },
      ];
    }),
  );
}

/** Both sites at once; each that was made registers its undo, and a failed one fails the run (so the rest is undone). */
async function provisionSites(spec: StackSpec, siteNames: string[], saga: Saga): Promise<Record<string, ProvisionSiteResult>> {
  const settled = await Promise.allSettled(
    siteNames.map((site) =>
      executeChild(provisionSite, {
        workflowId: `provision-${spec.name}-site-${site}`,
        args: [{ stack: spec.name, site, app: spec.sites[site]!.app, data: spec.sites[site]!.data }],
        staticSummary: `${spec.name}: provision site ${site} (${spec.sites[site]!.app.cloud} ${spec.sites[site]!.app.region})`,
      }),
    ),
  );
  const results: Record<string, ProvisionSiteResult> = {};
  const failed: string[] = [];
  siteNames.forEach((site, i) => {
    const outcome = settled[i]!;
    if (outcome.status === 'rejected') {
      failed.push(describeError(outcome.reason));
      return;
    }
    results[site] = outcome.value;
    const { app, data } = spec.sites[site]!;
    saga.addCompensation(`destroy site ${site} (${data.name}, ${app.name})`, () => destroySite(spec.name, site, [data, app]));
  });
  if (failed.length) throw failure(STEP_FAILURE.SiteNotProvisioned, failed.join('; '));
  return results;
}

async function destroySite(stack: string, site: string, environments: EnvironmentSpec[]): Promise<void> {
  await Promise.all(
    environments.map((env) =>
      executeChild(destroyEnvironment, {
        workflowId: destroyWorkflowId(env.name, `undo-${workflowInfo().runId.slice(0, 8)}`),
        args: [{ environment: env.name, cloud: env.cloud }],
        staticSummary: `undo ${stack} site ${site}: destroy ${env.name}`,
      }),
    ),
  );
}

/** Where a site's servers are: the data environment's `<group>-1` its first server, `-2` its replica. */
function siteTopology(spec: StackSpec, site: string, made: ProvisionSiteResult): StackSite {
  const { app, data } = spec.sites[site]!;
  const hosts = (result: ProvisionResult) => result.hosts.map((h) => ({ instance: h.instance, address: h.address }));
  const addressOf = (instance: string) => {
    const host = made.data.hosts.find((h) => h.instance === instance);
    if (!host) throw failure(STEP_FAILURE.SiteNotProvisioned, `site ${site}: ${data.name} has no host ${instance}`);
    return host.address;
  };
  const [db1, db2] = groupInstances(data, spec.mysql.group) as [string, string];
  const mysql = (instance: string): DatabaseServer => ({
    name: `${site}-${instance}`,
    host: addressOf(instance),
    port: spec.mysql.port,
    user: spec.mysql.admin.user,
    password: spec.mysql.admin.password,
  });
  const redis = spec.redis;
  const redisOn = (instance: string): RedisServer => ({
    name: `${site}-${instance}`,
    host: addressOf(instance),
    port: redis!.port,
    ...(redis!.password ? { password: redis!.password } : {}),
  });
  const redisInstances = redis ? (groupInstances(data, redis.group) as [string, string]) : undefined;
  return {
    app: {
      environment: app.name,
      hosts: hosts(made.app).filter((h) => groupInstances(app, spec.cloudflare.origins.group).includes(h.instance)),
    },
    data: { environment: data.name, hosts: hosts(made.data) },
    mysql: { primary: mysql(db1), replica: mysql(db2) },
    ...(redisInstances ? { redis: { primary: redisOn(redisInstances[0]), replica: redisOn(redisInstances[1]) } } : {}),
  };
}

/** Who follows whom, leaders first: the primary site's replica, the other site's first server (cross-site), its replica. */
function replicationLinks(spec: StackSpec, siteNames: string[], topology: Record<string, StackSite>) {
  const [primarySite, ...others] = siteNames as [string, ...string[]];
  const mysql: { follower: DatabaseServer; leader: DatabaseServer }[] = [];
  const redis: { follower: RedisServer; leader: RedisServer }[] = [];
  const head = topology[primarySite]!;
  mysql.push({ follower: head.mysql.replica, leader: head.mysql.primary });
  if (head.redis) redis.push({ follower: head.redis.replica, leader: head.redis.primary });
  for (const site of others) {
    const t = topology[site]!;
    mysql.push({ follower: t.mysql.primary, leader: head.mysql.primary }, { follower: t.mysql.replica, leader: t.mysql.primary });
    if (t.redis && head.redis)
      redis.push({ follower: t.redis.primary, leader: head.redis.primary }, { follower: t.redis.replica, leader: t.redis.primary });
  }
  return { mysql, redis: spec.redis ? redis : [] };
}

async function verifyTraffic(
  verify: NonNullable<StackSpec['cloudflare']['verify']>,
  split: Record<string, number>,
): Promise<Record<string, number>> {
  const sample = await act.sampleTraffic({
    url: verify.url,
    ...(verify.host ? { host: verify.host } : {}),
    requests: verify.requests,
    siteHeader: verify.siteHeader,
  });
  const failedCount = Object.values(sample.failed).reduce((n, v) => n + v, 0);
  const silent = Object.entries(split).filter(([site, share]) => share > 0 && !sample.bySite[site]);
  if (failedCount > 0 || silent.length > 0)
    throw failure(
      STEP_FAILURE.TrafficNotMoved,
      `${verify.requests} requests through ${verify.host ?? verify.url}: ${failedCount} failed (${JSON.stringify(sample.failed)}), answered by ${JSON.stringify(sample.bySite)}${silent.length ? `; no answer from ${silent.map(([s]) => s).join(', ')}` : ''}`,
    );
  return sample.bySite;
}

function evenSplit(siteNames: string[]): Record<string, number> {
  const share = Math.floor(100 / siteNames.length);
  return Object.fromEntries(siteNames.map((site, i) => [site, i === 0 ? 100 - share * (siteNames.length - 1) : share]));
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let polls = 0; polls < MAX_POLLS; polls++) {
    if (await check()) return;
    await sleep(POLL_MS);
  }
  throw failure(STEP_FAILURE.ReplicationStateUnexpected, `never: ${what} (looked ${MAX_POLLS} times, ${POLL_MS} ms apart)`);
}
