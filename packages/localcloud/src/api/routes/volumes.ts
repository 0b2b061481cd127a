// Block storage volumes: create, get, list by name and region, delete (by id or by name), attach,
// detach and resize actions (by id or by name), volume snapshots.
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../context';
import type { Snapshot, Volume } from '../../state';
import { ApiError, notFound, unprocessable } from '../errors';
import { body, list, now, param, query, regionUp, requireRegion, requireString, tagNames, uuid } from '../route-helpers';
import { findDroplet } from './droplets';

const VOLUME_NAME = /^[a-z][a-z0-9-]{0,63}$/;

function findVolume(ctx: CloudContext, id: string): Volume {
  const volume = ctx.store.state.volumes.find((v) => v.id === id);
  if (!volume) throw notFound('volume');
  regionUp(ctx, volume.region.slug);
  return volume;
}

function createVolume(ctx: CloudContext, input: Record<string, unknown>): Volume {
  const name = requireString(input.name, 'name');
  if (!VOLUME_NAME.test(name))
    throw unprocessable(
      `name ${name} must start with a lowercase letter and contain only lowercase letters, numbers and dashes (at most 64)`,
    );
  const size = input.size_gigabytes;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 16384)
    throw unprocessable('size_gigabytes must be an integer from 1 to 16384');
  const region = requireRegion(ctx, input.region);
  if (ctx.store.state.volumes.some((v) => v.name === name && v.region.slug === region.slug)) {
    throw new ApiError(409, 'conflict', `a volume with the name ${name} already exists in ${region.slug}`);
  }
  // "" is no filesystem, as omitting it is (godo always sends the field, empty for an unformatted volume).
  const filesystem = input.filesystem_type === '' ? undefined : input.filesystem_type;
  if (filesystem !== undefined && filesystem !== 'ext4' && filesystem !== 'xfs') throw unprocessable('filesystem_type must be ext4 or xfs');
  const volume: Volume = {
    id: uuid(),
    region,
    droplet_ids: [],
    name,
    description: typeof input.description === 'string' ? input.description : '',
    size_gigabytes: size,
    created_at: now(),
    filesystem_type: (filesystem as string | undefined) ?? '',
    filesystem_label: typeof input.filesystem_label === 'string' ? input.filesystem_label : '',
    tags: tagNames(input.tags),
  };
  ctx.store.state.volumes.push(volume);
  ctx.store.changed();
  return volume;
}

function deleteVolume(ctx: CloudContext, volume: Volume): void {
  if (volume.droplet_ids.length > 0) throw new ApiError(409, 'conflict', 'Volume is currently attached to a Droplet; detach it first.');
  ctx.store.state.volumes = ctx.store.state.volumes.filter((v) => v.id !== volume.id);
  ctx.hosts.volumeDestroyed?.(volume.id);
  ctx.store.changed();
}

function startVolumeAction(ctx: CloudContext, volume: Volume, input: Record<string, unknown>) {
  const action = volumeAction(ctx, volume, input);
  ctx.store.state.internal.volumeActions[action.id] = volume.id;
  return action;
}

function volumeAction(ctx: CloudContext, volume: Volume, input: Record<string, unknown>) {
  const type = requireString(input.type, 'type');
  if (type === 'attach' || type === 'detach') {
    if (typeof input.droplet_id !== 'number') throw unprocessable('droplet_id is required');
    const droplet = findDroplet(ctx, input.droplet_id);
    if (droplet.region.slug !== volume.region.slug)
      throw unprocessable(`Droplet ${droplet.id} is in ${droplet.region.slug}; the volume is in ${volume.region.slug}`);
    if (type === 'attach' && volume.droplet_ids.length > 0 && !volume.droplet_ids.includes(droplet.id))
      throw unprocessable('Volume is already attached to another Droplet.');
    if (type === 'detach' && !volume.droplet_ids.includes(droplet.id)) throw unprocessable('Volume is not attached to this Droplet.');
    if (droplet.locked) throw unprocessable('Droplet already has a pending event.');
    return ctx.actions.start({
      type: type === 'attach' ? 'attach_volume' : 'detach_volume',
      resourceId: null,
      resourceType: 'volume',
      region: volume.region,
      effect: { kind: type === 'attach' ? 'volume-attach' : 'volume-detach', volumeId: volume.id, dropletId: droplet.id },
      durationMs: ctx.timing.actionMs,
      lockDropletId: droplet.id,
      fail: ctx.faults.takeActionFailure(type === 'attach' ? 'attach_volume' : 'detach_volume'),
    });
  }
  if (type === 'resize') {
    const size = input.size_gigabytes;
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= volume.size_gigabytes)
      throw unprocessable('size_gigabytes must be an integer larger than the current size');
    return ctx.actions.start({
      type: 'resize_volume',
      resourceId: null,
      resourceType: 'volume',
      region: volume.region,
      effect: { kind: 'volume-resize', volumeId: volume.id, sizeGigabytes: size },
      durationMs: ctx.timing.actionMs,
      fail: ctx.faults.takeActionFailure('resize_volume'),
    });
  }
  throw unprocessable(`${type} is not a valid volume action type`);
}

export function registerVolumeRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/volumes', async (request) => {
    const { name, region } = query(request);
    let volumes = ctx.store.state.volumes;
    if (name) volumes = volumes.filter((v) => v.name === name);
    if (region) volumes = volumes.filter((v) => v.region.slug === region);
    return list(request, 'volumes', volumes);
  });

  app.post('/v2/volumes', async (request, reply) => reply.code(201).send({ volume: createVolume(ctx, body(request)) }));

  app.get('/v2/volumes/:volume_id', async (request) => ({ volume: findVolume(ctx, param(request, 'volume_id')) }));

  app.delete('/v2/volumes/:volume_id', async (request, reply) => {
    deleteVolume(ctx, findVolume(ctx, param(request, 'volume_id')));
    return reply.code(204).send();
  });

  app.delete('/v2/volumes', async (request, reply) => {
    const { name, region } = query(request);
    const volume = ctx.store.state.volumes.find((v) => v.name === name && v.region.slug === region);
    if (!volume) throw notFound('volume');
    deleteVolume(ctx, volume);
    return reply.code(204).send();
  });

  app.post('/v2/volumes/:volume_id/actions', async (request, reply) => {
    const volume = findVolume(ctx, param(request, 'volume_id'));
    return reply.code(202).send({ action: startVolumeAction(ctx, volume, body(request)) });
  });

  app.post('/v2/volumes/actions', async (request, reply) => {
    const input = body(request);
    const volume = ctx.store.state.volumes.find((v) => v.name === input.volume_name && v.region.slug === input.region);
    if (!volume) throw notFound('volume');
    return reply.code(202).send({ action: startVolumeAction(ctx, volume, input) });
  });

  app.get('/v2/volumes/:volume_id/actions', async (request) => {
    const volume = findVolume(ctx, param(request, 'volume_id'));
    const ids = new Set(
      Object.entries(ctx.store.state.internal.volumeActions)
        .filter(([, v]) => v === volume.id)
        .map(([k]) => Number(k)),
    );
    return list(
      request,
      'actions',
      ctx.store.state.actions.filter((a) => ids.has(a.id)),
    );
  });

  app.post('/v2/volumes/:volume_id/snapshots', async (request, reply) => {
    const volume = findVolume(ctx, param(request, 'volume_id'));
    const input = body(request);
    const snapshot: Snapshot = {
      id: uuid(),
      name: requireString(input.name, 'name'),
      created_at: now(),
      regions: [volume.region.slug],
      resource_id: volume.id,
      resource_type: 'volume',
      min_disk_size: volume.size_gigabytes,
      size_gigabytes: 0,
      tags: tagNames(input.tags),
    };
    ctx.store.state.snapshots.push(snapshot);
    ctx.store.changed();
    return reply.code(201).send({ snapshot });
  });

  app.get('/v2/volumes/:volume_id/snapshots', async (request) => {
    const volume = findVolume(ctx, param(request, 'volume_id'));
    return list(
      request,
      'snapshots',
      ctx.store.state.snapshots.filter((s) => s.resource_id === volume.id),
    );
  });
}
