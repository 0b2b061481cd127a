// Block Storage volumes: create (in a region, or attached to an instance at once), list, get,
// attach, detach, delete. An attached volume is a disk in its instance's host at Linode's device path
// (/dev/disk/by-id/scsi-0Linode_Volume_<label>), blank until mkfs, as droplets' volumes are
// (hosts/volume-disks.ts); its data follows it and goes when it is deleted.
import type { AttachVolumePayload, Volume, VolumeRequestPayload } from '@linode/api-v4';
import { AttachVolumeSchema, CreateVolumeSchema } from '@linode/validation';
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { LINODE_VOLUME_DEVICE_PREFIX, linodeVolumeKey } from '../../../hosts/volume-disks';
import { regionUp } from '../../route-helpers';
import { LINODE_REGIONS } from './catalog';
import { linodeBadRequest, linodeNotFound } from './errors';
import { findInstance } from './instances';
import { linodePage } from './pagination';
import { idParam, linodeTimestamp, requestBody } from './wire';
import { validated } from './validate';

const DEFAULT_SIZE_GB = 20;

function findVolume(ctx: CloudContext, id: number): Volume {
  const volume = ctx.store.state.linode.volumes.find((v) => v.id === id);
  if (!volume) throw linodeNotFound();
  regionUp(ctx, volume.region);
  return volume;
}

function attach(ctx: CloudContext, volume: Volume, linodeId: number, configId: number | undefined): void {
  const record = findInstance(ctx, linodeId);
  if (configId !== undefined && configId !== record.configId) throw linodeBadRequest('Config not found', 'config_id');
  if (volume.linode_id !== null) throw linodeBadRequest(`Volume is already attached to Linode ${volume.linode_id}`, 'linode_id');
  if (record.linode.region !== volume.region) throw linodeBadRequest('Volume and Linode must be in the same region', 'linode_id');
  Object.assign(volume, { linode_id: record.linode.id, linode_label: record.linode.label, updated: linodeTimestamp() });
}

async function createVolume(ctx: CloudContext, body: Record<string, unknown>): Promise<Volume> {
  const input = await validated<VolumeRequestPayload>(CreateVolumeSchema, body);
  const state = ctx.store.state.linode;
  const instance = input.linode_id !== undefined && input.linode_id !== null ? findInstance(ctx, input.linode_id) : undefined;
  const region = instance?.linode.region ?? input.region;
  if (!region) throw linodeBadRequest('region or linode_id is required', 'region');
  if (!LINODE_REGIONS.some((r) => r.id === region)) throw linodeBadRequest('region is not valid', 'region');
  regionUp(ctx, region);
  if (state.volumes.some((v) => v.label === input.label)) throw linodeBadRequest('Label must be unique among your Volumes', 'label');
  const created = linodeTimestamp();
  const volume: Volume = {
    id: ctx.store.nextId(),
    label: input.label,
    region,
    size: input.size ?? DEFAULT_SIZE_GB,
    status: 'active',
    tags: input.tags ?? [],
    filesystem_path: LINODE_VOLUME_DEVICE_PREFIX + input.label,
    hardware_type: 'nvme',
    encryption: input.encryption ?? 'disabled',
    io_ready: true,
    linode_id: null,
    linode_label: null,
    created,
    updated: created,
  };
  if (instance) attach(ctx, volume, instance.linode.id, input.config_id ?? undefined);
  state.volumes.push(volume);
  ctx.store.changed();
  return volume;
}

export function registerLinodeVolumeRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/volumes', async (request) => linodePage(request, ctx.store.state.linode.volumes));

  app.post('/volumes', async (request) => createVolume(ctx, requestBody(request)));

  app.get('/volumes/:volumeId', async (request) => findVolume(ctx, idParam(request, 'volumeId')));

  app.post('/volumes/:volumeId/attach', async (request) => {
    const volume = findVolume(ctx, idParam(request, 'volumeId'));
    const body = requestBody(request);
    // Linode's schema asks for config_id; the API takes the instance's only config when none is named.
    const linodeId = typeof body.linode_id === 'number' ? body.linode_id : undefined;
    const defaultConfig =
      linodeId === undefined ? undefined : ctx.store.state.linode.instances.find((i) => i.linode.id === linodeId)?.configId;
    const input = await validated<AttachVolumePayload>(AttachVolumeSchema, { config_id: defaultConfig, ...body });
    attach(ctx, volume, input.linode_id, input.config_id ?? defaultConfig);
    ctx.store.changed();
    return volume;
  });

  app.post('/volumes/:volumeId/detach', async (request) => {
    const volume = findVolume(ctx, idParam(request, 'volumeId'));
    Object.assign(volume, { linode_id: null, linode_label: null, updated: linodeTimestamp() });
    ctx.store.changed();
    return {};
  });

  app.delete('/volumes/:volumeId', async (request) => {
    const volume = findVolume(ctx, idParam(request, 'volumeId'));
    if (volume.linode_id !== null) throw linodeBadRequest('Volume must be detached before it can be deleted');
    ctx.store.state.linode.volumes = ctx.store.state.linode.volumes.filter((v) => v !== volume);
    ctx.hosts.volumeDestroyed?.(linodeVolumeKey(volume.id));
    ctx.store.changed();
    return {};
  });
}
