// environmentEntity: one long-lived workflow per environment (id `environment-<name>`) that keeps
// its inventory and hands out its claim. Operations that change the environment (provision,
// deploy, destroy, and later rollouts and failovers) claim it first through the `claim` Update
// (see shared/environment-claim.ts) and release it with the `release` signal when they end.
//
// Why Updates: the caller learns at once, synchronously, whether it holds the environment, and
// Temporal serialises the decisions in this one history, so two operations started at the same
// moment (through opsflow or `temporal workflow start`) cannot both win.
//
// The inventory is also kept in the workflow's memo (`inventory`), rewritten at every change, so
// the CLI reads it with a describe even while no worker runs; the `inventory` query answers the same.
//
// A holder that never releases (its run was terminated, or timed out) does not block forever: a
// claim that finds the environment busy first asks the server whether the holder's run is still
// open, and takes over a closed one, logging it as abandoned.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EnvironmentActivities } from '../../activities/environment/claims';
import { environmentNameProblem } from '../../names/environment-name';
import { OpsEnvironment, OpsOperation } from '../../temporal/search-attributes';
import { failure, invalidInput, REFUSAL } from '../shared/failures';
import { summarizedActivities } from '../shared/summarized-activities';
import {
  applyChange,
  describeHolder,
  emptyInventory,
  MAX_OPERATIONS,
  type AttachedBackups,
  type ClaimRequest,
  type Holder,
  type Inventory,
  type Release,
} from './inventory';

export const claimUpdate = defineUpdate<Inventory, [ClaimRequest]>('claim');
export const releaseSignal = defineSignal<[Release]>('release');
export const backupsSignal = defineSignal<[{ attach?: AttachedBackups[]; detachPolicies?: string[] }]>('backups');
export const inventoryQuery = defineQuery<Inventory>('inventory');

/** The failure type of a refused claim: another operation holds the environment (named in failures.ts). */
export const ENVIRONMENT_BUSY = REFUSAL.EnvironmentBusy;

export interface EnvironmentEntityInput {
  environment: string;
  /** Carried over continue-as-new. */
  inventory?: Inventory;
  /** History length after which the entity continues as new (default 2000; tests use less). */
  historyLimit?: number;
}

const checks = summarizedActivities<EnvironmentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

const OPERATIONS = ['provision', 'deploy', 'destroy', 'rollout', 'failover', 'failback', 'dr drill'];

export async function environmentEntity(input: EnvironmentEntityInput): Promise<void> {
  const problem = environmentNameProblem(input.environment);
  if (problem) throw invalidInput(problem, [problem]);
  const inventory: Inventory = input.inventory ?? emptyInventory(input.environment);
  if (!input.inventory) {
    upsertSearchAttributes([
      { key: OpsEnvironment, value: input.environment },
      { key: OpsOperation, value: 'environment' },
    ]);
  }
  const now = () => new Date().toISOString();
  const publish = () => upsertMemo({ inventory });
  publish();
  const same = (a: Pick<Holder, 'workflowId' | 'runId'>, b: Pick<Holder, 'workflowId' | 'runId'>) =>
    a.workflowId === b.workflowId && a.runId === b.runId;
  const recordOf = (h: Holder) => [...inventory.operations].reverse().find((o) => same(o, h));

  const take = (holder: Holder, outer?: Inventory['holder']) => {
    const since = now();
    inventory.holder = { ...holder, since, ...(outer ? { outer } : {}) };
    inventory.operations.push({ ...holder, startedAt: since, outcome: 'running' });
    if (inventory.operations.length > MAX_OPERATIONS) inventory.operations.splice(0, inventory.operations.length - MAX_OPERATIONS);
  };

  // One claim decided at a time: the liveness check awaits an activity, and two claims must not
  // both see a dead holder and both take over.
  let deciding = false;
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    await condition(() => !deciding);
    deciding = true;
    try {
      return await fn();
    } finally {
      deciding = false;
    }
  };

  setHandler(
    claimUpdate,
    async (request) => {
      for (;;) {
        const decision = await exclusive(async (): Promise<'taken' | Holder> => {
          const held = inventory.holder;
          if (!held || same(held, request.holder)) {
            if (!held) {
              take(request.holder);
              publish();
            }
            return 'taken';
          }
          // A child of the holder (a DR drill's failover or failback) runs inside its parent's claim.
          if (request.holder.within && same(held, request.holder.within)) {
            take(request.holder, held);
            publish();
            return 'taken';
          }
          const run = await checks.workflowRunStatus({ workflowId: held.workflowId, runId: held.runId });
          if (inventory.holder !== held) return held; // released while we asked: decide again
          if (run.status !== 'RUNNING') {
            const record = recordOf(held);
            if (record)
              Object.assign(record, {
                outcome: 'abandoned',
                endedAt: now(),
                detail: `its run ended ${run.status.toLowerCase()} without releasing the environment`,
              });
            inventory.holder = undefined;
            take(request.holder);
            publish();
            return 'taken';
          }
          if (!request.wait) {
            throw failure(
              REFUSAL.EnvironmentBusy,
              `environment ${inventory.environment} is busy: ${held.operation} ${held.workflowId} is running (since ${held.since}); nothing was done. Start again when it ends, or ask to wait for it (opsflow --wait)`,
              { details: [{ environment: inventory.environment, holder: held }] },
            );
          }
          return held;
        });
        if (decision === 'taken') return inventory;
        // Waiting our turn; every 30 s the holder is asked about again, in case it died.
        await condition(() => inventory.holder !== decision, '30 seconds', {
          summary: `${request.holder.operation} waits for ${decision.operation} ${decision.workflowId} to release ${inventory.environment}`,
        });
      }
    },
    {
      validator: (request) => {
        const h = request?.holder;
        if (
          !h ||
          typeof h.workflowId !== 'string' ||
          !h.workflowId ||
          typeof h.runId !== 'string' ||
          !h.runId ||
          !OPERATIONS.includes(h.operation)
        ) {
          throw new Error(`a claim names its holder: { workflowId, runId, operation: ${OPERATIONS.join(' | ')} }`);
        }
      },
    },
  );

  setHandler(releaseSignal, (release) => {
    const record = recordOf(release.holder);
    if (record && record.outcome === 'running')
      Object.assign(record, { outcome: release.outcome, endedAt: now(), ...(release.detail ? { detail: release.detail } : {}) });
    // Only the holder's release changes the inventory: a run taken over as abandoned has no say.
    if (inventory.holder && same(inventory.holder, release.holder)) {
      if (release.change) applyChange(inventory, release.change);
      // A child's release hands the environment back to the parent it ran inside.
      inventory.holder = inventory.holder.outer;
    } else if (inventory.holder?.outer && same(inventory.holder.outer, release.holder)) {
      // The parent ended while its child still holds: the child keeps it, and no one holds it after.
      inventory.holder.outer = undefined;
    }
    publish();
  });

  setHandler(backupsSignal, ({ attach = [], detachPolicies = [] }) => {
    const gone = new Set([...detachPolicies, ...attach.map((b) => b.policy)]);
    inventory.backups = [...inventory.backups.filter((b) => !gone.has(b.policy)), ...attach].sort((a, b) =>
      a.policy.localeCompare(b.policy),
    );
    publish();
  });

  setHandler(inventoryQuery, () => inventory);

  // Lives until continued as new; a holder or a waiting claim is carried over in the inventory.
  const limit = input.historyLimit ?? 2000;
  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > limit);
  await condition(() => allHandlersFinished() && !deciding);
  await continueAsNew<typeof environmentEntity>({ environment: input.environment, inventory, historyLimit: input.historyLimit });
}

export { describeHolder };
