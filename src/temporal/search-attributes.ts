// Custom search attributes that make opsflow runs findable in the Web UI and with
// `temporal workflow list --query 'OpsEnvironment="prod"'`. Pure definitions: safe in workflow code.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const OpsEnvironment = defineSearchAttributeKey('OpsEnvironment', SearchAttributeType.KEYWORD);
export const OpsOperation = defineSearchAttributeKey('OpsOperation', SearchAttributeType.KEYWORD);
export const OpsCloud = defineSearchAttributeKey('OpsCloud', SearchAttributeType.KEYWORD);
/** How the run ended, in the status query's words (completed, rolled back, rollback incomplete, failed and kept, failed, cancelled). */
export const OpsOutcome = defineSearchAttributeKey('OpsOutcome', SearchAttributeType.KEYWORD);
/** Who started it (`user@host` from the opsflow CLI, `schedule <id>` for a schedule's runs). */
export const OpsRequestedBy = defineSearchAttributeKey('OpsRequestedBy', SearchAttributeType.KEYWORD);

/** A failover's or failback's RTO: seconds from the approval to traffic verified, rounded up (`OpsRtoSeconds < 60`). */
export const OpsRtoSeconds = defineSearchAttributeKey('OpsRtoSeconds', SearchAttributeType.INT);
/** Its RPO: transactions of the old primary the new one never applied (unset when unknown). */
export const OpsRpoTransactions = defineSearchAttributeKey('OpsRpoTransactions', SearchAttributeType.INT);

export const OPS_SEARCH_ATTRIBUTES = [
  OpsEnvironment,
  OpsOperation,
  OpsCloud,
  OpsOutcome,
  OpsRequestedBy,
  OpsRtoSeconds,
  OpsRpoTransactions,
] as const;

/** The type's name as the temporal CLI spells it (`--type Int`, `--search-attribute OpsRtoSeconds=Int`). */
export function cliTypeName(key: (typeof OPS_SEARCH_ATTRIBUTES)[number]): 'Keyword' | 'Int' {
  return key.type === SearchAttributeType.INT ? 'Int' : 'Keyword';
}

/** The `--search-attribute name=Type` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return OPS_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${cliTypeName(key)}`]);
}
