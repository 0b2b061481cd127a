// fenceReturningPrimary: left behind by a failover whose fence found the old primary dead. A
// MariaDB restarted on its data comes back writable (read_only is not persisted) and a Redis comes
// back accepting writes, so two writable primaries would stand; Orchestrator and Patroni fence a
// returning old primary on sight. Every `intervalSeconds` this tries the fence (one attempt: the
// next round is the retry) and ends `fenced` once every server given is fenced; it ends `gave up`
// after `maxDurationSeconds` (durable timers, continue-as-new every `roundsPerRun` tries), and
// `superseded` as soon as the environment's inventory records a later failback, failover or drill
// (running or succeeded) after the failover that left it: the roles are then that operation's, and
// a primary a failback promoted is never fenced. Each try is in the `status` query.
import { continueAsNew, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { OperationsAfter } from '../../activities/environment/claims';
import { parseFenceWatchInput, type FenceWatch, type FenceWatchInput } from '../../specs/fence-watch';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { describeError } from '../shared/saga';
import { summarizedActivities } from '../shared/summarized-activities';
import { validated } from '../shared/validated';
import {
  fenceWatchStatusQuery,
  KEPT_TRIES,
  type FenceTarget,
  type FenceWatchResult,
  type FenceWatchState,
  type FenceWatchView,
} from './fence-watch-api';

/** Operations that decide the database roles anew: while one holds the environment, the watch stands down. */
const DECIDING_OPERATIONS: readonly string[] = ['failover', 'failback', 'dr drill'];

// One attempt per try: the watcher's own rounds are the retries, each recorded.
const once = summarizedActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 1 } });
const reads = summarizedActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3 },
});

export async function fenceReturningPrimary(input: FenceWatchInput, carried?: FenceWatchState): Promise<FenceWatchResult> {
  const spec = validated('input', parseFenceWatchInput, input);
  const target = (server: string): FenceTarget => ({ server, state: 'waiting', misses: 0 });
  const state: FenceWatchState = carried
    ? { ...carried, runs: carried.runs + 1 }
    : {
        since: new Date().toISOString(),
        tries: 0,
        runs: 1,
        ...(spec.database ? { database: target(spec.database.name) } : {}),
        ...(spec.redis ? { redis: target(spec.redis.name) } : {}),
        recent: [],
      };
  const giveUpAt = Date.parse(state.since) + spec.maxDurationSeconds * 1000;
  const view: Omit<FenceWatchView, keyof FenceWatchState> = {
    environment: spec.environment,
    failoverWorkflowId: spec.failover.workflowId,
    phase: 'watching',
    giveUpAt: new Date(giveUpAt).toISOString(),
    intervalSeconds: spec.intervalSeconds,
  };
  setHandler(fenceWatchStatusQuery, () => JSON.parse(JSON.stringify({ ...view, ...state })) as FenceWatchView);
  upsertSearchAttributes([
    { key: OpsEnvironment, value: spec.environment },
    { key: OpsOperation, value: 'fence watch' },
  ]);
  const end = (outcome: FenceWatchResult['outcome'], detail: string): FenceWatchResult => {
    view.phase = outcome;
    view.ended = detail;
    return {
      outcome,
      detail,
      tries: state.tries,
      ...(state.database ? { database: state.database } : {}),
      ...(state.redis ? { redis: state.redis } : {}),
    };
  };

  for (let triesThisRun = 0; ;) {
    const superseded = await supersededBy(spec, state);
    if (superseded) return end('superseded', `${superseded}: the watch stands down, the servers' roles are that operation's to decide`);
    await tryFences(spec, state);
    triesThisRun++;
    if (waiting(state).length === 0) return end('fenced', `${fencedNames(state)} fenced after ${state.tries} tries`);
    const left = giveUpAt - Date.now();
    if (left <= 0)
      return end(
        'gave up',
        `${waiting(state).join(' and ')} not fenced in ${spec.maxDurationSeconds} s (last try: ${JSON.stringify(state.recent.at(-1)?.saw)}): fence it by hand (read_only, Redis min-replicas-to-write) before it takes writes`,
      );
    await sleep(Math.min(spec.intervalSeconds * 1000, left));
    if (triesThisRun >= spec.roundsPerRun || workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof fenceReturningPrimary>(input, state);
  }
}

/** Why the watch should stop (a later operation decides the roles), or undefined to go on. */
async function supersededBy(spec: FenceWatch, state: FenceWatchState): Promise<string | undefined> {
  let after: OperationsAfter;
  try {
    after = await reads.readOperationsAfter({ environment: spec.environment, runId: spec.failover.runId });
  } catch {
    // Unknown is no reason to stop: the watch exists so that there are never two writable primaries.
    return undefined;
  }
  state.failoverRecorded = after.found;
  // A failed or cancelled one was rolled back (or stopped for a human): the roles are still this failover's.
  const deciding = after.later.find(
    (o) => DECIDING_OPERATIONS.includes(o.operation) && (o.outcome === 'running' || o.outcome === 'succeeded'),
  );
  return (
    deciding && `${deciding.operation} ${deciding.workflowId} (${deciding.outcome}, since ${deciding.startedAt}) came after the failover`
  );
}

/** One try at every server not yet fenced; each outcome recorded. */
async function tryFences(spec: FenceWatch, state: FenceWatchState): Promise<void> {
  const at = new Date().toISOString();
  const saw: Record<string, string> = {};
  if (spec.database && state.database?.state === 'waiting') {
    const t = state.database;
    try {
      const fenced = await once.fencePrimary({ server: spec.database });
      Object.assign(t, { state: 'fenced', fencedAt: at, finalPosition: fenced.finalPosition, killed: fenced.killedConnections });
      saw[t.server] = `fenced (read_only on, ${fenced.killedConnections} connection(s) cut)`;
    } catch (err) {
      t.misses++;
      saw[t.server] = describeError(err).slice(0, 300);
    }
  }
  if (spec.redis && state.redis?.state === 'waiting') {
    const t = state.redis;
    try {
      const fenced = await once.fenceRedisPrimary({ server: spec.redis });
      Object.assign(t, { state: 'fenced', fencedAt: at, finalPosition: String(fenced.finalOffset), killed: fenced.killedClients });
      saw[t.server] = `fenced (writes refused, ${fenced.killedClients} client(s) cut)`;
    } catch (err) {
      t.misses++;
      saw[t.server] = describeError(err).slice(0, 300);
    }
  }
  state.tries++;
  state.recent = [...state.recent, { at, saw }].slice(-KEPT_TRIES);
}

const targets = (state: FenceWatchState) => [state.database, state.redis].filter((t): t is FenceTarget => t !== undefined);
const waiting = (state: FenceWatchState) =>
  targets(state)
    .filter((t) => t.state === 'waiting')
    .map((t) => t.server);
const fencedNames = (state: FenceWatchState) =>
  targets(state)
    .map((t) => t.server)
    .join(' and ');
