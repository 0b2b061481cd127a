// Reserved IPs (and the same under their old name, floating IPs): create in a region or for a
// droplet, get, list, delete, and the assign and unassign actions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudContext } from '../../context';
import type { ReservedIp } from '../../state';
import { notFound, unprocessable } from '../errors';
import { body, list, numericParam, param, requireRegion, requireString } from '../route-helpers';
import { findDroplet } from './droplets';

const FLAVOURS = [
  { path: '/v2/reserved_ips', one: 'reserved_ip', many: 'reserved_ips', param: 'reserved_ip' },
  { path: '/v2/floating_ips', one: 'floating_ip', many: 'floating_ips', param: 'floating_ip' },
] as const;

function findIp(ctx: CloudContext, request: FastifyRequest, paramName: string): ReservedIp {
  const ip = ctx.store.state.reservedIps.find((r) => r.ip === param(request, paramName));
  if (!ip) throw notFound('reserved IP');
  return ip;
}

function startIpAction(ctx: CloudContext, ip: ReservedIp, input: Record<string, unknown>) {
  const type = requireString(input.type, 'type');
  if (ip.locked) throw unprocessable('The reserved IP already has a pending event.');
  if (type === 'assign') {
    if (typeof input.droplet_id !== 'number') throw unprocessable('droplet_id is required');
    const droplet = findDroplet(ctx, input.droplet_id);
    if (droplet.region.slug !== ip.region.slug)
      throw unprocessable(`Droplet ${droplet.id} is in ${droplet.region.slug}; the reserved IP is in ${ip.region.slug}`);
    if (droplet.status === 'new') throw unprocessable('Droplet is still being created.');
    ip.locked = true;
    return ctx.actions.start({
      type: 'assign_ip',
      resourceId: ipAsNumber(ip.ip),
      resourceType: 'reserved_ip',
      region: ip.region,
      effect: { kind: 'reserved-ip-assign', ip: ip.ip, dropletId: droplet.id },
      durationMs: ctx.timing.actionMs,
      fail: ctx.faults.takeActionFailure('assign_ip'),
    });
  }
  if (type === 'unassign') {
    if (!ip.droplet) throw unprocessable('The reserved IP is not assigned.');
    ip.locked = true;
    return ctx.actions.start({
      type: 'unassign_ip',
      resourceId: ipAsNumber(ip.ip),
      resourceType: 'reserved_ip',
      region: ip.region,
      effect: { kind: 'reserved-ip-unassign', ip: ip.ip },
      durationMs: ctx.timing.actionMs,
      fail: ctx.faults.takeActionFailure('unassign_ip'),
    });
  }
  throw unprocessable(`${type} is not a valid reserved IP action type`);
}

/** The assigned droplet as it is now, not as it was when the IP was assigned. */
function render(ctx: CloudContext, ip: ReservedIp): ReservedIp {
  return { ...ip, droplet: ip.droplet ? (ctx.store.state.droplets.find((d) => d.id === ip.droplet?.id) ?? null) : null };
}

/** DigitalOcean reports a reserved IP's action resource_id as the address as an integer. */
export function ipAsNumber(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function registerReservedIpRoutes(app: FastifyInstance, ctx: CloudContext): void {
  for (const flavour of FLAVOURS) {
    app.get(flavour.path, async (request) =>
      list(
        request,
        flavour.many,
        ctx.store.state.reservedIps.map((ip) => render(ctx, ip)),
      ),
    );

    app.post(flavour.path, async (request, reply) => {
      const input = body(request);
      const state = ctx.store.state;
      const droplet = input.droplet_id !== undefined ? findDroplet(ctx, Number(input.droplet_id)) : undefined;
      const region = droplet ? droplet.region : requireRegion(ctx, input.region);
      const n = state.internal.nextReservedAddress++;
      const ip: ReservedIp = {
        // In this cloud's own host network (droplets use third octets below 250), so two clouds never share one.
        ip: `127.${ctx.hostNetwork}.${250 + (Math.floor(n / 250) % 5)}.${(n % 250) + 2}`,
        region,
        droplet: null,
        locked: false,
        project_id: '746c6152-2fa2-11ed-92d3-27aaa54e4988',
      };
      state.reservedIps.push(ip);
      const actions = droplet ? [startIpAction(ctx, ip, { type: 'assign', droplet_id: droplet.id })] : [];
      ctx.store.changed();
      const base = `${request.protocol}://${request.headers.host}`;
      return reply.code(202).send({
        [flavour.one]: render(ctx, ip),
        links: {
          droplets: droplet ? [{ id: droplet.id, rel: 'droplet', href: `${base}/v2/droplets/${droplet.id}` }] : [],
          actions: actions.map((a) => ({ id: a.id, rel: 'assign_ip', href: `${base}/v2/actions/${a.id}` })),
        },
      });
    });

    app.get(`${flavour.path}/:${flavour.param}`, async (request) => ({ [flavour.one]: render(ctx, findIp(ctx, request, flavour.param)) }));

    app.delete(`${flavour.path}/:${flavour.param}`, async (request, reply) => {
      const ip = findIp(ctx, request, flavour.param);
      if (ip.locked) throw unprocessable('The reserved IP already has a pending event.');
      ctx.store.state.reservedIps = ctx.store.state.reservedIps.filter((r) => r.ip !== ip.ip);
      ctx.store.changed();
      ctx.hosts.reservedIpsChanged?.();
      return reply.code(204).send();
    });

    app.post(`${flavour.path}/:${flavour.param}/actions`, async (request, reply) => {
      const ip = findIp(ctx, request, flavour.param);
      return reply.code(201).send({ action: startIpAction(ctx, ip, body(request)) });
    });

    app.get(`${flavour.path}/:${flavour.param}/actions`, async (request) => {
      const ip = findIp(ctx, request, flavour.param);
      return list(
        request,
        'actions',
        ctx.store.state.actions.filter((a) => a.resource_type === 'reserved_ip' && a.resource_id === ipAsNumber(ip.ip)),
      );
    });

    app.get(`${flavour.path}/:${flavour.param}/actions/:action_id`, async (request) => {
      const ip = findIp(ctx, request, flavour.param);
      const id = numericParam(request, 'action_id', 'action');
      const action = ctx.store.state.actions.find((a) => a.id === id && a.resource_id === ipAsNumber(ip.ip));
      if (!action) throw notFound('action');
      return { action };
    });
  }
}
