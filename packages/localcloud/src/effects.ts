// What completing an action changes in the cloud. Actions failed by a fault change nothing but
// release what they held.
import type { CloudContext } from './context';
import type { ActionEffect, Droplet } from './state';
import { findSize } from './catalog';
import { apiTimestamp } from './timestamps';
import { applyLinodeStatus } from './api/routes/linode/status';

export function applyEffect(ctx: CloudContext, effect: ActionEffect, succeeded: boolean): void {
  const s = ctx.store.state;
  const droplet = (id: number): Droplet | undefined => s.droplets.find((d) => d.id === id);
  if (effect.kind === 'reserved-ip-assign' || effect.kind === 'reserved-ip-unassign') {
    const ip = s.reservedIps.find((r) => r.ip === effect.ip);
    if (!ip) return;
    ip.locked = false;
    if (succeeded) ip.droplet = effect.kind === 'reserved-ip-assign' ? (droplet(effect.dropletId) ?? null) : null;
    if (succeeded) ctx.hosts.reservedIpsChanged?.();
    return;
  }
  if (!succeeded) return;
  switch (effect.kind) {
    case 'droplet-active': {
      const d = droplet(effect.dropletId);
      const host = s.internal.hosts[effect.dropletId];
      if (!d || !host) return;
      d.status = 'active';
      d.networks.v4 = [
        { ip_address: host.address, netmask: '255.0.0.0', gateway: '127.0.0.1', type: 'public' },
        { ip_address: host.privateAddress, netmask: '255.255.240.0', gateway: '', type: 'private' },
      ];
      ctx.hosts.dropletActive(d);
      return;
    }
    case 'droplet-power': {
      const d = droplet(effect.dropletId);
      if (d) d.status = effect.status;
      return;
    }
    case 'droplet-snapshot': {
      const d = droplet(effect.dropletId);
      if (!d) return;
      const id = ctx.store.nextId();
      s.snapshots.push({
        id: String(id),
        name: effect.snapshotName,
        // DigitalOcean dates a snapshot by its action's start.
        created_at: effect.createdAt ?? apiTimestamp(),
        regions: [d.region.slug],
        resource_id: String(d.id),
        resource_type: 'droplet',
        min_disk_size: d.disk,
        size_gigabytes: 1.2,
        tags: [],
      });
      d.snapshot_ids.push(id);
      return;
    }
    case 'droplet-resize': {
      const d = droplet(effect.dropletId);
      const size = findSize(effect.sizeSlug);
      if (!d || !size) return;
      Object.assign(d, { size, size_slug: size.slug, memory: size.memory, vcpus: size.vcpus, disk: size.disk });
      return;
    }
    case 'droplet-rename': {
      const d = droplet(effect.dropletId);
      if (d) d.name = effect.name;
      return;
    }
    case 'volume-attach':
    case 'volume-detach': {
      const volume = s.volumes.find((v) => v.id === effect.volumeId);
      const d = droplet(effect.dropletId);
      if (!volume || !d) return;
      const attach = effect.kind === 'volume-attach';
      volume.droplet_ids = attach ? [d.id] : volume.droplet_ids.filter((id) => id !== d.id);
      d.volume_ids = attach ? [...new Set([...d.volume_ids, volume.id])] : d.volume_ids.filter((id) => id !== volume.id);
      return;
    }
    case 'volume-resize': {
      const volume = s.volumes.find((v) => v.id === effect.volumeId);
      if (volume) volume.size_gigabytes = effect.sizeGigabytes;
      return;
    }
    case 'linode-status':
      applyLinodeStatus(ctx, effect);
      return;
    case 'none':
      return;
  }
}
