// Reading environments from their entity workflows (`environment-<name>`): the inventory query
// behind `opsflow env list | show`, `opsflow deploy` and `opsflow destroy`, and how it is printed.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { checkedEnvironmentName } from '../names/environment-name';
import { environmentWorkflowId } from '../names/workflow-ids';
import type { Inventory } from '../workflows/environment/inventory';

/** The inventory of a known environment; throws saying so when opsflow has none. */
export async function environmentInventory(client: Client, environment: string): Promise<Inventory> {
  checkedEnvironmentName(environment);
  const found = await findInventory(client, environment);
  if (!found)
    throw new Error(
      `environment ${environment} is unknown here (no workflow ${environmentWorkflowId(environment)}): provision it first with \`opsflow provision <spec>\` (see \`opsflow env list\`)`,
    );
  return found;
}

/**
 * The inventory, or undefined when the environment has no entity workflow. Read from the entity's
 * memo (rewritten at every change), so it answers while no worker runs; the `inventory` query
 * answers the same when one does.
 */
export async function findInventory(client: Client, environment: string): Promise<Inventory | undefined> {
  try {
    const description = await client.workflow.getHandle(environmentWorkflowId(environment)).describe();
    const inventory = description.memo?.inventory as Inventory | undefined;
    if (!inventory)
      throw new Error(
        `workflow ${environmentWorkflowId(environment)} has no inventory yet (its first task has not run: is a worker running?)`,
      );
    return inventory;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Every environment opsflow keeps, by name. */
export async function listEnvironments(client: Client): Promise<Inventory[]> {
  const names = new Set<string>();
  for await (const run of client.workflow.list({ query: "WorkflowType = 'environmentEntity' AND ExecutionStatus = 'Running'" })) {
    if (run.workflowId.startsWith('environment-')) names.add(run.workflowId.slice('environment-'.length));
  }
  // The list is eventually consistent; a just-started entity may be missing from it for a moment.
  const inventories = await Promise.all([...names].map((name) => findInventory(client, name)));
  return inventories.filter((i): i is Inventory => i !== undefined).sort((a, b) => a.environment.localeCompare(b.environment));
}

const images = (i: Inventory) => Object.entries(i.application?.images ?? {}).sort(([a], [b]) => a.localeCompare(b));

export function formatEnvironmentList(inventories: Inventory[]): string {
  if (inventories.length === 0) return 'no environments (provision one with `opsflow provision <spec>`)';
  return inventories
    .map((i) => {
      const last = i.operations.at(-1);
      const busy = i.holder ? `  BUSY: ${i.holder.operation} ${i.holder.workflowId}` : '';
      return `${i.environment.padEnd(20)} ${i.state.padEnd(11)} ${String(i.hosts.length).padStart(2)} host(s)  ${i.backups.length} backup polic${i.backups.length === 1 ? 'y' : 'ies'}  last: ${last ? `${last.operation} ${last.outcome}` : '-'}${busy}`;
    })
    .join('\n');
}

export function formatEnvironment(i: Inventory): string {
  const lines = [`Environment ${i.environment}: ${i.state}${i.cloud ? ` on ${i.cloud} ${i.region ?? ''}`.trimEnd() : ''}`];
  if (i.holder) lines.push(`  busy: ${i.holder.operation} ${i.holder.workflowId} since ${i.holder.since}`);
  lines.push('  hosts:');
  if (i.hosts.length === 0) lines.push('    none');
  for (const h of i.hosts)
    lines.push(
      `    ${h.instance.padEnd(12)} ${h.address.padEnd(15)} ${h.privateAddress ?? '-'}  droplet ${h.dropletId ?? '-'}  host key ${h.hostKey}`,
    );
  if (i.ssh) lines.push(`  ssh: user ${i.ssh.user}, port ${i.ssh.port}, key ${i.ssh.key}`);
  lines.push(`  application: ${i.application ? i.application.directory : 'none'}`);
  for (const [service, image] of images(i)) lines.push(`    ${service.padEnd(12)} ${image}`);
  if (i.healthChecks.length) lines.push(`  health checks: ${i.healthChecks.map((c) => `${c.name} :${c.port}${c.path}`).join(', ')}`);
  const r = i.resources;
  const resources = [
    r.vpcId && `VPC ${r.vpcId}`,
    r.firewallId && `firewall ${r.firewallId}`,
    ...r.volumes.map((v) => `volume ${v.name} (${v.id})`),
    r.reservedIp && `reserved IP ${r.reservedIp}`,
    r.kubernetesCluster && `Kubernetes cluster ${r.kubernetesCluster.name} (${r.kubernetesCluster.id})`,
  ].filter(Boolean);
  lines.push(`  resources: ${resources.join(', ') || 'none recorded'}`);
  lines.push('  backups:');
  if (i.backups.length === 0) lines.push('    none attached (opsflow schedules apply <policy file>)');
  for (const b of i.backups) lines.push(`    ${b.policy.padEnd(20)} schedule ${b.scheduleId}  targets ${b.targets.join(', ')}`);
  lines.push('  operations (oldest first):');
  if (i.operations.length === 0) lines.push('    none');
  for (const o of i.operations)
    lines.push(`    ${o.startedAt}  ${o.operation.padEnd(9)} ${o.outcome.padEnd(9)} ${o.workflowId}${o.detail ? `  ${o.detail}` : ''}`);
  return lines.join('\n');
}
