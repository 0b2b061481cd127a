// What a rollout shows while its saga rolls back and once it has: the phase in the rollout's view
// and the outcome in its status, then the Web UI details refreshed. The canary engine and the
// blue-green rollouts end the same way; only their rollback messages differ (rolloutRollback
// words the common shape: what stopped, and what was put back or where to look by hand).
import { isCancellation } from '@temporalio/workflow';
import { describeError, type RollbackReport } from '../shared/saga';
import type { StatusTracker } from '../shared/status';
import { describeImages, type Images } from './deploy-release';
import type { RolloutView } from './rollout-api';

export interface RolloutRollbackWords {
  /** `rollout` or `blue-green rollout`. */
  kind: string;
  images: Images;
  stableImages: Images;
  view: RolloutView;
  /** What failed in the undo: `putting the stable version back`. */
  undoing: string;
  /** Where to look by hand when the undo failed. */
  checkByHand: () => string;
  /** After `aborted (why); `: what the undo did. */
  undone: () => string;
  details: () => Record<string, unknown>;
}

/** The saga's describeRollback for a rollout. */
export function rolloutRollback(w: RolloutRollbackWords) {
  return (what: string, report: RollbackReport) => ({
    message:
      report.failed.length > 0
        ? `${w.kind} of ${describeImages(w.images)} stopped (${what}) and ${w.undoing} failed: ${report.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}. Check ${w.checkByHand()} by hand.`
        : `${w.kind} of ${describeImages(w.images)} aborted (${what}); ${w.undone()}`,
    details: { failure: what, stable: w.stableImages, attempted: w.images, ...w.details(), rollout: w.view },
  });
}

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
