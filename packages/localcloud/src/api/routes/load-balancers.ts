// Load balancers: create (becoming active after a while), get, list, update, delete; add and
// remove droplets and forwarding rules. An active one really forwards its rules to its droplets
// on its address, a server address of this cloud's host network (load-balancer-traffic.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudContext } from '../../context';
import type { ForwardingRule, LoadBalancer } from '../../state';
import { notFound, unprocessable } from '../errors';
import { body, list, now, param, requireRegion, requireString, uuid } from '../route-helpers';
import { dropletIds, hostAddressOf } from './droplets';
import { DEFAULT_HEALTH_CHECK, loadBalancerTraffic, type HealthCheck } from './load-balancer-traffic';
import { ensureDefaultVpc } from './vpcs';

const PROTOCOLS = ['http', 'https', 'http2', 'http3', 'tcp', 'udp'];

function forwardingRules(value: unknown): ForwardingRule[] {
  if (!Array.isArray(value) || value.length === 0) throw unprocessable('forwarding_rules must list at least one rule');
  return value.map((rule: Record<string, unknown>, i) => {
    for (const field of ['entry_protocol', 'target_protocol']) {
      if (!PROTOCOLS.includes(rule[field] as string))
        throw unprocessable(`forwarding_rules[${i}].${field} must be one of ${PROTOCOLS.join(', ')}`);
    }
    for (const field of ['entry_port', 'target_port']) {
      const port = rule[field];
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
        throw unprocessable(`forwarding_rules[${i}].${field} must be a port from 1 to 65535`);
    }
    return {
      entry_protocol: rule.entry_protocol as string,
      entry_port: rule.entry_port as number,
      target_protocol: rule.target_protocol as string,
      target_port: rule.target_port as number,
      ...(typeof rule.certificate_id === 'string' ? { certificate_id: rule.certificate_id } : {}),
      tls_passthrough: rule.tls_passthrough === true,
    };
  });
}

const HEALTH_PROTOCOLS = ['http', 'https', 'tcp'];

/** The health check given, over DigitalOcean's defaults (a field left out keeps its default). */
function healthCheck(value: unknown, current: HealthCheck): HealthCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unprocessable('health_check must be an object');
  const given = value as Record<string, unknown>;
  const merged = { ...current, ...given } as HealthCheck;
  if (!HEALTH_PROTOCOLS.includes(merged.protocol))
    throw unprocessable(`health_check.protocol must be one of ${HEALTH_PROTOCOLS.join(', ')}`);
  if (typeof merged.path !== 'string') throw unprocessable('health_check.path must be a string');
  for (const field of ['port', 'check_interval_seconds', 'response_timeout_seconds', 'unhealthy_threshold', 'healthy_threshold'] as const) {
    const n = merged[field];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || (field === 'port' && n > 65535))
      throw unprocessable(`health_check.${field} must be a whole number of at least 1${field === 'port' ? ' and at most 65535' : ''}`);
  }
  return merged;
}

/** As the API shows it: a load balancer by tag lists the droplets carrying the tag now. */
export function renderLoadBalancer(ctx: CloudContext, lb: LoadBalancer): LoadBalancer {
  return lb.tag ? { ...lb, droplet_ids: loadBalancerTraffic(ctx).members(lb) } : lb;
}

function findLb(ctx: CloudContext, request: FastifyRequest): LoadBalancer {
  const lb = ctx.store.state.loadBalancers.find((l) => l.id === param(request, 'lb_id'));
  if (!lb) throw notFound('load balancer');
  return lb;
}

function configure(ctx: CloudContext, lb: LoadBalancer, input: Record<string, unknown>): LoadBalancer {
  lb.name = requireString(input.name, 'name');
  lb.forwarding_rules = forwardingRules(input.forwarding_rules);
  if (input.algorithm !== undefined && input.algorithm !== 'round_robin' && input.algorithm !== 'least_connections')
    throw unprocessable('algorithm must be round_robin or least_connections');
  lb.algorithm = (input.algorithm as LoadBalancer['algorithm'] | undefined) ?? lb.algorithm;
  if (input.health_check !== undefined)
    lb.health_check = healthCheck(input.health_check, lb.health_check as unknown as HealthCheck) as unknown as Record<string, unknown>;
  if (input.droplet_ids !== undefined && input.tag !== undefined) throw unprocessable('give droplet_ids or tag, not both');
  lb.droplet_ids = dropletIds(ctx, input.droplet_ids);
  lb.tag = typeof input.tag === 'string' ? input.tag : '';
  if (lb.tag) lb.droplet_ids = ctx.store.state.droplets.filter((d) => d.tags.includes(lb.tag)).map((d) => d.id);
  lb.redirect_http_to_https = input.redirect_http_to_https === true;
  lb.enable_proxy_protocol = input.enable_proxy_protocol === true;
  lb.enable_backend_keepalive = input.enable_backend_keepalive === true;
  return lb;
}

export function registerLoadBalancerRoutes(app: FastifyInstance, ctx: CloudContext): void {
  const traffic = loadBalancerTraffic(ctx);
  app.addHook('onClose', async () => traffic.close());
  app.get('/v2/load_balancers', async (request) =>
    list(
      request,
      'load_balancers',
      ctx.store.state.loadBalancers.map((lb) => renderLoadBalancer(ctx, lb)),
    ),
  );

  app.post('/v2/load_balancers', async (request, reply) => {
    const input = body(request);
    const region = requireRegion(ctx, input.region);
    // An address of this cloud's host network, where it listens once active.
    const n = ctx.store.state.internal.nextHostAddress++;
    const lb = configure(
      ctx,
      {
        id: uuid(),
        name: '',
        ip: hostAddressOf(ctx, n),
        size_unit: typeof input.size_unit === 'number' ? input.size_unit : 1,
        algorithm: 'round_robin',
        status: 'new',
        created_at: now(),
        forwarding_rules: [],
        health_check: { ...DEFAULT_HEALTH_CHECK },
        sticky_sessions: { type: 'none' },
        redirect_http_to_https: false,
        enable_proxy_protocol: false,
        enable_backend_keepalive: false,
        vpc_uuid: typeof input.vpc_uuid === 'string' ? input.vpc_uuid : ensureDefaultVpc(ctx, region.slug).id,
        region,
        droplet_ids: [],
        tag: '',
      },
      input,
    );
    ctx.store.state.loadBalancers.push(lb);
    ctx.store.changed();
    // Load balancers take a while to provision; they report `new` until then.
    setTimeout(() => {
      if (!ctx.store.state.loadBalancers.includes(lb)) return;
      lb.status = 'active';
      ctx.store.changed();
      traffic.sync();
    }, ctx.timing.actionMs).unref();
    return reply.code(202).send({ load_balancer: renderLoadBalancer(ctx, lb) });
  });

  app.get('/v2/load_balancers/:lb_id', async (request) => ({ load_balancer: renderLoadBalancer(ctx, findLb(ctx, request)) }));

  app.put('/v2/load_balancers/:lb_id', async (request) => {
    const lb = configure(ctx, findLb(ctx, request), body(request));
    ctx.store.changed();
    traffic.sync();
    return { load_balancer: renderLoadBalancer(ctx, lb) };
  });

  app.delete('/v2/load_balancers/:lb_id', async (request, reply) => {
    const lb = findLb(ctx, request);
    ctx.store.state.loadBalancers = ctx.store.state.loadBalancers.filter((l) => l.id !== lb.id);
    ctx.store.changed();
    traffic.sync();
    return reply.code(204).send();
  });

  for (const [method, adding] of [
    ['POST', true],
    ['DELETE', false],
  ] as const) {
    app.route({
      method,
      url: '/v2/load_balancers/:lb_id/droplets',
      handler: async (request, reply) => {
        const lb = findLb(ctx, request);
        if (lb.tag) throw unprocessable('this load balancer selects droplets by tag');
        const ids = dropletIds(ctx, body(request).droplet_ids);
        lb.droplet_ids = adding ? [...new Set([...lb.droplet_ids, ...ids])] : lb.droplet_ids.filter((id) => !ids.includes(id));
        ctx.store.changed();
        return reply.code(204).send();
      },
    });
    app.route({
      method,
      url: '/v2/load_balancers/:lb_id/forwarding_rules',
      handler: async (request, reply) => {
        const lb = findLb(ctx, request);
        const rules = forwardingRules(body(request).forwarding_rules);
        const key = (r: ForwardingRule) => `${r.entry_protocol}:${r.entry_port}:${r.target_protocol}:${r.target_port}`;
        lb.forwarding_rules = adding
          ? [...lb.forwarding_rules, ...rules]
          : lb.forwarding_rules.filter((r) => !rules.some((x) => key(x) === key(r)));
        ctx.store.changed();
        traffic.sync();
        return reply.code(204).send();
      },
    });
  }
}
