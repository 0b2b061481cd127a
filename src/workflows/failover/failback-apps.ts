// A failback's step between making the other site the replica and moving traffic back: the stack
// as it was before the failover. The site the failover moved onto (`from`) gets its app servers
// pointed at the recovered primary again (its own database is a replica now, read-only), and, when
// the failover cut the recovered site's app servers off `from`'s databases by firewall, `from`'s
// rules are written back as the stack wrote them. Each undone on rollback.
import type { FailbackSite } from '../../specs/failback';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { databaseValues, pointAppServers } from '../shared/point-apps';
import { COMPENSATION_RETRY, type Saga } from '../shared/saga';
import { withoutSources } from './cut-failed-apps';

/** Runs from this patch on restore the stack's app servers and database firewall (when the input names them); older runs replay without. */
export const FAILBACK_APPS_PATCH = 'failback-apps-and-firewall';
export const FAILBACK_APPS_STEP = 'point the app servers at the recovered primary';

export interface FailbackAppsView {
  /** App servers of `from` pointed at the recovered primary. */
  pointed: number;
  /** The firewall whose database rules were written back whole. */
  firewallRestored?: string;
}

export async function restoreStackApps(
  spec: FailbackSite,
  saga: Saga,
  redis: { primary: { host: string }; recovered: { host: string } } | undefined,
): Promise<FailbackAppsView> {
  const { from, to } = spec;
  const view: FailbackAppsView = { pointed: 0 };
  const firewalls = spec.databaseFirewalls;
  if (firewalls) {
    const rules = firewalls.sites[from]!;
    const cloud = cloudProvider(rules.cloud, { retry: CLOUD_RETRY });
    const undo = cloudProvider(rules.cloud, { retry: COMPENSATION_RETRY });
    saga.addCompensation(`cut ${to}'s app servers off ${from}'s databases again (firewall ${rules.firewallId})`, () =>
      undo.setFirewallInbound({
        id: rules.firewallId,
        inbound: withoutSources(rules.inbound, firewalls.ports, firewalls.sites[to]!.appSources),
      }),
    );
    await cloud.setFirewallInbound({ id: rules.firewallId, inbound: rules.inbound });
    view.firewallRestored = rules.firewallId;
  }
  const apps = spec.apps;
  const servers = apps?.sites[from];
  if (apps && servers) {
    const primary = spec.databases[from]!;
    const recovered = spec.databases[to]!;
    // Registered first: a host that took the new values before a later one failed is pointed back too.
    saga.addCompensation(`point ${from}'s app servers back at ${primary.name}`, () =>
      pointAppServers(servers, databaseValues(apps.variables, primary.host, redis?.primary.host)),
    );
    await pointAppServers(servers, databaseValues(apps.variables, recovered.host, redis?.recovered.host));
    view.pointed = servers.hosts.length;
  }
  return view;
}
