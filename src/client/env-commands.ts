// `opsflow env list | show <name>` and `opsflow destroy <name>`: environments as their entity
// workflows keep them. Destroy names what it removes and what it keeps, and goes ahead only with
// --yes or a typed confirmation at a terminal; a name that is not an environment's is refused
// before anything is asked of Temporal.
import { createInterface } from 'node:readline/promises';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { checkedEnvironmentName } from '../names/environment-name';
import { destroyWorkflowId, uniqueSuffix } from '../names/workflow-ids';
import { environmentTag } from '../names/ownership-tags';
import { serverName } from '../names/resource-names';
import type { DestroyResult } from '../workflows/environment/destroy-environment';
import type { Inventory } from '../workflows/environment/inventory';
import { environmentInventory, formatEnvironment, formatEnvironmentList, listEnvironments } from './environments';
import { startOperation, withClient } from './opsflow-client';
import { followProgress } from './progress';
import { schedulesOfEnvironment } from './schedules';

export function registerEnvironmentCommands(program: Command): void {
  const env = program.command('env').description('environments opsflow keeps: hosts, host keys, images, backups and the log of operations');
  env
    .command('list')
    .description('every environment with its state, hosts, backups and last operation')
    .action(async () => {
      await withClient(async (client) => console.log(formatEnvironmentList(await listEnvironments(client))));
    });
  env
    .command('show')
    .description("an environment's inventory and operations log")
    .argument('<environment>')
    .action(async (name: string) => {
      checkedEnvironmentName(name);
      await withClient(async (client) => console.log(formatEnvironment(await environmentInventory(client, name))));
    });

  program
    .command('destroy')
    .description('remove everything an environment owns in the cloud; says first what it removes and what it keeps')
    .argument('<environment>')
    .option('--yes', 'do not ask for confirmation (needed when not at a terminal)')
    .option('--wait', 'if another operation holds the environment, wait for it to end instead of being refused')
    .option('--detach', 'start it and return; follow with `opsflow status <workflow id>`')
    .action(async (name: string, opts: { yes?: boolean; wait?: boolean; detach?: boolean }) => {
      const environment = checkedEnvironmentName(name); // `stack.a` stops here: nothing is looked up or deleted
      await withClient(async (client) => {
        const inventory = await environmentInventory(client, environment);
        if (inventory.holder && !opts.wait)
          throw new Error(
            `environment ${environment} is busy: ${inventory.holder.operation} ${inventory.holder.workflowId} is running; nothing was deleted (wait for it with --wait)`,
          );
        console.log(await destroyPlan(client, inventory));
        if (!opts.yes && !(await confirmed(environment)))
          throw new Error(
            `not destroyed: confirm with --yes${process.stdin.isTTY ? ` or by typing ${environment}` : ' (no terminal to ask at)'}`,
          );
        const handle = await startOperation(
          client,
          'destroyEnvironment',
          destroyWorkflowId(environment, uniqueSuffix()),
          [{ environment }],
          `destroy ${environment}`,
          opts.wait ? { waitForEnvironment: true } : undefined,
          { environment, operation: 'destroy' },
        );
        console.log(`Destroying ${environment}: workflow ${handle.workflowId}`);
        if (opts.detach) return;
        const removed = await followProgress<DestroyResult>(handle);
        const clusters = removed.kubernetesClusters?.length ? `, ${removed.kubernetesClusters.length} Kubernetes cluster(s)` : '';
        console.log(
          `Removed ${removed.servers.length} droplet(s), ${removed.volumes.length} volume(s), ${removed.firewalls.length} firewall(s), ${removed.networks.length} VPC(s), ${removed.floatingIps.length} reserved IP(s)${clusters}.`,
        );
      });
    });
}

/** What destroy removes (everything tagged with the environment) and keeps (backups, their schedules, snapshots). */
export async function destroyPlan(client: Client, inventory: Inventory): Promise<string> {
  const environment = inventory.environment;
  const r = inventory.resources;
  const removes = [
    ...inventory.hosts.map((h) => `droplet ${serverName(environment, h.instance)} (${h.address})`),
    ...r.volumes.map((v) => `volume ${v.name}`),
    ...(r.reservedIp ? [`reserved IP ${r.reservedIp}`] : []),
    ...(r.firewallId ? [`firewall ${r.firewallId}`] : []),
    ...(r.vpcId ? [`VPC ${r.vpcId}`] : []),
    ...(r.kubernetesCluster ? [`Kubernetes cluster ${r.kubernetesCluster.name} (${r.kubernetesCluster.id}) with its node pools`] : []),
  ];
  const schedules = await schedulesOfEnvironment(client, environment);
  const policies = new Map<string, string>(inventory.backups.map((b) => [b.policy, b.scheduleId]));
  for (const s of schedules) policies.set(s.policy.name, s.scheduleId);
  const keeps = [...policies].map(([policy, scheduleId]) => {
    const p = schedules.find((s) => s.policy.name === policy)?.policy;
    const where = p ? ` in s3://${p.destination.bucket}/${p.destination.prefix}` : '';
    const snapshots = p?.targets.filter((t) => t.kind === 'droplet-snapshot' || t.kind === 'volume-snapshot').map((t) => t.name) ?? [];
    return `schedule ${scheduleId} (policy ${policy}), its backups${where}${snapshots.length ? ` and snapshots of ${snapshots.join(', ')}` : ''}`;
  });
  return [
    `Destroying ${environment} removes everything tagged ${environmentTag(environment)} in the cloud${removes.length ? ':' : ' (the inventory records no resources)'}`,
    ...removes.map((x) => `  - ${x}`),
    `It keeps:`,
    ...(keeps.length ? keeps.map((x) => `  - ${x}`) : ['  - no backup policies are attached to it']),
    `  - every snapshot and backup already taken; a kept schedule runs on and fails while the hosts are gone: remove it from its policy file and \`opsflow schedules apply\``,
  ].join('\n');
}

async function confirmed(environment: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(`Type ${environment} to destroy it: `)).trim() === environment;
  } finally {
    rl.close();
  }
}
