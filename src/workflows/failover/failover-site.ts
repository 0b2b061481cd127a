// failoverSite: move a two-site stack onto its surviving site, as the runbook says. Assess the
// failed site first: in an emergency it is declared down only when a majority of independent
// observers (the worker's probes, the survivor's replica, Cloudflare's pool health) see it down,
// else the run ends SiteNotDown having changed nothing (a planned switchover records their views
// and goes on). Check the survivor (its Cloudflare pool healthy, its database a replica), wait for a human's `approve`
// (two sites cannot safely decide alone: GitHub 2018), fence the old primary (Patroni: fence before
// promote), promote the survivor's replica only once it applied everything it received and within
// the RPO budget (Orchestrator: decide when the replica agrees), move Cloudflare's weights to
// 0/100, and count requests through the edge until they all land on the survivor. Until traffic is
// verified every step is undone on failure, newest first; the old primary is unfenced only after
// the new one is a replica again, so there are never two writable primaries. After that the
// failover stands: a failed write check names what a human must look at.
import { ApplicationFailure, patched, setHandler, upsertSearchAttributes, workflowInfo, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { parseFailoverSiteInput, type FailoverSite, type FailoverSiteInput } from '../../specs/failover';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import type { StandingScale } from '../environment/inventory';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { failure, STEP_FAILURE } from '../shared/failures';
import { describeError, runSaga } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { summarizedActivities } from '../shared/summarized-activities';
import { validated } from '../shared/validated';
import { describeAssessment, type SiteAssessment } from './assessment';
import { handleApprove } from './approval';
import { waitForApproval } from './approval-policy';
import { leaveFenceWatch } from './leave-fence-watch';
import { observeSite } from './observe-site';
import { FAILOVER_SCALE_PATCH, SCALE_STEP, scaleSurvivor } from './scale-survivor';
import { FAILOVER_POINT_APPS_PATCH, POINT_APPS_STEP, pointSurvivorApps } from './point-survivor-apps';
import { CUT_APPS_STEP, cutFailedSiteApps, FAILOVER_CUT_APPS_PATCH } from './cut-failed-apps';
import { describeSplit, recordRtoRpo, rollbackReporting, sampleThroughEdge } from './switch-common';
import { failoverStatusQuery, type ApprovalRecord, type FailoverResult, type FailoverRpo, type FailoverView } from './failover-api';

export const FAILOVER_STEPS = [
  'check the surviving site',
  'wait for approval',
  'fence the old primary',
  'promote the surviving replica',
  'move traffic',
  'verify traffic on the survivor',
  'verify a write on the new primary',
];

/**
 * Runs from this patch on move the stack's Redis with its database (fence, promote, the old one
 * follows the new) and record the standing failover in the environment's inventory, which
 * failbackSite reads; older runs replay without either.
 */
export const FAILOVER_REDIS_PATCH = 'failover-redis-and-record';

/** Runs from this patch on assess the failed site before anything else; older runs replay without it. */
export const FAILOVER_ASSESSMENT_PATCH = 'failover-assessment';

/**
 * Runs from this patch on fence a primary the assessment already declared down, its survivor's
 * replica having lost it (mode emergency), with one attempt: a refused or timed-out connection is
 * then recorded unreachable at once (the fence watch covers its return) instead of after the four
 * attempts' 7 s of backoff. Older runs replay with the four.
 */
export const FAILOVER_EMERGENCY_FENCE_PATCH = 'failover-emergency-fence-once';

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 };
/** A fence of a site declared down: one attempt, within the connection's own 10 s timeout. */
const fenceOnce: RetryPolicy = { maximumAttempts: 1 };

export async function failoverSite(input: FailoverSiteInput): Promise<FailoverResult> {
  // Bad input is refused before the claim; the failover holds the environment while it waits.
  const spec = validated('input', parseFailoverSiteInput, input);
  const current = patched(FAILOVER_REDIS_PATCH);
  const { workflowId } = workflowInfo();
  return withEnvironmentClaim(spec.environment, 'failover', () => failOver(spec, current), {
    // failbackSite finds the failover it undoes here.
    ...(current
      ? { change: (r) => ({ kind: 'failed over', from: r.from, to: r.to, workflowId, at: r.approval.at, ...standingScale(spec, r) }) }
      : {}),
  });
}

async function failOver(spec: FailoverSite, withRedis: boolean): Promise<FailoverResult> {
  const startedAt = Date.now();
  const { from, to } = spec;
  const oldPrimary = spec.databases[from]!;
  const survivor = spec.databases[to]!;
  const redis = withRedis && spec.redis ? { old: spec.redis[from]!, survivor: spec.redis[to]! } : undefined;
  const act = summarizedActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '30 seconds', retry });
  // Promotion waits for the survivor to receive and apply the rest, heartbeating meanwhile.
  const promotion = summarizedActivities<Activities>({
    startToCloseTimeout: `${spec.catchUpTimeoutSeconds * 2 + 60} seconds`,
    heartbeatTimeout: '30 seconds',
    retry,
  });
  const assessing = patched(FAILOVER_ASSESSMENT_PATCH);
  // More app servers for the survivor after traffic moved, when asked (patched: older runs have no such step).
  const scaling = spec.scaleSurvivor !== undefined && patched(FAILOVER_SCALE_PATCH);
  // The survivor's app servers pointed at the promoted databases, when the input names them (patched: older runs have no such step).
  const pointingApps = spec.apps?.sites[to] !== undefined && patched(FAILOVER_POINT_APPS_PATCH);
  // The failed site's app servers cut off the survivor's databases by firewall, when the input names the firewalls.
  const cuttingApps = spec.databaseFirewalls !== undefined && patched(FAILOVER_CUT_APPS_PATCH);
  const steps = FAILOVER_STEPS.flatMap((s) => {
    if (s === 'fence the old primary' && cuttingApps) return [s, CUT_APPS_STEP];
    if (s === 'move traffic') return [...(pointingApps ? [POINT_APPS_STEP] : []), s, ...(scaling ? [SCALE_STEP] : [])];
    return [s];
  });
  const status = new StatusTracker('failoverSite', assessing ? ['assess the failed site', ...steps] : steps);
  const view: FailoverView = { environment: spec.environment, from, to, phase: 'assessing' };
  setHandler(failoverStatusQuery, () => ({ ...status.snapshot(), failover: JSON.parse(JSON.stringify(view)) as FailoverView }));
  let approval: ApprovalRecord | undefined;
  const approveByPolicy = handleApprove(
    () => (view.phase !== 'awaiting approval' && view.phase !== 'assessing' ? `the failover is ${view.phase}` : undefined),
    (accepted) => {
      approval = accepted;
      view.approval = accepted;
    },
  );
  upsertSearchAttributes([
    { key: OpsEnvironment, value: spec.environment },
    { key: OpsOperation, value: 'failover' },
  ]);
  const loadBalancer = { cloudflare: spec.cloudflare, loadBalancer: spec.loadBalancer };
  const fail = (reason: string, err: unknown) => {
    view.phase = 'failed';
    status.failed(reason);
    throw err;
  };

  let assessment: SiteAssessment | undefined;
  if (assessing) {
    status.step('assess the failed site');
    assessment = await observeSite(spec);
    view.assessment = { ...assessment };
    if (spec.mode === 'emergency' && !assessment.declaredDown) {
      const message = `${from} is not declared down: ${assessment.down} of ${assessment.observers.length} observers see it down, ${assessment.needed} needed (${describeAssessment(assessment)}); nothing was changed`;
      return fail(message, failure(STEP_FAILURE.SiteNotDown, message, { details: [assessment] }));
    }
  }

  status.step('check the surviving site');
  try {
    const health = await act.readPoolHealth(loadBalancer);
    const replica = await act.readReplication({ server: survivor, primary: oldPrimary });
    view.assessment = {
      ...view.assessment,
      survivorPoolHealthy: health[to]?.healthy === true,
      survivorRole: replica.role,
      survivorBehindTransactions: replica.behindPrimary?.transactions ?? null,
    };
    if (!health[to]?.healthy) {
      const down = (health[to]?.origins ?? []).filter((o) => !o.healthy).map((o) => `${o.name}: ${o.reason ?? 'unhealthy'}`);
      throw failure(
        STEP_FAILURE.SurvivorUnhealthy,
        `${to}'s pool is not healthy at Cloudflare (${down.join('; ') || 'no healthy origin'}): not failing over onto it`,
      );
    }
    if (replica.role !== 'replica')
      throw failure(
        STEP_FAILURE.SurvivorUnhealthy,
        `${survivor.name} is ${replica.role}, not a replica of ${oldPrimary.name}: nothing to promote`,
      );
  } catch (err) {
    return fail(describeError(err), err);
  }

  status.step('wait for approval');
  view.phase = 'awaiting approval';
  await waitForApproval({
    policy: spec.approval,
    view,
    workflowId: workflowInfo().workflowId,
    approved: () => approval !== undefined,
    approve: approveByPolicy,
  });
  const approvedAt = Date.now();
  view.phase = 'switching';

  // The site is down by majority and its survivor lost the primary: one fence attempt is the answer.
  const fencer =
    spec.mode === 'emergency' &&
    assessment?.declaredDown === true &&
    assessment.observers.some((o) => o.observer === 'survivor replica' && o.verdict === 'down') &&
    patched(FAILOVER_EMERGENCY_FENCE_PATCH)
      ? summarizedActivities<Activities>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '30 seconds', retry: fenceOnce })
      : act;

  let promoted = false;
  let demoted = false;
  let redisPromoted = false;
  let redisDemoted = false;
  let rpo: FailoverRpo | undefined;
  let appliedAtPromotion = '';
  let trafficVerifiedAt = 0;
  try {
    await runSaga(
      async (saga) => {
        status.step('fence the old primary');
        try {
          const fenced = await fencer.fencePrimary({ server: oldPrimary });
          view.fence = { state: 'fenced', finalPosition: fenced.finalPosition, killedConnections: fenced.killedConnections };
          // Writable again only once the survivor is a replica again (never two writable primaries).
          saga.addCompensation(`unfence ${oldPrimary.name}`, async () => {
            if (promoted && !demoted)
              throw failure(
                STEP_FAILURE.ReplicationStateUnexpected,
                `${survivor.name} could not be made a replica again, so ${oldPrimary.name} stays read-only`,
              );
            await act.unfencePrimary({ server: oldPrimary });
          });
        } catch (err) {
          if (!isUnreachable(err)) throw err;
          // A dead primary cannot be fenced; its site's traffic is cut at Cloudflare below.
          view.fence = { state: 'unreachable', error: describeError(err) };
        }
        if (redis) {
          view.redis = {};
          try {
            const fenced = await fencer.fenceRedisPrimary({ server: redis.old });
            view.redis.fence = { state: 'fenced', finalOffset: fenced.finalOffset, killedClients: fenced.killedClients };
            saga.addCompensation(`unfence ${redis.old.name}`, async () => {
              if (redisPromoted && !redisDemoted)
                throw failure(
                  STEP_FAILURE.ReplicationStateUnexpected,
                  `${redis.survivor.name} could not be made a replica again, so ${redis.old.name} stays fenced`,
                );
              await act.unfenceRedisPrimary({ server: redis.old, minReplicasToWrite: fenced.previousMinReplicasToWrite });
            });
          } catch (err) {
            if (!isUnreachable(err)) throw err;
            view.redis.fence = { state: 'unreachable', error: describeError(err) };
          }
        }

        if (cuttingApps) {
          status.step(CUT_APPS_STEP);
          view.appsCut = await cutFailedSiteApps(spec, saga);
        }

        status.step('promote the surviving replica');
        const promotedNow = await promotion.promoteReplica({
          server: survivor,
          primaryFinalPosition: view.fence?.state === 'fenced' ? view.fence.finalPosition : undefined,
          maxLostTransactions: spec.rpo.maxLostTransactions,
          ...(spec.force ? { force: spec.force } : {}),
          catchUpTimeoutSeconds: spec.catchUpTimeoutSeconds,
        });
        promoted = true;
        appliedAtPromotion = promotedNow.appliedAtPromotion;
        view.promotion = { promoted: promotedNow.promoted, appliedAtPromotion };
        rpo = { ...promotedNow.rpo, ...(promotedNow.forced ? { forcedReason: promotedNow.forced.reason } : {}) };
        const rpoNow: FailoverRpo = rpo;
        view.rpo = rpo;
        saga.addCompensation(`make ${survivor.name} a replica of ${oldPrimary.name} again`, async () => {
          await act.replicateFrom({ server: survivor, primary: oldPrimary, replication: spec.replication });
          demoted = true;
        });
        if (redis) {
          const fence = view.redis!.fence;
          const redisPromotion = await promotion.promoteRedisReplica({
            server: redis.survivor,
            ...(fence?.state === 'fenced' ? { primaryFinalOffset: fence.finalOffset } : {}),
            maxLostBytes: spec.rpo.maxLostRedisBytes,
            ...(spec.force ? { force: spec.force } : {}),
            catchUpTimeoutSeconds: spec.catchUpTimeoutSeconds,
          });
          redisPromoted = true;
          view.redis!.promotion = { promoted: redisPromotion.promoted, offsetAtPromotion: redisPromotion.offsetAtPromotion };
          rpoNow.redisLostBytes = redisPromotion.lostBytes;
          saga.addCompensation(`make ${redis.survivor.name} a replica of ${redis.old.name} again`, async () => {
            await act.pointRedisAt({ server: redis.survivor, primary: redis.old });
            redisDemoted = true;
          });
          if (fence?.state === 'fenced') {
            // The old primary follows the new one: it refuses writes (READONLY) and keeps up for a failback.
            const follows = await act.pointRedisAt({ server: redis.old, primary: redis.survivor });
            view.redis!.oldFollowsNew = true;
            if (follows.changed)
              saga.addCompensation(`stop ${redis.old.name} following ${redis.survivor.name}`, () =>
                act.pointRedisAt({ server: redis.old }),
              );
          }
        }

        if (pointingApps) {
          status.step(POINT_APPS_STEP);
          await pointSurvivorApps(spec, saga, redis);
        }

        status.step('move traffic');
        const moved = await act.setTrafficSplit({ ...loadBalancer, split: { [from]: 0, [to]: 100 } });
        view.traffic = { split: moved.split, previous: moved.previous, changed: moved.changed };
        saga.addCompensation(`traffic back to ${describeSplit(moved.previous)}`, () =>
          act.setTrafficSplit({ ...loadBalancer, split: moved.previous }),
        );
        if (scaling) {
          status.step(SCALE_STEP);
          await scaleSurvivor(spec, saga, act, view);
        }

        status.step('verify traffic on the survivor');
        view.phase = 'verifying';
        const sample = await sampleThroughEdge(act, spec.verify);
        view.traffic.sample = sample.seen;
        if ((sample.bySite[to] ?? 0) !== spec.verify.requests)
          throw failure(
            STEP_FAILURE.TrafficNotMoved,
            `of ${spec.verify.requests} requests through ${spec.verify.host ?? spec.verify.url}, ${sample.bySite[to] ?? 0} reached ${to}: ${JSON.stringify(view.traffic.sample)}`,
          );
        trafficVerifiedAt = Date.now();
      },
      rollbackReporting(status, view),
    );
  } catch (err) {
    if ((view.phase as FailoverView['phase']) !== 'rolled back') view.phase = 'failed';
    throw err;
  }
  view.rto = { fromStartMs: trafficVerifiedAt - startedAt, fromApprovalMs: trafficVerifiedAt - approvedAt };
  recordRtoRpo(view.rto, rpo);
  // A dead old primary restarted on its data comes back writable: a watcher fences it on sight.
  await leaveFenceWatch(spec, view);

  // The failover stands from here: traffic is on the survivor and its database is the primary.
  status.step('verify a write on the new primary');
  let wrote: string;
  try {
    wrote = (
      await act.verifyWrite({ server: survivor, id: `failover ${spec.environment} ${from}->${to} ${new Date(approvedAt).toISOString()}` })
    ).wrote;
  } catch (err) {
    view.attention = `traffic is on ${to} and ${survivor.name} is the primary, but a write there did not round-trip: check ${survivor.name}`;
    return fail(`${describeError(err)}; ${view.attention}`, ApplicationFailure.fromError(err));
  }
  view.phase = 'completed';
  status.finish('done');
  return {
    environment: spec.environment,
    from,
    to,
    approval: approval!,
    ...(assessment ? { assessment } : {}),
    rto: view.rto,
    rpo: rpo!,
    fence: view.fence!,
    traffic: view.traffic!,
    newPrimary: { server: survivor.name, appliedAtPromotion, verifiedWrite: wrote },
    ...(view.redis ? { redis: view.redis } : {}),
    ...(view.fenceWatch ? { fenceWatch: view.fenceWatch } : {}),
    ...(view.scale ? { scale: view.scale } : {}),
    ...(view.appsCut ? { appsCut: view.appsCut } : {}),
  };
}

/** The scale servers that stand with the failover, for the failback to remove. */
function standingScale(spec: FailoverSite, result: FailoverResult): { scale?: StandingScale } {
  const scale = result.scale;
  if (!scale || scale.failed || !scale.tag || !scale.added?.length || !spec.scaleSurvivor) return {};
  return { scale: { cloud: spec.scaleSurvivor.environmentSpec.cloud, tag: scale.tag, origins: scale.added } };
}

function isUnreachable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (current instanceof ApplicationFailure && current.type === STEP_FAILURE.DatabaseUnreachable) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
