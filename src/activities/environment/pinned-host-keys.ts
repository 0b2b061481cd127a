// The host key provisioning pinned for a droplet, read from its environment's inventory (the
// entity workflow's `inventory` query) with the worker's own Temporal client: what a backup of a
// droplet target trusts when its policy pins no hostKey. Called inside an activity.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { environmentWorkflowId } from '../../names/workflow-ids';
import { pinnedHostKey, type Inventory } from '../../workflows/environment/inventory';

export async function pinnedHostKeyWith(client: Client, environment: string, instance: string): Promise<string | undefined> {
  try {
    const inventory = await client.workflow.getHandle(environmentWorkflowId(environment)).query<Inventory>('inventory');
    return pinnedHostKey(inventory, instance);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined; // an environment opsflow did not provision
    throw err;
  }
}

/** DropletRunnerDeps.pinnedHostKey for a worker: asks through the running activity's client. */
export const inventoryHostKey = (environment: string, instance: string) => pinnedHostKeyWith(Context.current().client, environment, instance);
