// One readable text for any failure the CLI reports: a spec's list of problems, or a workflow's
// failure with its causes, each message said once (never a stack trace).
import { WorkflowFailedError } from '@temporalio/client';
import { chainOnce } from '../messages/said-once';
import { failureName } from './format-status';

/** What the SDK wraps a failure in; they add nothing the cause does not say. */
const WRAPPERS = new Set(['Workflow execution failed', 'Activity task failed', 'Child Workflow execution failed', 'Workflow failed']);

/** Messages down a failure's cause chain, outermost first (bounded: chains are short). */
function causeMessages(err: unknown): string[] {
  const messages: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    if (!WRAPPERS.has(current.message)) messages.push(current.message);
    current = current.cause;
  }
  return messages;
}

export function describeFailure(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as (Error & { type?: string }) | undefined;
    return `the workflow failed${cause?.type ? ` (${failureName(cause.type)})` : ''}: ${chainOnce(causeMessages(cause)) || err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
