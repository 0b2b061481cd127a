// The host key provisioning pinned for a droplet, read from its environment's inventory (the
// entity workflow's memo, so no worker needs to answer) with the worker's own Temporal client:
// what a backup of a droplet target trusts when its policy pins no hostKey. Called in an activity.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { environmentWorkflowId } from '../../names/workflow-ids';
import { pinnedHostKey, type Inventory } from '../../workflows/environment/inventory';

export async function pinnedHostKeyWith(client: Client, environment: string, instance: string): Promise<string | undefined> {
  try {
    const description = await client.workflow.getHandle(environmentWorkflowId(environment)).describe();
    const inventory = description.memo?.inventory as Inventory | undefined;
    return inventory ? pinnedHostKey(inventory, instance) : undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined; // an environment opsflow did not provision
    throw err;
  }
}

/** DropletRunnerDeps.pinnedHostKey for a worker: asks through the running activity's client (none in a bare test context). */
export async function inventoryHostKey(environment: string, instance: string): Promise<string | undefined> {
  let client: Client;
  try {
    client = Context.current().client;
  } catch {
    return undefined;
  }
  return pinnedHostKeyWith(client, environment, instance);
}
