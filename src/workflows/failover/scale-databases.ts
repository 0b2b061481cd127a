// The survivor's new app servers (scaleSurvivor) joined to its databases as the stack's own are:
// let into the survivor's database firewall (when the input names the firewalls; the rules as the
// fence left them, plus each new server's address) and pointed at the promoted MySQL and Redis
// (when the input names the app variables). Runs before they become origins, so the first request
// they serve already writes to the new primary. The firewall's undo writes the fenced rules back;
// the servers themselves are deleted by the scaling's own undo.
import { patched } from '@temporalio/workflow';
import type { FailoverSite } from '../../specs/failover';
import type { SurgeDroplets } from '../release/surge-droplets';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { databaseValues, pointHosts } from '../shared/point-apps';
import { COMPENSATION_RETRY, type Saga } from '../shared/saga';
import { withoutSources, withSources } from './cut-failed-apps';

/** Runs from this patch on join the scale servers to the survivor's databases; older runs replay without. */
export const FAILOVER_SCALE_DATABASES_PATCH = 'failover-scale-servers-databases';

export async function joinScaleServersToDatabases(
  spec: FailoverSite,
  servers: SurgeDroplets,
  directory: string,
  addCompensation: Saga['addCompensation'],
): Promise<void> {
  if (!(spec.databaseFirewalls || spec.apps) || !patched(FAILOVER_SCALE_DATABASES_PATCH)) return;
  const firewalls = spec.databaseFirewalls;
  if (firewalls) {
    const survivor = firewalls.sites[spec.to]!;
    const fenced = withoutSources(survivor.inbound, firewalls.ports, firewalls.sites[spec.from]!.appSources);
    const added = servers.views.map((v) => `${v.address!}/32`);
    const cloud = cloudProvider(survivor.cloud, { retry: CLOUD_RETRY });
    const undo = cloudProvider(survivor.cloud, { retry: COMPENSATION_RETRY });
    addCompensation(`take ${added.join(', ')} out of ${spec.to}'s database firewall`, () =>
      undo.setFirewallInbound({ id: survivor.firewallId, inbound: fenced }),
    );
    await cloud.setFirewallInbound({ id: survivor.firewallId, inbound: withSources(fenced, firewalls.ports, added) });
  }
  if (spec.apps) {
    const redis = spec.redis?.[spec.to];
    await pointHosts(servers.targets, directory, databaseValues(spec.apps.variables, spec.databases[spec.to]!.host, redis?.host));
  }
}
