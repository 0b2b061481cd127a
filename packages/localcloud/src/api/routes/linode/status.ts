// A Linode instance's status moves on asynchronously (provisioning -> booting -> running, or
// shutting_down -> offline), through the cloud's action engine: each step is a persisted pending
// action, so a restart finishes it and faults can hold or fail it as they do DigitalOcean's.
// These actions are Linode's events, not DigitalOcean actions: /v2/actions never lists them.
import type { LinodeStatus } from '@linode/api-v4';
import type { CloudContext } from '../../../context';
import { linodeTimestamp } from './wire';

export const LINODE_EVENT_RESOURCE = 'linode';

export interface LinodeStatusChange {
  kind: 'linode-status';
  linodeId: number;
  status: LinodeStatus;
  /** The step after this one, started when this one completes. */
  then?: { status: LinodeStatus; afterMs: number };
}

/** Sets the instance's status now and moves it to `status` after `afterMs`, then on to `then`. */
export function scheduleStatus(
  ctx: CloudContext,
  linodeId: number,
  now: LinodeStatus,
  next: { status: LinodeStatus; afterMs: number },
  then?: { status: LinodeStatus; afterMs: number },
): void {
  const record = ctx.store.state.linode.instances.find((i) => i.linode.id === linodeId);
  if (!record) return;
  record.linode.status = now;
  record.linode.updated = linodeTimestamp();
  ctx.actions.start({
    type: `linode_${next.status}`,
    resourceId: linodeId,
    resourceType: LINODE_EVENT_RESOURCE,
    region: null,
    effect: { kind: 'linode-status', linodeId, status: next.status, then },
    durationMs: next.afterMs,
    fail: ctx.faults.takeActionFailure(`linode_${next.status}`),
  });
}

export function applyLinodeStatus(ctx: CloudContext, effect: LinodeStatusChange): void {
  const record = ctx.store.state.linode.instances.find((i) => i.linode.id === effect.linodeId);
  if (!record) return;
  const { linode } = record;
  if (effect.then) {
    scheduleStatus(ctx, linode.id, effect.status, effect.then);
    return;
  }
  linode.status = effect.status;
  linode.updated = linodeTimestamp();
  // Running: its host answers SSH on its public address, as a droplet's does.
  if (effect.status === 'running') ctx.hosts.dropletActive({ id: linode.id, name: linode.label, region: { slug: linode.region } });
  ctx.store.changed();
}
