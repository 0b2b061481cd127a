// How an operation ended, as the `status` query reports it and as every printer words it: the final
// state, the reason, and what a rollback undid and could not undo. Pure, so client and workflow share it.
import type { RollbackReport } from './failures';

export type FinalState = 'completed' | 'rolled back' | 'rollback incomplete' | 'failed and kept' | 'failed' | 'cancelled';

export interface FinalOutcome {
  state: FinalState;
  /** One line: why it failed (absent when it completed). */
  reason?: string;
  /** Compensations that ran, newest step first. */
  undone: string[];
  /** Compensations that still failed after their retries, with their errors. */
  notUndone: { name: string; error: string }[];
  /** What `onFailure: keep` left in place. */
  kept: string[];
}

/** The outcome a saga's rollback report describes. */
export function rollbackOutcome(report: RollbackReport, reason: string): FinalOutcome {
  return {
    state: report.failed.length > 0 ? 'rollback incomplete' : 'rolled back',
    reason,
    undone: [...report.compensated],
    notUndone: report.failed.map((f) => ({ name: f.name, error: f.error })),
    kept: [],
  };
}

/** A run that failed (or was cancelled) with nothing to undo: before its saga began, or with no saga at all. */
export function failedOutcome(reason: string | undefined, state: 'failed' | 'cancelled' = 'failed'): FinalOutcome {
  return { state, ...(reason === undefined ? {} : { reason }), undone: [], notUndone: [], kept: [] };
}

/** The one line shown as current details, by `opsflow status` and by the progress printer. */
export function finalLine(outcome: FinalOutcome): string {
  const parts: string[] = [outcome.state];
  if (outcome.reason) parts.push(outcome.reason);
  if (outcome.undone.length) parts.push(`undone: ${outcome.undone.join(', ')}`);
  if (outcome.notUndone.length) parts.push(`not undone: ${outcome.notUndone.map((f) => `${f.name} (${f.error})`).join(', ')}`);
  if (outcome.kept.length) parts.push(`kept: ${outcome.kept.join(', ')}`);
  return parts.join('; ');
}

/**
 * Whether a compensation removes this resource: "delete VPC" removes the vpc, "delete droplets" every
 * droplet, "delete volume stack-a-data" only the volume of that name. Detaching removes nothing.
 */
export function compensationRemoves(compensation: string, resource: { kind: string; name?: string }): boolean {
  const kind = resource.kind.replace(/_/g, ' ');
  const match = new RegExp(`^(delete|release|destroy) ${escape(kind)}s?(?: (.+))?$`, 'i').exec(compensation.trim());
  if (!match) return false;
  return match[2] === undefined || match[2] === resource.name;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
