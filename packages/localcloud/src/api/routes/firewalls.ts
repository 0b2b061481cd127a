// Cloud firewalls: create, get, list, update, delete; add and remove droplets, tags and rules.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudContext } from '../../context';
import type { Firewall, FirewallRule } from '../../state';
import { notFound, unprocessable } from '../errors';
import { body, list, now, param, requireString, tagNames, uuid } from '../route-helpers';
import { dropletIds } from './droplets';

const PORTS = /^(all|0|\d{1,5}(-\d{1,5})?)$/;

function rules(value: unknown, field: 'inbound_rules' | 'outbound_rules'): FirewallRule[] {
  // null is an empty list (the spec allows it; godo sends it for no rules).
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw unprocessable(`${field} must be an array`);
  const side = field === 'inbound_rules' ? 'sources' : 'destinations';
  return value.map((rule: Record<string, unknown>, i) => {
    const where = `${field}[${i}]`;
    if (!['tcp', 'udp', 'icmp'].includes(rule.protocol as string)) throw unprocessable(`${where}.protocol must be tcp, udp or icmp`);
    const ports = rule.protocol === 'icmp' ? '0' : String(rule.ports ?? '');
    if (!PORTS.test(ports)) throw unprocessable(`${where}.ports must be a port, a range like 8081-8084, or "all"`);
    const [low, high] = ports.split('-').map(Number);
    if ((low ?? 0) > 65535 || (high ?? 0) > 65535 || (high !== undefined && high < (low as number)))
      throw unprocessable(`${where}.ports ${ports} is not a valid port range`);
    const target = rule[side];
    if (typeof target !== 'object' || target === null) throw unprocessable(`${where}.${side} is required`);
    return { protocol: rule.protocol as FirewallRule['protocol'], ports, [side]: target };
  });
}

function findFirewall(ctx: CloudContext, request: FastifyRequest): Firewall {
  const firewall = ctx.store.state.firewalls.find((f) => f.id === param(request, 'firewall_id'));
  if (!firewall) throw notFound('firewall');
  return firewall;
}

function fill(ctx: CloudContext, firewall: Firewall, input: Record<string, unknown>): Firewall {
  firewall.name = requireString(input.name, 'name');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$/.test(firewall.name))
    throw unprocessable(`name ${firewall.name} may contain only letters, numbers, dots, dashes and underscores`);
  firewall.inbound_rules = rules(input.inbound_rules, 'inbound_rules');
  firewall.outbound_rules = rules(input.outbound_rules, 'outbound_rules');
  firewall.droplet_ids = dropletIds(ctx, input.droplet_ids);
  firewall.tags = tagNames(input.tags);
  return firewall;
}

export function registerFirewallRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/firewalls', async (request) => list(request, 'firewalls', ctx.store.state.firewalls));

  app.post('/v2/firewalls', async (request, reply) => {
    const firewall = fill(
      ctx,
      {
        id: uuid(),
        name: '',
        status: 'succeeded',
        created_at: now(),
        pending_changes: [],
        inbound_rules: [],
        outbound_rules: [],
        droplet_ids: [],
        tags: [],
      },
      body(request),
    );
    ctx.store.state.firewalls.push(firewall);
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return reply.code(202).send({ firewall });
  });

  app.get('/v2/firewalls/:firewall_id', async (request) => ({ firewall: findFirewall(ctx, request) }));

  app.put('/v2/firewalls/:firewall_id', async (request) => {
    const firewall = fill(ctx, { ...findFirewall(ctx, request) }, body(request));
    ctx.store.state.firewalls = ctx.store.state.firewalls.map((f) => (f.id === firewall.id ? firewall : f));
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return { firewall };
  });

  app.delete('/v2/firewalls/:firewall_id', async (request, reply) => {
    const firewall = findFirewall(ctx, request);
    ctx.store.state.firewalls = ctx.store.state.firewalls.filter((f) => f.id !== firewall.id);
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return reply.code(204).send();
  });

  const edit = (sub: string, apply: (firewall: Firewall, input: Record<string, unknown>, adding: boolean) => void) => {
    for (const [method, adding] of [
      ['POST', true],
      ['DELETE', false],
    ] as const) {
      app.route({
        method,
        url: `/v2/firewalls/:firewall_id/${sub}`,
        handler: async (request, reply) => {
          const firewall = findFirewall(ctx, request);
          apply(firewall, body(request), adding);
          ctx.store.changed();
          ctx.hosts.firewallsChanged?.();
          return reply.code(204).send();
        },
      });
    }
  };
  edit('droplets', (firewall, input, adding) => {
    const ids = dropletIds(ctx, input.droplet_ids);
    firewall.droplet_ids = adding
      ? [...new Set([...firewall.droplet_ids, ...ids])]
      : firewall.droplet_ids.filter((id) => !ids.includes(id));
  });
  edit('tags', (firewall, input, adding) => {
    const tags = tagNames(input.tags);
    firewall.tags = adding ? [...new Set([...firewall.tags, ...tags])] : firewall.tags.filter((t) => !tags.includes(t));
  });
  edit('rules', (firewall, input, adding) => {
    const inbound = rules(input.inbound_rules, 'inbound_rules');
    const outbound = rules(input.outbound_rules, 'outbound_rules');
    const same = (a: FirewallRule) => (b: FirewallRule) => JSON.stringify(a) === JSON.stringify(b);
    if (adding) {
      firewall.inbound_rules.push(...inbound);
      firewall.outbound_rules.push(...outbound);
    } else {
      firewall.inbound_rules = firewall.inbound_rules.filter((r) => !inbound.some(same(r)));
      firewall.outbound_rules = firewall.outbound_rules.filter((r) => !outbound.some(same(r)));
    }
  });
}
