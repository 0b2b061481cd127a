// failoverSite with scaleSurvivor, on the failover stage (Temporal dev server, the local cloud's
// Cloudflare API and edge, a MariaDB pair) whose local cloud also runs SSH hosts: london is a
// Linode site, so the run makes the survivor's extra app servers through the Linode provider
// seam (its own task queue and worker), as its `app` group (size, image, tags), bootstrapped over
// SSH (host key pinned), given the compose application (which names its site in x-opsflow-site)
// and health-gated, then puts them in london's pool, held until Cloudflare's monitors pass them.
// A planned failover ends with the new server running the application, in london's pool, and
// requests through the edge answered by it. A failover whose traffic check fails after the scale
// step (the edge's answers counted by another header, so none names london) takes the origin out
// of the pool and deletes the server, then undoes the rest.
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { getOnce } from '../../../src/activities/http/get-once';
import { parseEnvironmentSpec, type EnvironmentSpec } from '../../../src/specs/environment';
import type { FailoverSiteInput } from '../../../src/specs/failover';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import { APP_PORT } from '../../helpers/canary-stage';
import { appWrite } from '../../helpers/mariadb-servers';
import { startOpsflowWorkers, workflowWorkerActivities, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { uniqueTaskQueue, withWorker } from '../../helpers/temporal';
import { REPLICATION, runActivity, siteConnections, startFailoverStage, type FailoverStage } from '../../helpers/failover-stage';

jest.setTimeout(600_000);

let stage: FailoverStage;
let workers: OpsflowWorkers;
const taskQueue = uniqueTaskQueue('failover-scale');

/** london's environment spec (as a client sends it): a Linode site whose app servers run the `shop` application, naming their site. */
function londonSpec(name = 'stack-e-lon', site = 'london', image = 'ghcr.io/acme/shop:1.0'): EnvironmentSpec {
  return parseEnvironmentSpec({
    name,
    cloud: 'linode',
    region: 'gb-lon',
    firewall: { inbound: [22, APP_PORT].map((port) => ({ protocol: 'tcp', ports: String(port) })) },
    droplets: [{ name: 'app', count: 1, size: 'g6-standard-1', image: 'linode/ubuntu22.04', tags: ['booking'] }],
    ssh: { user: 'root', key: 'deploy' },
    bootstrap: { packages: ['docker.io', 'docker-compose-plugin'], directories: [{ path: '/opt/shop' }] },
    application: {
      directory: '/opt/shop',
      compose: `services:\n  shop:\n    image: \${SHOP_IMAGE}\n    environment:\n      OPSFLOW_SITE: \${SITE}\n    ports: ["${APP_PORT}:80"]\n`,
      environment: { SITE: site },
      images: { shop: image },
    },
    healthChecks: [{ name: 'shop', port: APP_PORT, path: '/health', intervalSeconds: 1, attempts: 5 }],
    onFailure: 'rollback',
  });
}

function input(from: string, to: string, extra: Partial<FailoverSiteInput> = {}): FailoverSiteInput {
  return {
    environment: 'stack-e',
    from,
    to,
    mode: 'planned',
    ...siteConnections(stage),
    approval: { autoApproveAfter: '1s' },
    scaleSurvivor: { add: 1, environmentSpec: londonSpec(), like: { group: 'app' }, origins: { port: APP_PORT } },
    ...extra,
  };
}

/** The workflow worker's activities: the SSH and health steps with the test's deploy key, and the failover's. */
function activities() {
  return { ...workflowWorkerActivities(workers, stage.secrets), ...stage.activities() };
}

/** Linode instances of the local cloud with these labels' prefix, as its API lists them. */
async function linodes(prefix: string): Promise<{ label: string; tags: string[]; ipv4: string[] }[]> {
  const res = await fetch(`${stage.cloud.apiUrl}/v4/linode/instances?page_size=500`, {
    headers: { authorization: `Bearer ${stage.cloud.token}` },
  });
  const body = (await res.json()) as { data: { label: string; tags: string[]; ipv4: string[] }[] };
  return body.data.filter((l) => l.label.startsWith(prefix));
}

const londonPool = async () =>
  (await stage.cf.loadBalancers.pools.get(stage.lb.pools.london!, { account_id: stage.lb.accountId })).origins?.map((o) => o.name) ?? [];

/** `requests` GETs through the edge, counted by the origin that answered (the edge's x-localcloud-origin). */
async function byOrigin(requests: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < requests; i++) {
    const res = await getOnce(new URL(stage.cloud.cloudflare.edge.url), { host: 'www.stack-e.com', timeoutMs: 10_000 });
    const key = `${String(res.headers['x-localcloud-origin'])} ${res.statusCode} ${String(res.headers['x-opsflow-site'])}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A failover run to its end by the test's worker: its result or failure, and its status at the end. */
async function runFailover(workflowId: string, args: FailoverSiteInput) {
  return withWorker(stage.env, taskQueue, activities(), async () => {
    const handle = await stage.env.client.workflow.start('failoverSite', { taskQueue, workflowId, args: [args] });
    const ended = handle.result().then(
      (result) => ({ result: result as FailoverResult, failure: undefined }),
      (e: unknown) => ({
        result: undefined,
        failure: e instanceof WorkflowFailedError && e.cause instanceof ApplicationFailure ? e.cause : e,
      }),
    );
    const { result, failure } = await ended;
    return {
      result: result!,
      failure: failure as ApplicationFailure | undefined,
      status: await handle.query<FailoverStatus>('status'),
    };
  });
}

beforeAll(async () => {
  stage = await startFailoverStage({
    serverIds: [41, 42],
    orders: 5,
    localCloud: { sshHosts: {}, timing: { dropletCreateMs: 1500, actionMs: 150 } },
  });
  workers = await startOpsflowWorkers(stage.env, stage.cloud, stage.secrets);
}, 600_000);

afterAll(async () => {
  await stage?.faults([]).catch(() => undefined);
  await workers?.stop();
  await stage?.stop();
});

test("a planned failover fra1 -> london with scaleSurvivor.add 1: the new Linode server runs the application, is in london's pool and answers requests through the edge", async () => {
  expect(await linodes('stack-e-lon-app-scale')).toEqual([]);
  const { result, status } = await runFailover('failover-scale-fra1-london', input('fra1', 'london'));

  expect(status.remainingSteps).toEqual([]);
  expect(result.scale?.servers).toEqual([
    expect.objectContaining({ instance: 'app-scale-1', name: 'stack-e-lon-app-scale-1', state: 'serving', address: expect.any(String) }),
  ]);
  expect(result.scale?.origins).toEqual(['stack-e-lon-app-scale-1']);
  const address = result.scale!.servers[0]!.address!;
  // One Linode instance, with the group's tags, the scale tag and the run's tag.
  const made = await linodes('stack-e-lon-app-scale');
  expect(made.map((l) => l.label)).toEqual(['stack-e-lon-app-scale-1']);
  expect(made[0]!.tags).toEqual(expect.arrayContaining(['booking', 'opsflow-scale', 'opsflow:failover-scale-fra1-london']));
  expect(made[0]!.ipv4).toContain(address);
  // The application itself answers there, naming london.
  const direct = await getOnce(new URL(`http://${address}:${APP_PORT}/version`), { timeoutMs: 10_000 });
  expect(direct.statusCode).toBe(200);
  expect(direct.headers['x-opsflow-site']).toBe('london');
  expect(await londonPool()).toEqual(['lon-app', 'stack-e-lon-app-scale-1']);
  // All traffic on london, shared by its two origins (random steering, weight 1 each): 200 requests.
  const counts = await byOrigin(200);
  expect(Object.keys(counts).sort()).toEqual(['lon-app 200 london', 'stack-e-lon-app-scale-1 200 london']);
  expect(counts['stack-e-lon-app-scale-1 200 london']).toBeGreaterThan(0);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(200);
}, 600_000);

test('a failover london -> fra1 that fails after the scale step takes the new origin out of the pool and deletes the server, then undoes the rest', async () => {
  // fra1 follows london again (the first test made london the primary).
  const acts = stage.activities();
  await runActivity(() => acts.replicateFrom({ server: stage.fra.admin, primary: stage.lon.admin, replication: REPLICATION }));
  await appWrite(stage.lon, 'before the failed failover');
  const fraSpec = londonSpec('stack-e-fra', 'fra1');
  // The traffic check counts answers by a header no app server sends: none is counted on fra1.
  const { failure, status } = await runFailover(
    'failover-scale-london-fra1',
    input('london', 'fra1', {
      scaleSurvivor: { add: 1, environmentSpec: fraSpec, like: { group: 'app' }, origins: { port: APP_PORT } },
      verify: { ...siteConnections(stage).verify, siteHeader: 'x-not-a-site' },
    }),
  );

  expect(failure?.type).toBe('RolledBack');
  expect(status.failover.phase).toBe('rolled back');
  expect(status.outcome?.undone?.slice(0, 2)).toEqual([
    'remove stack-e-fra-app-scale-1 from pool fra1',
    'delete scale server stack-e-fra-app-scale-1 (tag opsflow:failover-scale-london-fra1)',
  ]);
  expect(status.failover.scale?.servers).toEqual([expect.objectContaining({ name: 'stack-e-fra-app-scale-1', state: 'destroyed' })]);
  expect(status.failover.scale?.origins).toEqual([]);
  const fraPool = (await stage.cf.loadBalancers.pools.get(stage.lb.pools.fra1!, { account_id: stage.lb.accountId })).origins?.map(
    (o) => o.name,
  );
  expect(fraPool).toEqual(['fra-app']);
  expect(await linodes('stack-e-fra-app-scale')).toEqual([]);
  // The first run's server stays: this run's delete is by its own tag.
  expect((await linodes('stack-e-lon-app-scale')).map((l) => l.label)).toEqual(['stack-e-lon-app-scale-1']);
}, 600_000);

test('a scaling that fails its own health gate is undone alone: the failover london -> fra1 completes without the extra server', async () => {
  // fra1 follows london again after the rolled-back run (as the rollback left it).
  await appWrite(stage.lon, 'before the failover with a bad scale');
  const fraSpec = londonSpec('stack-e-fra', 'fra1', 'ghcr.io/acme/shop:1.0-unhealthy');
  const { result, status } = await runFailover(
    'failover-scale-unhealthy-london-fra1',
    input('london', 'fra1', { scaleSurvivor: { add: 1, environmentSpec: fraSpec, like: { group: 'app' }, origins: { port: APP_PORT } } }),
  );

  expect(status.failover.phase).toBe('completed');
  expect(result.traffic.split).toEqual({ london: 0, fra1: 100 });
  expect(result.scale?.failed).toMatch(/health/i);
  expect(result.scale?.servers).toEqual([expect.objectContaining({ name: 'stack-e-fra-app-scale-1', state: 'destroyed' })]);
  expect(result.scale?.origins).toEqual([]);
  const fraPool = (await stage.cf.loadBalancers.pools.get(stage.lb.pools.fra1!, { account_id: stage.lb.accountId })).origins?.map(
    (o) => o.name,
  );
  expect(fraPool).toEqual(['fra-app']);
  expect(await linodes('stack-e-fra-app-scale')).toEqual([]);
  // All traffic on fra1's own origin.
  const counts = await byOrigin(100);
  expect(counts).toEqual({ 'fra-app 200 fra1': 100 });
}, 600_000);
