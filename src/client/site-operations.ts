// What `opsflow failover`, `opsflow failback` and `opsflow dr status` share: finding an
// environment's failover or failback run again (the one holding its claim now, else the last one
// its operations log recorded), and the words for a split and a duration.
import type { Client } from '@temporalio/client';
import { findInventory } from './environments';

export interface FoundOperation {
  workflowId: string;
  running: boolean;
  outcome?: string;
}

/** The environment's `operation`: the one holding its claim now, else the last one it recorded. */
export async function findSiteOperation(
  client: Client,
  environment: string,
  operation: 'failover' | 'failback',
): Promise<FoundOperation | undefined> {
  const inventory = await findInventory(client, environment);
  if (!inventory) return undefined;
  if (inventory.holder?.operation === operation) return { workflowId: inventory.holder.workflowId, running: true };
  const last = inventory.operations.filter((o) => o.operation === operation).at(-1);
  return last ? { workflowId: last.workflowId, running: false, outcome: last.outcome } : undefined;
}

export const describeWeights = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([site, weight]) => `${site} ${weight}%`)
    .join(' / ');

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
