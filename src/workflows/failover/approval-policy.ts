// How a failover waits for its human, as the input's approval policy says. Without one it waits for
// ever: with two sites, a run that decides alone is how GitHub's 2018 partition became a day of
// degraded service. `escalateAfter` without an answer: one notice through the rollouts' webhook
// activity (the URL a secret reference the worker resolves: never in history), then the wait goes
// on; `autoApproveAfter` (from the start of the wait) without an answer: the run approves itself
// as `policy:autoApproveAfter`. A human's `approve` is welcome the whole time, also while the notice
// is going out. Runs without a policy schedule exactly what they did before (no timer, no notice).
import { ActivityFailure, ApplicationFailure, condition, log } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { durationMs } from '../../specs/rollout';
import type { FailoverSite } from '../../specs/failover';
import { summarizedActivities } from '../shared/summarized-activities';
import type { ApprovalRecord, FailoverView } from './failover-api';

/** Who an approval the policy gave is recorded as. */
export const AUTO_APPROVER = 'policy:autoApproveAfter';

const notices = summarizedActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

export interface ApprovalWait {
  policy: FailoverSite['approval'];
  view: FailoverView;
  workflowId: string;
  approved: () => boolean;
  /** Records the policy's approval (the run's `approve` handler then refuses a second one). */
  approve: (approval: ApprovalRecord) => void;
}

/** Returns once someone (or the policy) approved. */
export async function waitForApproval(w: ApprovalWait): Promise<void> {
  const { policy, view } = w;
  const since = Date.now();
  const autoMs = policy?.autoApproveAfter !== undefined ? durationMs(policy.autoApproveAfter) : undefined;
  if (autoMs !== undefined) view.autoApproveAt = new Date(since + autoMs).toISOString();
  if (policy?.escalateAfter !== undefined && policy.notify) {
    if (await condition(w.approved, durationMs(policy.escalateAfter))) return;
    view.escalation = { at: new Date().toISOString(), waited: policy.escalateAfter };
    view.escalation.notice = await sendNotice(policy.notify.webhook, noticeText(w, policy.escalateAfter));
    if (w.approved()) return;
  }
  if (autoMs === undefined) return condition(w.approved);
  const left = autoMs - (Date.now() - since);
  if (left > 0 && (await condition(w.approved, left))) return;
  w.approve({ by: AUTO_APPROVER, note: `no one approved within ${policy!.autoApproveAfter}`, at: new Date().toISOString() });
}

function noticeText(w: ApprovalWait, waited: string): string {
  const { view, policy } = w;
  const a = view.assessment;
  return [
    `opsflow failover ${view.environment}: ${view.from} -> ${view.to} has waited ${waited} for approval and no one answered.`,
    ...(a?.observers ? [`${a.down} of ${a.observers.length} observers see ${view.from} down (${a.needed} needed).`] : []),
    policy?.autoApproveAfter
      ? `It approves itself at ${view.autoApproveAt} (autoApproveAfter ${policy.autoApproveAfter}) unless someone approves first.`
      : 'It keeps waiting for a human.',
    `Approve: \`opsflow approve ${view.environment} --note <why>\` or \`temporal workflow update execute --workflow-id ${w.workflowId} --name approve --input '{"by":"<you>"}'\``,
  ].join('\n');
}

/** What the status shows: sent to which host, or why not (a notice that fails never stops the wait). */
async function sendNotice(webhook: string, text: string): Promise<string> {
  try {
    const { host } = await notices.postRolloutNotice({ webhook, text });
    return `notified the webhook at ${host}`;
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
    const why = cause instanceof Error ? cause.message : String(cause);
    log.warn('failover escalation notice not sent', { why });
    return `notice not sent: ${why}`;
  }
}
