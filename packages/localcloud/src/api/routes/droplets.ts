// Droplets: create one or many, get, list (by tag or name), delete, delete by tag.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DISTRIBUTION_IMAGES, findSize, type Image } from '../../catalog';
import type { CloudContext } from '../../context';
import type { Droplet, Vpc } from '../../state';
import { notFound, unprocessable } from '../errors';
import { body, list, now, numericParam, query, regionUp, requireRegion, requireString, tagNames } from '../route-helpers';
import { ensureDefaultVpc, nextPrivateAddress } from './vpcs';

/** The n-th server address of this cloud's host network (droplets and Linode instances share the count). */
export const hostAddressOf = (ctx: CloudContext, n: number) => `127.${ctx.hostNetwork}.${Math.floor(n / 250)}.${(n % 250) + 2}`;

/** A new DigitalOcean account's droplet limit; the local cloud can be given another. */
export const DEFAULT_DROPLET_LIMIT = 25;
const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,253}[a-zA-Z0-9])?$/;

export function findDroplet(ctx: CloudContext, id: number): Droplet {
  const droplet = ctx.store.state.droplets.find((d) => d.id === id);
  if (!droplet) throw notFound('droplet');
  regionUp(ctx, droplet.region.slug);
  return droplet;
}

/** A request's `droplet_ids`, each checked to exist; null is none (godo sends it for an empty list, DigitalOcean accepts it). */
export function dropletIds(ctx: CloudContext, value: unknown): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'number'))
    throw unprocessable('droplet_ids must be an array of droplet ids');
  for (const id of value as number[]) findDroplet(ctx, id);
  return value as number[];
}

export function dropletFromRequest(ctx: CloudContext, request: FastifyRequest): Droplet {
  return findDroplet(ctx, numericParam(request, 'droplet_id', 'droplet'));
}

function resolveImage(ctx: CloudContext, image: unknown): Image {
  const found =
    typeof image === 'number' ? DISTRIBUTION_IMAGES.find((i) => i.id === image) : DISTRIBUTION_IMAGES.find((i) => i.slug === image);
  if (found) return found;
  const snapshot = ctx.store.state.snapshots.find((s) => s.resource_type === 'droplet' && String(image) === s.id);
  if (snapshot)
    return {
      ...(DISTRIBUTION_IMAGES[0] as Image),
      id: Number(snapshot.id),
      name: snapshot.name,
      slug: null,
      type: 'snapshot',
      public: false,
    };
  throw unprocessable(`You specified an invalid image for Droplet creation.`);
}

function resolveSshKeys(ctx: CloudContext, keys: unknown): string[] {
  // null is none: godo sends it for a droplet created without keys.
  if (keys === undefined || keys === null) return [];
  if (!Array.isArray(keys)) throw unprocessable('ssh_keys must be an array of key ids or fingerprints');
  return keys.map((ref) => {
    const key = ctx.store.state.sshKeys.find((k) => k.id === Number(ref) || k.fingerprint === ref);
    if (!key) throw unprocessable(`ssh_keys: ${String(ref)} is not an SSH key on this account`);
    return key.public_key;
  });
}

function resolveVpc(ctx: CloudContext, vpcUuid: unknown, regionSlug: string): Vpc {
  if (vpcUuid === undefined || vpcUuid === null) return ensureDefaultVpc(ctx, regionSlug);
  const vpc = ctx.store.state.vpcs.find((v) => v.id === vpcUuid);
  if (!vpc) throw unprocessable(`vpc_uuid ${String(vpcUuid)} is not a VPC on this account`);
  if (vpc.region !== regionSlug) throw unprocessable(`VPC ${vpc.id} is in ${vpc.region}, not ${regionSlug}`);
  return vpc;
}

function createDroplets(ctx: CloudContext, request: FastifyRequest) {
  const input = body(request);
  const names = input.names !== undefined ? input.names : [requireString(input.name, 'name')];
  if (!Array.isArray(names) || names.length === 0 || names.length > 10) throw unprocessable('names must list 1 to 10 droplet names');
  for (const name of names) {
    if (typeof name !== 'string' || !HOSTNAME.test(name))
      throw unprocessable(`Name ${JSON.stringify(name)} is not a valid hostname: use letters, numbers, dots and dashes`);
  }
  const region = requireRegion(ctx, input.region);
  const size = findSize(requireString(input.size, 'size'));
  if (!size) throw unprocessable(`You specified an invalid size for Droplet creation.`);
  const image = resolveImage(ctx, input.image);
  const authorizedKeys = resolveSshKeys(ctx, input.ssh_keys);
  const tags = tagNames(input.tags);
  const vpc = resolveVpc(ctx, input.vpc_uuid, region.slug);
  const state = ctx.store.state;
  if (state.droplets.length + names.length > ctx.dropletLimit) {
    throw unprocessable(`creating this/these droplet(s) will exceed your droplet limit of ${ctx.dropletLimit}`);
  }

  const created = (names as string[]).map((name) => {
    const droplet: Droplet = {
      id: ctx.store.nextId(),
      name,
      memory: size.memory,
      vcpus: size.vcpus,
      disk: size.disk,
      locked: false,
      status: 'new',
      created_at: now(),
      features: ['private_networking', ...(input.monitoring ? ['monitoring'] : []), ...(input.backups ? ['backups'] : [])],
      backup_ids: [],
      next_backup_window: null,
      snapshot_ids: [],
      image,
      volume_ids: [],
      size,
      size_slug: size.slug,
      networks: { v4: [], v6: [] },
      region,
      tags,
      vpc_uuid: vpc.id,
      kernel: null,
    };
    state.droplets.push(droplet);
    const n = state.internal.nextHostAddress++;
    state.internal.hosts[droplet.id] = {
      address: hostAddressOf(ctx, n),
      sshPort: 22,
      authorizedKeys,
      privateAddress: nextPrivateAddress(ctx, vpc),
    };
    const action = ctx.actions.start({
      type: 'create',
      resourceId: droplet.id,
      resourceType: 'droplet',
      region,
      effect: { kind: 'droplet-active', dropletId: droplet.id },
      durationMs: ctx.timing.dropletCreateMs,
      fail: ctx.faults.takeActionFailure('create'),
    });
    return { droplet, action };
  });
  ctx.store.changed();
  const links = {
    actions: created.map(({ action }) => ({
      id: action.id,
      rel: 'create',
      href: `${request.protocol}://${request.headers.host}/v2/actions/${action.id}`,
    })),
  };
  return input.names !== undefined
    ? { droplets: created.map((c) => c.droplet), links }
    : { droplet: (created[0] as { droplet: Droplet }).droplet, links };
}

/** Removes a droplet and everything that points at it. */
export function destroyDroplet(ctx: CloudContext, droplet: Droplet): void {
  const state = ctx.store.state;
  state.droplets = state.droplets.filter((d) => d.id !== droplet.id);
  for (const volume of state.volumes) volume.droplet_ids = volume.droplet_ids.filter((id) => id !== droplet.id);
  for (const ip of state.reservedIps) if (ip.droplet?.id === droplet.id) ip.droplet = null;
  for (const firewall of state.firewalls) firewall.droplet_ids = firewall.droplet_ids.filter((id) => id !== droplet.id);
  for (const lb of state.loadBalancers) lb.droplet_ids = lb.droplet_ids.filter((id) => id !== droplet.id);
  delete state.internal.hosts[droplet.id];
  ctx.hosts.dropletDestroyed(droplet.id);
  ctx.store.changed();
}

export function registerDropletRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/droplets', async (request) => {
    const { tag_name: tag, name } = query(request);
    let droplets = ctx.store.state.droplets;
    if (tag) droplets = droplets.filter((d) => d.tags.includes(tag));
    if (name) droplets = droplets.filter((d) => d.name === name);
    return list(request, 'droplets', droplets);
  });

  app.post('/v2/droplets', async (request, reply) => reply.code(202).send(createDroplets(ctx, request)));

  app.get('/v2/droplets/:droplet_id', async (request) => ({ droplet: dropletFromRequest(ctx, request) }));

  app.delete('/v2/droplets/:droplet_id', async (request, reply) => {
    destroyDroplet(ctx, dropletFromRequest(ctx, request));
    return reply.code(204).send();
  });

  app.delete('/v2/droplets', async (request, reply) => {
    const tag = query(request).tag_name;
    if (!tag) throw unprocessable('tag_name is required to delete droplets by tag');
    for (const droplet of ctx.store.state.droplets.filter((d) => d.tags.includes(tag))) destroyDroplet(ctx, droplet);
    return reply.code(204).send();
  });

  app.get('/v2/droplets/:droplet_id/snapshots', async (request) => {
    const droplet = dropletFromRequest(ctx, request);
    const snapshots = ctx.store.state.snapshots.filter((s) => s.resource_type === 'droplet' && s.resource_id === String(droplet.id));
    return list(
      request,
      'snapshots',
      snapshots.map((s) => ({
        id: Number(s.id),
        name: s.name,
        distribution: droplet.image.distribution,
        slug: null,
        public: false,
        regions: s.regions,
        created_at: s.created_at,
        min_disk_size: s.min_disk_size,
        size_gigabytes: s.size_gigabytes,
        type: 'snapshot',
      })),
    );
  });

  app.get('/v2/droplets/:droplet_id/firewalls', async (request) => {
    const droplet = dropletFromRequest(ctx, request);
    return list(
      request,
      'firewalls',
      ctx.store.state.firewalls.filter((f) => f.droplet_ids.includes(droplet.id) || f.tags.some((t) => droplet.tags.includes(t))),
    );
  });
}
