// Whether a provisioning run can find anything of its own in the cloud before it makes it. Its
// resources carry its workflow id's tag, and provisioning reuses one id per environment, so only an
// earlier run of this environment (a kept failure, a rollback that left something, a provision or
// rollout not undone by a destroy) can have left any. When the inventory shows none since the
// environment was new or last destroyed, the run is fresh: its create steps' first attempts skip
// their look-ups (a retry still looks: see src/activities/digitalocean/look-first.ts).
import { MAX_OPERATIONS, type Holder, type Inventory } from './inventory';

/** Operations that make cloud resources under the environment's marks. */
const MAKERS: ReadonlySet<string> = new Set(['provision', 'rollout', 'failover']);

export function isFreshEnvironment(inventory: Inventory | undefined, self: Pick<Holder, 'workflowId' | 'runId'>): boolean {
  // No inventory (runs from before the claim), or one that may have dropped its oldest records: look.
  if (!inventory || inventory.state === 'provisioned' || !Array.isArray(inventory.operations)) return false;
  if (inventory.operations.length >= MAX_OPERATIONS) return false;
  let lastDestroy = -1;
  inventory.operations.forEach((o, i) => {
    if (o.operation === 'destroy' && o.outcome === 'succeeded') lastDestroy = i;
  });
  return inventory.operations
    .slice(lastDestroy + 1)
    .every((o) => !MAKERS.has(o.operation) || (o.workflowId === self.workflowId && o.runId === self.runId));
}
