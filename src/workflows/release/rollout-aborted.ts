// How a rollout that stopped itself ends: RolloutAborted, naming why, the metric and its values.
import { ApplicationFailure } from '@temporalio/workflow';
import { OUTCOME } from '../shared/failures';
import { ROLLOUT_ABORTED, type RolloutAbortedDetails } from './rollout-api';

/** A rollback the rollout itself asked for (abort, failed analysis) ends RolloutAborted, naming why. */
export function asRolloutAborted(err: unknown, abort: RolloutAbortedDetails | undefined): unknown {
  if (!abort || !(err instanceof ApplicationFailure) || err.type !== OUTCOME.RolledBack) return err;
  const values = abort.values?.length
    ? ` (values: ${abort.values.map((v) => (v.length === 1 ? v[0] : `[${v.join(', ')}]`)).join(', ')})`
    : '';
  return ApplicationFailure.create({
    type: ROLLOUT_ABORTED,
    message: `${err.message}${values}`,
    details: [abort],
    nonRetryable: true,
    cause: err,
  });
}
