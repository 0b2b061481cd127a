// failbackSite: after a failover from `to` onto `from`, bring `to` back as a planned switchover
// with RPO 0. Only a failover the environment's inventory records as standing (from `to` onto
// `from`) is undone, and only while `from`'s database is the writable primary; otherwise the run
// ends NothingToFailBack having changed nothing. Then: `to`'s database is re-pointed at `from`'s
// by GTID (refused with ErrantTransactions when it holds transactions `from` never had: those need
// a re-seed) and its Redis made `from`'s replica; its catch-up is measured at intervals (shown in
// `status`) until within the input's bounds, else ReplicaNotCaughtUp; a human approves (`approve`,
// as for a failover); `from`'s primary is fenced before `to`'s is promoted, losing nothing (the
// promotion waits for the fenced position); `from` follows `to`; the weights go back to the split
// (at once or in steps, requests counted through the edge at each); a write round-trips. Until
// traffic is verified every step is undone on failure, newest first, so nothing is left half-moved
// and there are never two writable primaries.
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { parseFailbackSiteInput, type FailbackSite, type FailbackSiteInput } from '../../specs/failback';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import type { Inventory } from '../environment/inventory';
import { withEnvironmentClaim } from '../shared/environment-claim';
import { failure, STEP_FAILURE } from '../shared/failures';
import { describeError, runSaga } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { summarizedActivities } from '../shared/summarized-activities';
import { validated } from '../shared/validated';
import { handleApprove } from './approval';
import { FAILBACK_APPS_PATCH, FAILBACK_APPS_STEP, restoreStackApps } from './failback-apps';
import { FAILBACK_REMOVE_SCALE_PATCH, REMOVE_SCALE_STEP, removeScaleServers } from './failback-scale';
import { describeSplit, recordRtoRpo, rollbackReporting, sampleThroughEdge } from './switch-common';
import { failbackStatusQuery, type CatchUpMeasure, type FailbackResult, type FailbackView } from './failback-api';
import type { ApprovalRecord, FailoverRpo } from './failover-api';

export const FAILBACK_STEPS = [
  'check the failover to undo',
  'rebuild the recovered site as a replica',
  'wait for the replica to catch up',
  'wait for approval',
  'fence the current primary',
  'promote the recovered site',
  'make the other site its replica',
  'move traffic back',
  'verify a write on the primary',
];

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 };

export async function failbackSite(input: FailbackSiteInput): Promise<FailbackResult> {
  const spec = validated('input', parseFailbackSiteInput, input);
  return withEnvironmentClaim(spec.environment, 'failback', (inventory) => failBack(spec, inventory), {
    change: (r) => ({ kind: 'failed back', from: r.from, to: r.to }),
  });
}

async function failBack(spec: FailbackSite, inventory: Inventory | undefined): Promise<FailbackResult> {
  const startedAt = Date.now();
  const { from, to } = spec;
  const primary = spec.databases[from]!;
  const recovered = spec.databases[to]!;
  const redis = spec.redis ? { primary: spec.redis[from]!, recovered: spec.redis[to]! } : undefined;
  const act = summarizedActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '30 seconds', retry });
  const promotion = summarizedActivities<Activities>({
    startToCloseTimeout: `${spec.promoteTimeoutSeconds * 2 + 60} seconds`,
    heartbeatTimeout: '30 seconds',
    retry,
  });
  // The stack's app servers and database firewall put back as before the failover, when the input names them.
  const restoringApps = (spec.apps !== undefined || spec.databaseFirewalls !== undefined) && patched(FAILBACK_APPS_PATCH);
  // The failover's scale servers removed once traffic is back, when it made some.
  const scale = inventory?.failover?.scale;
  const removingScale = scale !== undefined && patched(FAILBACK_REMOVE_SCALE_PATCH);
  const status = new StatusTracker(
    'failbackSite',
    FAILBACK_STEPS.flatMap((s) => {
      if (s !== 'move traffic back') return [s];
      return [...(restoringApps ? [FAILBACK_APPS_STEP] : []), s, ...(removingScale ? [REMOVE_SCALE_STEP] : [])];
    }),
  );
  const view: FailbackView = { environment: spec.environment, from, to, phase: 'checking' };
  setHandler(failbackStatusQuery, () => ({ ...status.snapshot(), failback: JSON.parse(JSON.stringify(view)) as FailbackView }));
  let approval: ApprovalRecord | undefined;
  handleApprove(
    () => (view.phase === 'awaiting approval' || view.phase === 'catching up' ? undefined : `the failback is ${view.phase}`),
    (accepted) => {
      approval = accepted;
      view.approval = accepted;
    },
  );
  upsertSearchAttributes([
    { key: OpsEnvironment, value: spec.environment },
    { key: OpsOperation, value: 'failback' },
  ]);
  const fail = (reason: string, err: unknown) => {
    view.phase = 'failed';
    status.failed(reason);
    throw err;
  };
  const loadBalancer = { cloudflare: spec.cloudflare, loadBalancer: spec.loadBalancer };

  status.step('check the failover to undo');
  try {
    const standing = inventory?.failover;
    if (!standing || standing.from !== to || standing.to !== from)
      throw failure(
        STEP_FAILURE.NothingToFailBack,
        standing
          ? `the failover standing in ${spec.environment} moved ${standing.from} onto ${standing.to} (${standing.workflowId}), not ${to} onto ${from}: nothing to fail back from ${from} to ${to}; nothing was changed`
          : `no failover stands in ${spec.environment} (its inventory records none since the last failback): nothing to fail back to ${to}; nothing was changed`,
      );
    view.failover = { ...standing };
    const now = await act.readReplication({ server: primary });
    if (now.role !== 'primary')
      throw failure(
        STEP_FAILURE.NothingToFailBack,
        `${primary.name} is ${now.role}, not the writable primary a failover onto ${from} leaves: nothing was changed`,
      );
  } catch (err) {
    return fail(describeError(err), err);
  }

  let promoted = false;
  let demoted = false;
  let redisPromoted = false;
  let redisDemoted = false;
  let approvedAt = 0;
  let trafficVerifiedAt = 0;
  let rpo: FailoverRpo | undefined;
  let appliedAtPromotion = '';
  try {
    await runSaga(
      async (saga) => {
        status.step('rebuild the recovered site as a replica');
        view.phase = 'rebuilding';
        const before = await act.readReplication({ server: recovered });
        const following = before.replica?.primaryHost === primary.host && before.replica?.primaryPort === primary.port;
        const rebuilt = await rebuildReplica(
          spec,
          recovered,
          primary,
          (reseeded) => (view.rebuild = { database: { startedFrom: '' }, reseeded }),
        );
        view.rebuild = { ...view.rebuild, database: { startedFrom: rebuilt.startedFrom } };
        if (!following)
          saga.addCompensation(`stop ${recovered.name} replicating from ${primary.name}`, () => act.stopReplication({ server: recovered }));
        if (redis) {
          const pointed = await act.pointRedisAt({ server: redis.recovered, primary: redis.primary });
          view.rebuild.redis = { changed: pointed.changed };
          if (pointed.changed)
            saga.addCompensation(`stop ${redis.recovered.name} following ${redis.primary.name}`, () =>
              act.pointRedisAt({ server: redis.recovered }),
            );
        }

        status.step('wait for the replica to catch up');
        view.phase = 'catching up';
        const deadline = Date.now() + spec.catchUp.timeoutSeconds * 1000;
        view.catchUp = { caughtUp: false, measurements: 0 };
        for (;;) {
          const measure = await measureCatchUp(act, spec, redis);
          view.catchUp.measurements++;
          view.catchUp.first ??= measure;
          view.catchUp.latest = measure;
          if (caughtUp(measure, spec)) break;
          if (Date.now() >= deadline)
            throw failure(
              STEP_FAILURE.ReplicaNotCaughtUp,
              `${recovered.name} has not caught up with ${primary.name} after ${spec.catchUp.timeoutSeconds} s: ${describeMeasure(measure)}; allowed ${spec.catchUp.maxBehindTransactions} transaction(s)${redis ? ` and ${spec.catchUp.maxBehindRedisBytes} Redis byte(s)` : ''}: not switching`,
              { details: [measure] },
            );
          await sleep(`${spec.catchUp.intervalSeconds} seconds`);
        }
        view.catchUp.caughtUp = true;

        status.step('wait for approval');
        view.phase = 'awaiting approval';
        await condition(() => approval !== undefined);
        approvedAt = Date.now();
        view.phase = 'switching';

        status.step('fence the current primary');
        const fenced = await act.fencePrimary({ server: primary });
        view.fence = { finalPosition: fenced.finalPosition, killedConnections: fenced.killedConnections };
        saga.addCompensation(`unfence ${primary.name}`, async () => {
          if (promoted && !demoted)
            throw failure(
              STEP_FAILURE.ReplicationStateUnexpected,
              `${recovered.name} could not be made a replica again, so ${primary.name} stays read-only`,
            );
          await act.unfencePrimary({ server: primary });
        });
        let redisFinalOffset: number | undefined;
        if (redis) {
          const redisFenced = await act.fenceRedisPrimary({ server: redis.primary });
          redisFinalOffset = redisFenced.finalOffset;
          view.redis = { fence: { state: 'fenced', finalOffset: redisFenced.finalOffset, killedClients: redisFenced.killedClients } };
          saga.addCompensation(`unfence ${redis.primary.name}`, async () => {
            if (redisPromoted && !redisDemoted)
              throw failure(
                STEP_FAILURE.ReplicationStateUnexpected,
                `${redis.recovered.name} could not be made a replica again, so ${redis.primary.name} stays fenced`,
              );
            await act.unfenceRedisPrimary({ server: redis.primary, minReplicasToWrite: redisFenced.previousMinReplicasToWrite });
          });
        }

        status.step('promote the recovered site');
        const promotedNow = await promotion.promoteReplica({
          server: recovered,
          primaryFinalPosition: fenced.finalPosition,
          maxLostTransactions: 0,
          catchUpTimeoutSeconds: spec.promoteTimeoutSeconds,
        });
        promoted = true;
        appliedAtPromotion = promotedNow.appliedAtPromotion;
        view.promotion = { promoted: promotedNow.promoted, appliedAtPromotion };
        const rpoNow: FailoverRpo = { ...promotedNow.rpo };
        rpo = rpoNow;
        view.rpo = rpoNow;
        saga.addCompensation(`make ${recovered.name} a replica of ${primary.name} again`, async () => {
          await act.replicateFrom({ server: recovered, primary, replication: spec.replication });
          demoted = true;
        });
        if (redis) {
          const redisPromotion = await promotion.promoteRedisReplica({
            server: redis.recovered,
            primaryFinalOffset: redisFinalOffset,
            maxLostBytes: 0,
            catchUpTimeoutSeconds: spec.promoteTimeoutSeconds,
            minReplicasToWrite: spec.redisMinReplicasToWrite,
          });
          redisPromoted = true;
          view.redis!.promotion = { promoted: redisPromotion.promoted, offsetAtPromotion: redisPromotion.offsetAtPromotion };
          rpoNow.redisLostBytes = redisPromotion.lostBytes;
          saga.addCompensation(`make ${redis.recovered.name} a replica of ${redis.primary.name} again`, async () => {
            await act.pointRedisAt({ server: redis.recovered, primary: redis.primary });
            redisDemoted = true;
          });
        }

        status.step('make the other site its replica');
        await act.replicateFrom({ server: primary, primary: recovered, replication: spec.replication, appliedAtPromotion });
        saga.addCompensation(`stop ${primary.name} replicating from ${recovered.name}`, () => act.stopReplication({ server: primary }));
        if (redis) {
          await act.pointRedisAt({ server: redis.primary, primary: redis.recovered });
          view.redis!.oldFollowsNew = true;
          saga.addCompensation(`stop ${redis.primary.name} following ${redis.recovered.name}`, () =>
            act.pointRedisAt({ server: redis.primary }),
          );
        }

        if (restoringApps) {
          status.step(FAILBACK_APPS_STEP);
          view.apps = await restoreStackApps(spec, saga, redis);
        }

        status.step('move traffic back');
        view.phase = 'verifying';
        const final = spec.traffic.split;
        const shares = spec.traffic.mode === 'gradual' ? [...spec.traffic.steps, final[to]!] : [final[to]!];
        for (const [i, share] of shares.entries()) {
          const last = i === shares.length - 1;
          const split = last ? final : stepSplit(final, to, from, share);
          const moved = await act.setTrafficSplit({ ...loadBalancer, split });
          if (!view.traffic) {
            view.traffic = { steps: [], previous: moved.previous };
            saga.addCompensation(`traffic back to ${describeSplit(moved.previous)}`, () =>
              act.setTrafficSplit({ ...loadBalancer, split: moved.previous }),
            );
          }
          const step: { split: Record<string, number>; sample?: Record<string, number> } = { split: moved.split };
          view.traffic.steps.push(step);
          const sample = await sampleThroughEdge(act, spec.verify);
          step.sample = sample.seen;
          if (sample.failed > 0 || (last && !(sample.bySite[to] ?? 0)))
            throw failure(
              STEP_FAILURE.TrafficNotMoved,
              `at ${describeSplit(moved.split)}, of ${spec.verify.requests} requests through ${spec.verify.host ?? spec.verify.url}: ${JSON.stringify(step.sample)}`,
            );
          if (!last && spec.traffic.holdSeconds > 0) await sleep(`${spec.traffic.holdSeconds} seconds`);
        }
        trafficVerifiedAt = Date.now();
      },
      rollbackReporting(status, view),
    );
  } catch (err) {
    if ((view.phase as FailbackView['phase']) !== 'rolled back') view.phase = 'failed';
    throw err;
  }
  view.rto = { fromStartMs: trafficVerifiedAt - startedAt, fromApprovalMs: trafficVerifiedAt - approvedAt };
  recordRtoRpo(view.rto, rpo);

  if (removingScale) {
    status.step(REMOVE_SCALE_STEP);
    try {
      view.scaleRemoved = await removeScaleServers(spec, scale!, act);
    } catch (err) {
      // The failback stands: what is left is named for a human, the run goes on to its write check.
      view.attention = `the failover's scale servers (tag ${scale!.tag}, origins ${scale!.origins.map((o) => o.name).join(', ')} in pool ${from}) were not all removed: ${describeError(err)}`;
    }
  }

  status.step('verify a write on the primary');
  let wrote: string;
  try {
    wrote = (
      await act.verifyWrite({
        server: recovered,
        id: `failback ${spec.environment} ${from}->${to} ${new Date(approvedAt).toISOString()} ${workflowInfo().runId}`,
      })
    ).wrote;
  } catch (err) {
    view.attention = `traffic is back at ${describeSplit(spec.traffic.split)} and ${recovered.name} is the primary, but a write there did not round-trip: check ${recovered.name}`;
    return fail(`${describeError(err)}; ${view.attention}`, ApplicationFailure.fromError(err));
  }
  view.phase = 'completed';
  status.finish('done');
  return {
    environment: spec.environment,
    from,
    to,
    failover: view.failover!,
    approval: approval!,
    catchUp: view.catchUp!,
    rto: view.rto,
    rpo: rpo!,
    traffic: view.traffic!,
    newPrimary: { server: recovered.name, appliedAtPromotion, verifiedWrite: wrote },
    ...(view.redis ? { redis: view.redis } : {}),
    ...(view.apps ? { apps: view.apps } : {}),
    ...(view.scaleRemoved ? { scaleRemoved: view.scaleRemoved } : {}),
    ...(view.attention ? { attention: view.attention } : {}),
  };
}

type Acts = ReturnType<typeof summarizedActivities<Activities>>;

async function measureCatchUp(
  act: Acts,
  spec: FailbackSite,
  redis: { primary: NonNullable<FailbackSite['redis']>[string]; recovered: NonNullable<FailbackSite['redis']>[string] } | undefined,
): Promise<CatchUpMeasure> {
  const [db, cache] = await Promise.all([
    act.readReplication({ server: spec.databases[spec.to]!, primary: spec.databases[spec.from]! }),
    redis ? act.readRedisRole({ server: redis.recovered, primary: redis.primary }) : Promise.resolve(undefined),
  ]);
  return {
    at: new Date().toISOString(),
    behindTransactions: db.behindPrimary?.transactions ?? null,
    secondsBehind: db.replica?.secondsBehind ?? null,
    ioRunning: db.replica?.ioRunning ?? null,
    ...(db.replica?.lastIoError ? { lastIoError: db.replica.lastIoError } : {}),
    ...(cache ? { redisBehindBytes: cache.behindPrimary?.bytes ?? null, redisLinkUp: cache.primary?.linkUp === true } : {}),
  };
}

function caughtUp(m: CatchUpMeasure, spec: FailbackSite): boolean {
  if (m.ioRunning !== 'Yes' || m.behindTransactions === null || m.behindTransactions > spec.catchUp.maxBehindTransactions) return false;
  if (m.redisBehindBytes === undefined) return true;
  return m.redisLinkUp === true && m.redisBehindBytes !== null && m.redisBehindBytes <= spec.catchUp.maxBehindRedisBytes;
}

export function describeMeasure(m: CatchUpMeasure): string {
  return [
    `${m.behindTransactions ?? 'unknown'} transaction(s) behind`,
    `IO thread ${m.ioRunning ?? 'none'}${m.lastIoError ? ` (${m.lastIoError})` : ''}`,
    `${m.secondsBehind ?? 'unknown'} s behind by its own estimate`,
    ...(m.redisBehindBytes !== undefined
      ? [`Redis ${m.redisBehindBytes ?? 'unknown'} byte(s) behind, link ${m.redisLinkUp ? 'up' : 'down'}`]
      : []),
  ].join(', ');
}

/** `to` at `share`, `from` the rest, every other site as in the final split (two sites: share / 100 - share). */
function stepSplit(final: Record<string, number>, to: string, from: string, share: number): Record<string, number> {
  const others = Object.entries(final).filter(([s]) => s !== to && s !== from);
  const rest = 100 - share - others.reduce((n, [, w]) => n + w, 0);
  return { ...Object.fromEntries(others), [to]: share, [from]: Math.max(0, rest) };
}

/** Runs from this patch on re-seed a recovered server with errant transactions when the input says `reseed`. */
export const FAILBACK_RESEED_PATCH = 'failback-reseed-errant';

const reseeding = summarizedActivities<Activities>({
  // A copy of the primary's databases: minutes for a real one; heartbeats between its phases.
  startToCloseTimeout: '2 hours',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 3 },
});

/**
 * The recovered server made a replica of the primary by GTID; when it holds errant transactions
 * and the input asks to `reseed`, it is re-seeded from a copy of the primary first (its own
 * databases saved), then made a replica from where the copy was taken.
 */
async function rebuildReplica(
  spec: FailbackSite,
  recovered: FailbackSite['databases'][string],
  primary: FailbackSite['databases'][string],
  onReseeded: (reseeded: NonNullable<NonNullable<FailbackView['rebuild']>['reseeded']>) => void,
) {
  const act = summarizedActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '30 seconds', retry });
  try {
    return await act.replicateFrom({ server: recovered, primary, replication: spec.replication });
  } catch (err) {
    const errant =
      err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === STEP_FAILURE.ErrantTransactions;
    if (!errant || !spec.reseed || !patched(FAILBACK_RESEED_PATCH)) throw err;
    const reseeded = await reseeding.reseedReplica({ server: recovered, primary, saveErrantTo: spec.reseed.saveErrantTo });
    onReseeded({ savedTo: reseeded.savedTo, copied: reseeded.copied, dropped: reseeded.dropped, copiedAt: reseeded.copiedAt });
    return act.replicateFrom({ server: recovered, primary, replication: spec.replication });
  }
}
