// `opsflow provision` for a stack of two sites (a spec with `sites:`, such as examples/stack-e.yaml):
// the stack and every environment spec it names checked here, then provisionStack started under
// the stack's provision workflow id and followed until it ends.
import { provisionWorkflowId } from '../names/workflow-ids';
import { loadStackSpec } from '../specs/load-stack';
import { orderedSites } from '../specs/stack';
import type { ProvisionStackResult } from '../workflows/stack/stack-api';
import { startOperation, withClient } from './opsflow-client';
import { followProgress } from './progress';

export interface ProvisionStackOptions {
  detach?: boolean;
  printInput?: boolean;
  root?: string;
}

export async function provisionStackCommand(file: string, opts: ProvisionStackOptions): Promise<void> {
  const spec = loadStackSpec(file, { root: opts.root }); // refuses a bad stack or environment spec before anything starts
  if (opts.printInput) {
    console.log(JSON.stringify({ spec }));
    return;
  }
  const sites = orderedSites(spec).map((site) => `${site} (${spec.sites[site]!.app.cloud} ${spec.sites[site]!.app.region})`);
  await withClient(async (client) => {
    const handle = await startOperation(
      client,
      'provisionStack',
      provisionWorkflowId(spec.name),
      [{ spec }],
      `provision stack ${spec.name}: ${sites.join(' and ')}, replication, Cloudflare ${spec.cloudflare.hostname}`,
      undefined,
      { environment: spec.name, operation: 'provision', specFile: file },
    );
    console.log(`Provisioning stack ${spec.name}: workflow ${handle.workflowId}`);
    if (opts.detach) return;
    console.log(formatStackResult(await followProgress<ProvisionStackResult>(handle)));
  });
}

export function formatStackResult(result: ProvisionStackResult): string {
  const lines = [`${result.stack}: both sites provisioned, ${result.primarySite} primary`];
  for (const [site, s] of Object.entries(result.sites)) {
    lines.push(
      `  ${site}: app ${s.app.environment} (${s.app.hosts.map((h) => h.address).join(', ')}), data ${s.data.environment} (MySQL ${s.mysql.primary.host} + replica ${s.mysql.replica.host})`,
    );
  }
  lines.push(`Replication: ${result.replication.join(', ')}`);
  lines.push(`Caught up: ${result.verified.mysqlCaughtUp.join(', ')}; Redis linked: ${result.verified.redisLinked.join(', ') || 'none'}`);
  lines.push(`Cloudflare ${result.loadBalancer.hostname}: pools ${Object.keys(result.loadBalancer.pools).join(', ')} healthy`);
  if (result.verified.trafficBySite) lines.push(`Requests through the edge by site: ${JSON.stringify(result.verified.trafficBySite)}`);
  lines.push(`A failover's input starts from: ${JSON.stringify(result.failover)}`);
  return lines.join('\n');
}
