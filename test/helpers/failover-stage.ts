// What the failover tests share: the activities a failover runs, wired as the worker's
// createActivities wires them (secrets from the test's own table), an activity run outside a
// workflow, the replication user both MariaDB servers know, and the stage itself: a Temporal dev
// server, the local cloud's Cloudflare API and edge with zone stack-e.com, two site origins (fra1,
// london) behind a site-per-pool load balancer at 50/50, and a MariaDB pair with fra1 the primary
// and london its replica holding the shop's orders (a Redis pair too, when asked).
import { MockActivityEnvironment } from '@temporalio/testing';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud, LocalCloudOptions } from '@opsflow/localcloud';
import Cloudflare from 'cloudflare';
import { createCloudflareActivities } from '../../src/activities/cloudflare/load-balancer';
import { createTrafficSampleActivities, sampleTraffic } from '../../src/activities/cloudflare/traffic-sample';
import { createRedisFailoverActivities } from '../../src/activities/database/redis';
import { createDatabaseFailoverActivities } from '../../src/activities/database/replication';
import { createEnvironmentActivities } from '../../src/activities/environment/claims';
import { createRolloutNoticeActivities } from '../../src/activities/rollout/rollout-notice';
import { createSiteProbeActivities } from '../../src/activities/http/site-probe';
import { createApprovalActivities } from '../../src/activities/temporal/approve-when-waiting';
import { secretResolver } from '../../src/backups/secrets';
import type { EnsuredLoadBalancer } from '../../src/integrations/cloudflare/load-balancing';
import { OpsRpoTransactions, OpsRtoSeconds } from '../../src/temporal/search-attributes';
import { startLocalCloud } from './localcloud';
import { appWrite, orderCount, PASSWORDS, startMariadb, stopAllMariadb, type MariadbServer } from './mariadb-servers';
import { REDIS_PASSWORD_SECRETS, startRedis, stopAllRedis, type RedisProcess } from './redis-servers';
import { startSiteOrigin, type SiteOrigin } from './site-origins';
import { startTemporal } from './temporal';

export const REPLICATION = { user: 'repl', password: 'env:OPSFLOW_SECRET_DB_REPL' };

export function failoverActivities(secrets: Record<string, string>) {
  return {
    ...createEnvironmentActivities(),
    ...createCloudflareActivities({ resolveSecret: secretResolver(secrets) }),
    ...createTrafficSampleActivities(),
    ...createSiteProbeActivities(),
    ...createDatabaseFailoverActivities({ resolveSecret: secretResolver(secrets) }),
    ...createRedisFailoverActivities({ resolveSecret: secretResolver(secrets) }),
    // An unanswered approval's escalation notice (the webhook URL one of the secrets).
    ...createRolloutNoticeActivities({ resolveSecret: secretResolver(secrets) }),
    // A DR drill approving its own halves.
    ...createApprovalActivities(),
  };
}

/** Runs an activity function outside a workflow, with an activity context. */
export const runActivity = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;

/** Polls `check` every 100 ms, up to 150 s. */
export async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let polls = 0; !(await check()); polls++) {
    if (polls > 1500) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface FailoverStage {
  env: TestWorkflowEnvironment;
  cloud: LocalCloud;
  cf: Cloudflare;
  fra: MariadbServer;
  lon: MariadbServer;
  /** fra1's Redis (the primary) and london's (its replica), when asked for. */
  redis?: { fra: RedisProcess; lon: RedisProcess };
  origins: SiteOrigin[];
  lb: EnsuredLoadBalancer;
  /** Every secret the activities resolve (database passwords, the Cloudflare token, Redis's). */
  secrets: Record<string, string>;
  activities(): ReturnType<typeof failoverActivities>;
  cloudflare(): { apiUrl: string; apiToken: string };
  loadBalancerRef(): { zoneId: string; accountId: string; loadBalancerId: string; hostname: string; pools: Record<string, string> };
  frontOf(site: string): SiteOrigin;
  /** `requests` GETs through the edge for www.stack-e.com. */
  through(requests: number): ReturnType<typeof sampleTraffic>;
  /** Sets the local cloud's faults (an empty list clears them). */
  faults(rules: object[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startFailoverStage(options: {
  serverIds: [number, number];
  orders: number;
  redis?: boolean;
  /** The local cloud's options over the stage's (no SSH hosts): `{ sshHosts: true }` for a test that makes servers. */
  localCloud?: Partial<LocalCloudOptions>;
}): Promise<FailoverStage> {
  // One at a time: on a loaded machine the dev server must answer within the SDK's 5 s.
  const env = await startTemporal();
  const { cloud } = await startLocalCloud({ sshHosts: false, ...options.localCloud });
  const fra = await startMariadb('fra1-db', options.serverIds[0]);
  const lon = await startMariadb('london-db', options.serverIds[1]);
  const secrets: Record<string, string> = { ...PASSWORDS, ...REDIS_PASSWORD_SECRETS, OPSFLOW_SECRET_CLOUDFLARE_TOKEN: cloud.token };
  const cf = new Cloudflare({ apiToken: cloud.token, baseURL: `${cloud.apiUrl}/client/v4`, maxRetries: 0 });
  const [account] = (await cf.accounts.list()).result;
  await cf.zones.create({ account: { id: account!.id }, name: 'stack-e.com' });
  const origins = [await startSiteOrigin('fra1', 'fra-app'), await startSiteOrigin('london', 'lon-app')];
  const activities = () => failoverActivities(secrets);
  const acts = activities();
  const cloudflare = () => ({ apiUrl: `${cloud.apiUrl}/client/v4`, apiToken: 'env:OPSFLOW_SECRET_CLOUDFLARE_TOKEN' });
  const lb = await runActivity(() =>
    acts.ensureSiteLoadBalancer({
      cloudflare: cloudflare(),
      zone: 'stack-e.com',
      hostname: 'www.stack-e.com',
      sites: origins.map((o) => ({ name: o.site, origins: [{ name: o.name, address: o.address, port: o.port }] })),
      monitor: { type: 'http', path: '/health', interval: 1, timeout: 5, retries: 1, consecutiveDown: 2 },
      initialSplit: { fra1: 50, london: 50 },
    }),
  );
  await until('both pools healthy', async () => {
    const health = await runActivity(() => acts.readPoolHealth({ cloudflare: cloudflare(), loadBalancer: lb }));
    return health.fra1!.healthy && health.london!.healthy;
  });
  // fra1 is the primary, london its replica, with the application's orders.
  await fra.sql('CREATE DATABASE shop; CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB;');
  await runActivity(() => acts.replicateFrom({ server: lon.admin, primary: fra.admin, replication: REPLICATION }));
  for (let i = 0; i < options.orders; i++) await appWrite(fra, `order ${i}`);
  await until(`london has the ${options.orders} orders`, async () => (await orderCount(lon).catch(() => 0)) === options.orders);
  let redis: FailoverStage['redis'];
  if (options.redis) {
    redis = { fra: await startRedis('fra1-redis'), lon: await startRedis('london-redis') };
    await runActivity(() => acts.pointRedisAt({ server: redis!.lon.spec, primary: redis!.fra.spec }));
    await until('london-redis follows fra1-redis', async () => {
      const role = await runActivity(() => acts.readRedisRole({ server: redis!.lon.spec }));
      return role.primary?.linkUp === true;
    });
  }
  return {
    env,
    cloud,
    cf,
    fra,
    lon,
    redis,
    origins,
    lb,
    secrets,
    activities,
    cloudflare,
    loadBalancerRef: () => ({
      zoneId: lb.zoneId,
      accountId: lb.accountId,
      loadBalancerId: lb.loadBalancerId,
      hostname: lb.hostname,
      pools: lb.pools,
    }),
    frontOf: (site) => origins.find((o) => o.site === site)!,
    through: (requests) => runActivity(() => sampleTraffic({ url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests })),
    faults: async (rules) => {
      const res = await fetch(`${cloud.apiUrl}/_localcloud/faults`, {
        method: 'PUT',
        headers: { ...cloud.controlHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ rules }),
      });
      if (res.status !== 200) throw new Error(`faults refused: ${res.status} ${await res.text()}`);
    },
    stop: async () => {
      await Promise.all(origins.map((o) => o.stop()));
      await stopAllRedis();
      await stopAllMariadb();
      await cloud.stop();
      await env.teardown();
    },
  };
}

/**
 * The RTO and RPO search attributes a failover or failback recorded, as `describe` shows them,
 * and the workflow ids `temporal workflow list --query <query>` finds (polled until the
 * visibility store has the run).
 */
export async function rtoRpoAttributes(
  client: TestWorkflowEnvironment['client'],
  workflowId: string,
  query: string,
): Promise<{ rtoSeconds?: number; rpoTransactions?: number; listed: string[] }> {
  const described = await client.workflow.getHandle(workflowId).describe();
  const attrs = {
    rtoSeconds: described.typedSearchAttributes.get(OpsRtoSeconds),
    rpoTransactions: described.typedSearchAttributes.get(OpsRpoTransactions),
  };
  let listed: string[] = [];
  await until(`${query} lists ${workflowId}`, async () => {
    listed = [];
    for await (const run of client.workflow.list({ query })) listed.push(run.workflowId);
    return listed.includes(workflowId);
  });
  return { ...attrs, listed };
}

/**
 * What a failover's and a failback's inputs say alike about the stage: the Cloudflare connection
 * and load balancer, each site's database (and Redis, when the stage has them), the replication
 * user, and 40 requests through the edge to verify traffic.
 */
export function siteConnections(stage: FailoverStage) {
  return {
    cloudflare: stage.cloudflare(),
    loadBalancer: stage.loadBalancerRef(),
    databases: { fra1: stage.fra.admin, london: stage.lon.admin },
    ...(stage.redis ? { redis: { fra1: stage.redis.fra.spec, london: stage.redis.lon.spec } } : {}),
    replication: REPLICATION,
    verify: { url: stage.cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40 },
  };
}

/** Held until each observer's own source shows fra1 down (london's IO thread lost it, Cloudflare's monitors failed it). */
export async function untilFra1SeenDown(stage: FailoverStage): Promise<void> {
  const acts = stage.activities();
  await until('london lost fra1', async () => {
    const seen = await runActivity(() => acts.readReplication({ server: stage.lon.admin }));
    return seen.replica?.ioRunning !== 'Yes' && /Can't connect|Lost connection/.test(seen.replica?.lastIoError ?? '');
  });
  await until('Cloudflare sees fra1 unhealthy', async () => {
    const health = await runActivity(() => acts.readPoolHealth({ cloudflare: stage.cloudflare(), loadBalancer: stage.lb }));
    return !health.fra1!.healthy;
  });
}

/** The site whose pool the load balancer falls back to, read from the local cloud's Cloudflare API. */
export async function fallbackSiteOf(stage: Pick<FailoverStage, 'cf' | 'lb'>): Promise<string | undefined> {
  const lb = await stage.cf.loadBalancers.get(stage.lb.loadBalancerId, { zone_id: stage.lb.zoneId });
  return Object.entries(stage.lb.pools).find(([, id]) => id === lb.fallback_pool)?.[0];
}

/** Activity types a run scheduled, counted from its history (the latest run without `runId`). */
export async function scheduledActivities(
  client: TestWorkflowEnvironment['client'],
  workflowId: string,
  runId?: string,
): Promise<Record<string, number>> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const counts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}
