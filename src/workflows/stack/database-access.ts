// A provisionStack step (when the spec asks, `databaseAccess`): each data firewall's database
// ports narrowed to the stack's own servers and the spec's operators, now that every address is
// known. What it wrote is handed to failoverSite (`databaseFirewalls`), whose fence takes the
// failed site's app servers out of the survivor's rules. No undo of its own: a rollback destroys
// the sites and their firewalls with them.
import { parseCidr } from '../../specs/cidr';
import type { DatabaseFirewalls } from '../../specs/failover';
import { covers, type StackSpec } from '../../specs/stack';
import type { ProvisionResult } from '../environment/provision-environment';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { failure, REFUSAL } from '../shared/failures';
import type { ProvisionSiteResult } from './provision-site';

export const DATABASE_ACCESS_STEP = 'let only the stack reach the databases';

export async function narrowDatabaseAccess(
  spec: StackSpec,
  siteNames: string[],
  sites: Record<string, ProvisionSiteResult>,
): Promise<DatabaseFirewalls> {
  const ports = [spec.mysql.port, ...(spec.redis ? [spec.redis.port] : [])];
  const appSources = Object.fromEntries(siteNames.map((site) => [site, sourcesOf(sites[site]!.app)]));
  const dataSources = siteNames.flatMap((site) => sourcesOf(sites[site]!.data));
  const operators = spec.databaseAccess!.operators;
  // An operator range holding an app server would let it in after the fence: refuse before writing anything.
  const hidden = Object.values(appSources)
    .flat()
    .filter((source) => operators.some((range) => contains(range, source.replace('/32', ''))));
  if (hidden.length)
    throw failure(
      REFUSAL.InvalidSpec,
      `databaseAccess.operators covers app servers of the stack (${hidden.join(', ')}): a failover could not cut them off; name narrower ranges`,
    );
  const sources = [...new Set([...Object.values(appSources).flat(), ...dataSources, ...operators])];
  const written: DatabaseFirewalls['sites'] = {};
  for (const site of siteNames) {
    const data = spec.sites[site]!.data;
    const firewallId = sites[site]!.data.firewallId;
    if (!firewallId || !data.firewall)
      throw failure(REFUSAL.InvalidSpec, `site ${site}: ${data.name} has no firewall, so its database ports cannot be narrowed`);
    const inbound = data.firewall.inbound.map((rule) => (ports.some((port) => covers(rule.ports, port)) ? { ...rule, sources } : rule));
    const cloud = cloudProvider(data.cloud, { retry: CLOUD_RETRY });
    await cloud.setFirewallInbound({ id: firewallId, inbound });
    written[site] = { cloud: data.cloud, firewallId, inbound, appSources: appSources[site]! };
  }
  return { ports, sites: written };
}

/** Every address of an environment's servers, public and private, as a /32. */
function sourcesOf(result: ProvisionResult): string[] {
  return result.droplets
    .flatMap((d) => [d.publicIp, d.privateIp])
    .filter((a) => a !== '')
    .map((a) => `${a}/32`);
}

function contains(range: string, address: string): boolean {
  const cidr = parseCidr(range);
  const host = parseCidr(`${address}/32`);
  if (!cidr || !host) return false;
  return Math.floor(host.network / 2 ** (32 - cidr.prefix)) === Math.floor(cidr.network / 2 ** (32 - cidr.prefix));
}
