// After a failback has moved traffic back, the servers its failover added to the survivor
// (scaleSurvivor, recorded with the standing failover) go: their origins out of the survivor's
// pool first, so the edge stops sending them requests, then every server carrying the failover's
// tag deleted through its provider. The failback stands by then, so a failure here is not undone:
// it is reported for a human (what is left, by tag).
import type { Activities } from '../../activities';
import type { FailbackSite } from '../../specs/failback';
import type { StandingScale } from '../environment/inventory';
import { CLOUD_RETRY, cloudProvider } from '../shared/cloud-activity-options';

/** Runs from this patch on remove the failover's scale servers; older runs replay without. */
export const FAILBACK_REMOVE_SCALE_PATCH = 'failback-remove-scale-servers';
export const REMOVE_SCALE_STEP = "remove the failover's scale servers";

export interface RemovedScaleView {
  tag: string;
  origins: string[];
  deletedServers: number;
}

export async function removeScaleServers(
  spec: FailbackSite,
  scale: StandingScale,
  act: Pick<Activities, 'removePoolOrigins'>,
): Promise<RemovedScaleView> {
  await act.removePoolOrigins({ cloudflare: spec.cloudflare, loadBalancer: spec.loadBalancer, site: spec.from, origins: scale.origins });
  const cloud = cloudProvider(scale.cloud, { retry: CLOUD_RETRY });
  const deletedServers = await cloud.deleteServersTagged({ tag: scale.tag });
  return { tag: scale.tag, origins: scale.origins.map((o) => o.name), deletedServers };
}
