// The `approve` Update a failover or failback waits on: its validator refuses nonsense (no name, a
// note over 500 characters, a second approval, nothing waiting) before anything reaches history,
// and the accepted approval (who, why, when) is recorded. Shared by failoverSite and failbackSite.
import { setHandler } from '@temporalio/workflow';
import { actorName } from '../../specs/rollout-release';
import { approveUpdate, type ApprovalRecord } from './failover-api';

/**
 * Answers `approve` for this run. `waiting()` names why nothing waits (the run's phase) or returns
 * undefined while an approval is welcome; `accepted` records it. The answer approves in the run's
 * own name (an approval policy's), so a human's later `approve` is refused as a second one.
 */
export function handleApprove(
  waiting: () => string | undefined,
  accepted: (approval: ApprovalRecord) => void,
): (approval: ApprovalRecord) => void {
  let approval: ApprovalRecord | undefined;
  setHandler(
    approveUpdate,
    ({ by, note }) => {
      approval = { by, ...(note ? { note } : {}), at: new Date().toISOString() };
      accepted(approval);
      return approval;
    },
    {
      validator: (args) => {
        if (typeof args !== 'object' || args === null) throw new Error('approve takes { by: "<who approves>" }');
        const who = actorName.safeParse(args.by);
        if (!who.success) throw new Error(`by: ${who.error.issues[0]?.message ?? 'must name who approves'}`);
        if (args.note !== undefined && (typeof args.note !== 'string' || args.note.length > 500))
          throw new Error('note must be text of at most 500 characters');
        if (approval) throw new Error(`already approved by ${approval.by} at ${approval.at}`);
        const not = waiting();
        if (not) throw new Error(`nothing waits for approval: ${not}`);
      },
    },
  );
  return (byPolicy) => {
    approval = byPolicy;
    accepted(byPolicy);
  };
}
