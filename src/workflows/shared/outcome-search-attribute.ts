// How a run ended, as a search attribute: the Web UI's run list can show it as a column and filter
// on it (`OpsOutcome="rolled back"`), which the workflow's own Completed/Failed cannot say. An upsert
// is a command, so runs recorded before it replay without it (patch below).
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import { OpsOutcome } from '../../temporal/search-attributes';
import type { FinalState } from './status-outcome';

export const OUTCOME_SEARCH_ATTRIBUTE_PATCH = 'ops-outcome-search-attribute';

export function recordOutcome(state: FinalState): void {
  if (patched(OUTCOME_SEARCH_ATTRIBUTE_PATCH)) upsertSearchAttributes([{ key: OpsOutcome, value: state }]);
}
