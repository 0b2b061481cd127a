// Actions: the account-wide list and a single action; droplet actions (power, reboot, snapshot,
// resize, rebuild, rename), one droplet at a time or by tag, with the real lock semantics.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { findSize } from '../../catalog';
import type { CloudContext } from '../../context';
import type { ActionEffect, Droplet } from '../../state';
import { notFound, unprocessable } from '../errors';
import { body, list, numericParam, query, requireString } from '../route-helpers';
import { dropletFromRequest } from './droplets';
import { apiTimestamp } from '../../timestamps';
import { LINODE_EVENT_RESOURCE } from './linode/status';

const DROPLET_ACTIONS = [
  'power_off',
  'power_on',
  'shutdown',
  'reboot',
  'power_cycle',
  'snapshot',
  'resize',
  'rebuild',
  'rename',
  'enable_backups',
  'disable_backups',
  'enable_ipv6',
  'password_reset',
];

function dropletActionEffect(droplet: Droplet, type: string, input: Record<string, unknown>, startedAt: string): ActionEffect {
  switch (type) {
    case 'power_off':
    case 'shutdown':
      return { kind: 'droplet-power', dropletId: droplet.id, status: 'off' };
    case 'power_on':
    case 'reboot':
    case 'power_cycle':
    case 'rebuild':
      return { kind: 'droplet-power', dropletId: droplet.id, status: 'active' };
    case 'snapshot':
      return {
        kind: 'droplet-snapshot',
        dropletId: droplet.id,
        snapshotName: typeof input.name === 'string' && input.name ? input.name : `${droplet.name}-${Date.now()}`,
        createdAt: startedAt,
      };
    case 'resize': {
      const size = requireString(input.size, 'size');
      if (!findSize(size)) throw unprocessable(`You specified an invalid size for Droplet resize.`);
      if (droplet.status !== 'off') throw unprocessable('Droplet must be powered off before resizing.');
      return { kind: 'droplet-resize', dropletId: droplet.id, sizeSlug: size };
    }
    case 'rename':
      return { kind: 'droplet-rename', dropletId: droplet.id, name: requireString(input.name, 'name') };
    default:
      return { kind: 'none' };
  }
}

export function startDropletAction(ctx: CloudContext, droplet: Droplet, input: Record<string, unknown>) {
  const type = requireString(input.type, 'type');
  if (!DROPLET_ACTIONS.includes(type)) throw unprocessable(`${type} is not a valid droplet action type`);
  if (droplet.locked) throw unprocessable('Droplet already has a pending event.');
  if (droplet.status === 'new') throw unprocessable('Droplet is still being created.');
  const startedAt = apiTimestamp();
  return ctx.actions.start({
    type,
    resourceId: droplet.id,
    resourceType: 'droplet',
    region: droplet.region,
    effect: dropletActionEffect(droplet, type, input, startedAt),
    startedAt,
    durationMs: ctx.timing.actionMs,
    lockDropletId: droplet.id,
    fail: ctx.faults.takeActionFailure(type),
  });
}

function findAction(ctx: CloudContext, request: FastifyRequest) {
  const id = numericParam(request, 'action_id', 'action');
  const action = ctx.store.state.actions.find((a) => a.id === id && a.resource_type !== LINODE_EVENT_RESOURCE);
  if (!action) throw notFound('action');
  return action;
}

export function registerActionRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/actions', async (request) =>
    list(request, 'actions', [...ctx.store.state.actions].filter((a) => a.resource_type !== LINODE_EVENT_RESOURCE).reverse()),
  );
  app.get('/v2/actions/:action_id', async (request) => ({ action: findAction(ctx, request) }));

  app.post('/v2/droplets/:droplet_id/actions', async (request, reply) => {
    const droplet = dropletFromRequest(ctx, request);
    return reply.code(201).send({ action: startDropletAction(ctx, droplet, body(request)) });
  });

  app.post('/v2/droplets/actions', async (request, reply) => {
    const tag = query(request).tag_name;
    if (!tag) throw unprocessable('tag_name is required for droplet actions by tag');
    const input = body(request);
    const actions = ctx.store.state.droplets.filter((d) => d.tags.includes(tag)).map((d) => startDropletAction(ctx, d, input));
    return reply.code(201).send({ actions });
  });

  app.get('/v2/droplets/:droplet_id/actions', async (request) => {
    const droplet = dropletFromRequest(ctx, request);
    return list(
      request,
      'actions',
      ctx.store.state.actions.filter((a) => a.resource_type === 'droplet' && a.resource_id === droplet.id).reverse(),
    );
  });

  app.get('/v2/droplets/:droplet_id/actions/:action_id', async (request) => {
    const droplet = dropletFromRequest(ctx, request);
    const action = findAction(ctx, request);
    if (action.resource_id !== droplet.id) throw notFound('action');
    return { action };
  });
}
