// Part of a failover's fence: the failed site's app servers cut off the survivor's databases by
// the survivor's firewall, so an app server of the failed site that is still running (a partition,
// not an outage) cannot write to the new primary, and nothing of that site can open a connection
// there. Done before the promotion (Patroni: fence before promote) and undone on rollback by
// writing the rules back as the stack wrote them. The same rules minus those addresses, never more:
// every other source (the other site's servers, the operators) keeps its access.
import type { FirewallRule } from '../../providers/cloud-provider';
import type { FailoverSite } from '../../specs/failover';
import { covers } from '../../specs/stack';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';
import { COMPENSATION_RETRY, type Saga } from '../shared/saga';

/** Runs from this patch on cut the failed site's app servers off by firewall (when the input names the firewalls). */
export const FAILOVER_CUT_APPS_PATCH = 'failover-cut-apps-by-firewall';
export const CUT_APPS_STEP = "cut the failed site's app servers off the survivor's databases";

export interface CutAppsView {
  firewallId: string;
  /** The failed site's app server addresses taken out of the database rules. */
  removed: string[];
  ports: number[];
}

export async function cutFailedSiteApps(spec: FailoverSite, saga: Saga): Promise<CutAppsView> {
  const firewalls = spec.databaseFirewalls!;
  const survivor = firewalls.sites[spec.to]!;
  const failed = firewalls.sites[spec.from]!;
  const cloud = cloudProvider(survivor.cloud, { retry: CLOUD_RETRY });
  const undo = cloudProvider(survivor.cloud, { retry: COMPENSATION_RETRY });
  // Registered first: a replacement whose answer was lost is written back all the same.
  saga.addCompensation(`let ${spec.from}'s app servers reach ${spec.to}'s databases again (firewall ${survivor.firewallId})`, () =>
    undo.setFirewallInbound({ id: survivor.firewallId, inbound: survivor.inbound }),
  );
  await cloud.setFirewallInbound({
    id: survivor.firewallId,
    inbound: withoutSources(survivor.inbound, firewalls.ports, failed.appSources),
  });
  return { firewallId: survivor.firewallId, removed: failed.appSources, ports: firewalls.ports };
}

/** The rules with `removed` taken out of every rule on one of `ports`; a rule left with no source goes. */
export function withoutSources(rules: FirewallRule[], ports: number[], removed: string[]): FirewallRule[] {
  return rules.flatMap((rule) => {
    if (!ports.some((port) => covers(rule.ports, port))) return [rule];
    const sources = rule.sources.filter((s) => !removed.includes(s));
    return sources.length > 0 ? [{ ...rule, sources }] : [];
  });
}

/** The rules with `added` among the sources of every rule on one of `ports`. */
export function withSources(rules: FirewallRule[], ports: number[], added: string[]): FirewallRule[] {
  return rules.map((rule) =>
    ports.some((port) => covers(rule.ports, port)) ? { ...rule, sources: [...new Set([...rule.sources, ...added])] } : rule,
  );
}
