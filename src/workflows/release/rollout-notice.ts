// An escalated pause tells someone: one postRolloutNotice activity to the spec's webhook with a
// summary a person can act on (what waits, since when, the split, what happens next and the
// commands). The webhook is a secret reference resolved on the worker. A notice that cannot be
// sent does not stop the rollout: the wait goes on (or aborts) as the spec says, and the status
// says the notice failed and why.
import { ActivityFailure, ApplicationFailure, log } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { summarizedActivities } from '../shared/summarized-activities';
import type { RolloutView } from './rollout-api';
import { describeImages } from './deploy-release';

const notices = summarizedActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

export interface Escalation {
  environment: string;
  /** The pause that waits, in words ("step 2: pause until promoted"). */
  what: string;
  waitedFor: string;
  onEscalation: 'keep-waiting' | 'abort';
  view: RolloutView;
}

export function escalationText(e: Escalation): string {
  const { weight, canaryHosts, canaryImages, stableImages } = e.view;
  const next =
    e.onEscalation === 'abort'
      ? 'The rollout aborts now (onEscalation: abort): all traffic back to stable, the canary hosts back on the stable version.'
      : `It keeps waiting: \`opsflow rollout promote ${e.environment}\` to go on, \`opsflow rollout abort ${e.environment}\` to put the stable version back.`;
  return [
    `opsflow rollout ${e.environment}: ${e.what} has waited ${e.waitedFor} and no one promoted it.`,
    `Canary ${describeImages(canaryImages)} on ${canaryHosts.join(', ') || 'no host'} takes ${weight.effective.canary}% of traffic; stable ${describeImages(stableImages)} takes ${weight.effective.stable}%.`,
    next,
  ].join('\n');
}

/** Sends the escalation notice; answers what the status shows (sent to which host, or why not). */
export async function sendEscalationNotice(webhook: string, escalation: Escalation): Promise<string> {
  try {
    const { host } = await notices.postRolloutNotice({ webhook, text: escalationText(escalation) });
    return `notified the webhook at ${host}`;
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
    const why = cause instanceof Error ? cause.message : String(cause);
    log.warn('rollout escalation notice not sent', { environment: escalation.environment, why });
    return `notice not sent: ${why}`;
  }
}
