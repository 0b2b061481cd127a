// The saga helper: every step that creates something registers how to undo it; on failure or
// cancellation the undo steps run newest first, in a scope that cancellation cannot interrupt.
// Compensations are usually activities with their own finite retry policy (see COMPENSATION_RETRY),
// so "retry a failing compensation" is Temporal's job; this helper records which ones finally failed
// and names them in the workflow's failure instead of swallowing them.
import { ActivityFailure, CancellationScope, isCancellation, log, type RetryPolicy } from '@temporalio/workflow';
import { failedAndKept, OUTCOME, rollbackIncomplete, rolledBack, type RollbackReport } from './failures';

export type { FailedCompensation, RollbackReport } from './failures';

/** Retry policy for compensation activities: persistent, but finite so a stuck undo is reported. */
export const COMPENSATION_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 5,
};

/** Failure types a saga workflow ends with (defined in ./failures); kept here for callers that import them from the saga. */
export const ROLLED_BACK = OUTCOME.RolledBack;
export const ROLLBACK_INCOMPLETE = OUTCOME.RollbackIncomplete;

interface Compensation {
  name: string;
  run: () => Promise<unknown>;
}

export class Saga {
  private readonly compensations: Compensation[] = [];

  /** Register the undo of a step that just succeeded. */
  addCompensation(name: string, run: () => Promise<unknown>): void {
    this.compensations.push({ name, run });
  }

  /** Names of the compensations registered so far, oldest first. */
  get pending(): string[] {
    return this.compensations.map((c) => c.name);
  }

  /** Run every compensation newest first; never throws, never stops at the first failure. */
  async rollback(): Promise<RollbackReport> {
    const report: RollbackReport = { compensated: [], failed: [] };
    await CancellationScope.nonCancellable(async () => {
      while (this.compensations.length > 0) {
        const compensation = this.compensations.pop() as Compensation;
        try {
          await compensation.run();
          report.compensated.push(compensation.name);
        } catch (err) {
          const error = describeError(err);
          log.error('compensation failed after its retries', { compensation: compensation.name, error });
          report.failed.push({ name: compensation.name, error });
        }
      }
    });
    return report;
  }
}

export interface SagaOptions {
  /** When false (`onFailure: keep`), a failure leaves what exists in place for inspection. */
  rollbackOnFailure?: boolean;
  /** Told when a failure leaves what exists in place (`onFailure: keep`), with what is kept. */
  onKept?: (kept: string[], original: unknown) => void;
  /** Told before compensations start, so a status query can say so. */
  onRollback?: () => void;
  /** Told when the rollback has ended, with its report (a status query can say how it ended). */
  onRolledBack?: (report: RollbackReport, original: unknown) => void;
  /**
   * The workflow's own words for the failure after a rollback (what runs again, what to check);
   * `what` is the one-line cause ("cancelled" or the failed step). The failure type stays the saga's.
   */
  describeRollback?: (what: string, report: RollbackReport) => { message: string; details?: Record<string, unknown> };
}

/**
 * Runs `body` as a saga. On success returns its result. On failure or cancellation rolls back and
 * throws: the original cancellation if everything was undone, otherwise an ApplicationFailure of
 * type RolledBack or RollbackIncomplete whose message and details name every failed compensation.
 */
export async function runSaga<T>(body: (saga: Saga) => Promise<T>, options: SagaOptions = {}): Promise<T> {
  const saga = new Saga();
  try {
    return await body(saga);
  } catch (err) {
    if (options.rollbackOnFailure === false && !isCancellation(err)) {
      options.onKept?.(saga.pending, err);
      throw failedAndKept(
        `${describeError(err)}; kept for inspection (onFailure: keep): ${saga.pending.join(', ') || 'nothing created'}`,
        saga.pending,
        err instanceof Error ? err : undefined,
      );
    }
    options.onRollback?.();
    const report = await saga.rollback();
    options.onRolledBack?.(report, err);
    throw rollbackOutcome(err, report, options.describeRollback);
  }
}

function rollbackOutcome(original: unknown, report: RollbackReport, describe: SagaOptions['describeRollback']): unknown {
  if (report.failed.length === 0 && isCancellation(original)) return original;
  const cause = original instanceof Error ? original : undefined;
  const what = isCancellation(original) ? 'cancelled' : describeError(original);
  const own = describe?.(what, report);
  if (report.failed.length === 0) {
    return rolledBack(own?.message ?? `${what}; rolled back ${report.compensated.length} step(s)`, report, { cause, extra: own?.details });
  }
  const names = report.failed.map((f) => `${f.name} (${f.error})`).join('; ');
  return rollbackIncomplete(own?.message ?? `${what}; rollback incomplete, compensations failed: ${names}`, report, {
    cause,
    extra: own?.details,
  });
}

/** One line naming what failed: the activity (if any) and the innermost cause's message. */
export function describeError(err: unknown): string {
  const step = err instanceof ActivityFailure ? `${err.activityType}: ` : '';
  let current: unknown = err;
  let message = String(err);
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    message = current.message || message;
    current = (current as { cause?: unknown }).cause;
  }
  return step + message;
}
