// The failover's optional step "scale the survivor": once traffic is on the survivor, more app
// servers for it, made as rollouts make surge droplets (SurgeDroplets, role `scale`): through the
// survivor's provider seam (its provider's task queue) as its `like.group` (size, image, tags), in
// its region and VPC, named `<env>-<group>-scale-<n>` and tagged with the run, so a retried create
// finds its server; reached over SSH with the host key pinned, bootstrapped, given the compose
// application and behind the health gate; then origins of the survivor's Cloudflare pool, held
// until Cloudflare's own monitors see each of them healthy (the edge then sends them traffic).
// Before they become origins they are joined to the survivor's databases (scale-databases.ts).
// Compensation, registered before each change: the origins out of the pool, then every server
// carrying the run's tag deleted (one whose create answer was lost included). A step of its own that
// fails undoes only the scaling (traffic is already on the survivor, and the failed site may be
// dark): the failover goes on without the extra capacity, the failure in the status and result;
// once scaled, a later step's failure undoes the scaling with the rest of the failover.
import { ApplicationFailure, isCancellation, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { FailoverSite } from '../../specs/failover';
import { failure, OUTCOME, STEP_FAILURE } from '../shared/failures';
import { describeError, runSaga, type Saga } from '../shared/saga';
import { SurgeDroplets } from '../release/surge-droplets';
import { joinScaleServersToDatabases } from './scale-databases';
import type { SurgeDropletView } from '../release/rollout-api';

/** Runs from this patch on may scale the survivor (input `scaleSurvivor`); older runs replay without the step. */
export const FAILOVER_SCALE_PATCH = 'failover-scale-survivor';
export const SCALE_STEP = 'scale the survivor';

/** Cloudflare's monitors are read this often, this many times, for the new origins to be healthy. */
const ORIGIN_HEALTH_POLL = { interval: '2 seconds', reads: 60 } as const;

export interface ScaleSurvivorView {
  /** Each new app server: name, provider id, address and state (creating ... ready, serving, destroyed). */
  servers: SurgeDropletView[];
  /** The tag every new server carries (a failback deletes by it). */
  tag?: string;
  /** The origins as added (name, address, port). */
  added?: { name: string; address: string; port: number }[];
  /** The new servers' origin names now in the survivor's pool. */
  origins: string[];
  /** Why the scaling failed and was undone (the failover went on without it). */
  failed?: string;
}

type Acts = Pick<Activities, 'addPoolOrigins' | 'removePoolOrigins' | 'readPoolHealth'>;

/**
 * Scales the survivor; on success its compensations join the failover's `saga`. Returns false when
 * the scaling failed and was undone on its own (`view.scale.failed` says why).
 */
export async function scaleSurvivor(
  spec: FailoverSite,
  saga: Saga,
  act: Acts,
  view: { scale?: ScaleSurvivorView; attention?: string },
): Promise<boolean> {
  const undo: { name: string; run: () => Promise<unknown> }[] = [];
  try {
    await runSaga((own) =>
      scaleUp(spec, act, view, (name, run) => {
        own.addCompensation(name, run);
        undo.push({ name, run });
      }),
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    view.scale!.failed = describeError(err);
    const incomplete = err instanceof ApplicationFailure && err.type === OUTCOME.RollbackIncomplete;
    if (incomplete) view.attention = `scaling ${spec.to} failed and was not wholly undone: ${view.scale!.failed}`;
    return false;
  }
  for (const { name, run } of undo) saga.addCompensation(name, run);
  return true;
}

async function scaleUp(
  spec: FailoverSite,
  act: Acts,
  view: { scale?: ScaleSurvivorView },
  addCompensation: Saga['addCompensation'],
): Promise<void> {
  const scale = spec.scaleSurvivor!;
  const environment = scale.environmentSpec;
  const app = environment.application!;
  const servers = new SurgeDroplets({
    role: 'scale',
    environment,
    group: environment.droplets.find((g) => g.name === scale.like.group)!,
    count: scale.add,
    networkId: scale.like.networkId,
    directory: app.directory,
    checks: environment.healthChecks,
    // The application's own images, checked running after the health gate.
    canaryImages: app.images,
    changed: () => undefined,
  });
  const shown: ScaleSurvivorView = { servers: servers.views, origins: [], tag: servers.tag };
  view.scale = shown;
  // Registered before the create: a server whose create answer was lost carries the tag too.
  addCompensation(`delete ${servers.described} (tag ${servers.tag})`, () => servers.destroy());
  await servers.create();
  await servers.bootstrap();
  await servers.deploy();
  await joinScaleServersToDatabases(spec, servers, app.directory, addCompensation);

  const pool = { cloudflare: spec.cloudflare, loadBalancer: spec.loadBalancer, site: spec.to };
  const origins = servers.views.map((v) => ({ name: originName(v.name), address: v.address!, port: scale.origins.port }));
  addCompensation(`remove ${origins.map((o) => o.name).join(', ')} from pool ${spec.to}`, async () => {
    await act.removePoolOrigins({ ...pool, origins });
    shown.origins = [];
  });
  await act.addPoolOrigins({ ...pool, origins });
  shown.origins = origins.map((o) => o.name);
  shown.added = origins;

  // Health-gated at Cloudflare too: the edge sends traffic to an origin its monitors passed.
  const names = new Set(shown.origins);
  const poolOnly = {
    cloudflare: spec.cloudflare,
    loadBalancer: { ...spec.loadBalancer, pools: { [spec.to]: spec.loadBalancer.pools[spec.to]! } },
  };
  for (let read = 1; ; read++) {
    const health = (await act.readPoolHealth(poolOnly))[spec.to];
    const seen = (health?.origins ?? []).filter((o) => names.has(o.name));
    if (seen.length === names.size && seen.every((o) => o.healthy)) break;
    if (read >= ORIGIN_HEALTH_POLL.reads)
      throw failure(
        STEP_FAILURE.HealthCheckFailed,
        `Cloudflare's monitors never saw ${[...names].join(', ')} healthy in pool ${spec.to}: ${seen.map((o) => `${o.name} ${o.healthy ? 'healthy' : (o.reason ?? 'unhealthy')}`).join(', ') || 'not in the pool'}`,
      );
    await sleep(ORIGIN_HEALTH_POLL.interval);
  }
  servers.mark('serving');
}

/** Cloudflare's origin names take letters, digits, - and _: a server's name as it is. */
const originName = (server: string) => server.replace(/[^A-Za-z0-9_-]/g, '-');
