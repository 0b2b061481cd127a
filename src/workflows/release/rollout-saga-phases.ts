// What a rollout shows while its saga rolls back and once it has: the phase in the rollout's view
// and the outcome in its status, then the Web UI details refreshed. The canary engine and the
// blue-green rollout end the same way; only their rollback messages differ.
import { isCancellation } from '@temporalio/workflow';
import { describeError, type RollbackReport } from '../shared/saga';
import type { StatusTracker } from '../shared/status';
import type { RolloutView } from './rollout-api';

export function rolloutSagaPhases(view: RolloutView, status: StatusTracker, changed: () => void) {
  return {
    onRollback: () => {
      view.phase = 'aborting';
      status.finish('rolling back');
      changed();
    },
    onRolledBack: (report: RollbackReport, err: unknown) => {
      view.phase = 'aborted';
      status.rolledBack(report, isCancellation(err) ? 'cancelled' : describeError(err));
      changed();
    },
  };
}
