// Control endpoints, outside the DigitalOcean API: inspect everything, reset, set faults and the
// rate-limit budget. They take the control token (credentials.ts), never the API token.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApiError } from './api/errors';
import type { RateLimits } from './api/rate-limit';
import type { CloudContext } from './context';
import type { RequestLog } from './request-log';

const budgetSchema = z.object({ perMinute: z.number().int().min(1), perHour: z.number().int().min(1) });

export function inventory(ctx: CloudContext) {
  const s = ctx.store.state;
  return {
    droplets: s.droplets.map((d) => ({ id: d.id, name: d.name, status: d.status, tags: d.tags, region: d.region.slug })),
    volumes: s.volumes.map((v) => ({ id: v.id, name: v.name, droplet_ids: v.droplet_ids, tags: v.tags })),
    snapshots: s.snapshots.map((x) => ({ id: x.id, name: x.name, resource_type: x.resource_type })),
    firewalls: s.firewalls.map((f) => ({ id: f.id, name: f.name, droplet_ids: f.droplet_ids, tags: f.tags })),
    vpcs: s.vpcs.filter((v) => !v.default).map((v) => ({ id: v.id, name: v.name, ip_range: v.ip_range })),
    reserved_ips: s.reservedIps.map((r) => ({ ip: r.ip, droplet_id: r.droplet?.id ?? null })),
    ssh_keys: s.sshKeys.map((k) => ({ id: k.id, name: k.name })),
    load_balancers: s.loadBalancers.map((l) => ({ id: l.id, name: l.name, droplet_ids: l.droplet_ids })),
    domains: s.domains.map((d) => d.name),
    tags: s.tags,
    linode: {
      instances: s.linode.instances.map(({ linode: l }) => ({
        id: l.id,
        label: l.label,
        status: l.status,
        tags: l.tags,
        region: l.region,
      })),
      volumes: s.linode.volumes.map((v) => ({ id: v.id, label: v.label, linode_id: v.linode_id, tags: v.tags })),
      firewalls: s.linode.firewalls.map((f) => ({ id: f.firewall.id, label: f.firewall.label, tags: f.firewall.tags })),
      vpcs: s.linode.vpcs.map((v) => ({ id: v.id, label: v.label, description: v.description })),
      extra_ips: s.linode.extraIps.map((x) => ({ address: x.address, linode_id: x.linodeId })),
      nodebalancers: s.linode.nodeBalancers.map((n) => ({ id: n.nodeBalancer.id, label: n.nodeBalancer.label, tags: n.nodeBalancer.tags })),
    },
    pending_actions: Object.keys(s.internal.pendingActions).length,
  };
}

const requestsQuery = z.object({ since: z.coerce.number().int().min(0).default(0) });

export function registerControlRoutes(app: FastifyInstance, ctx: CloudContext, rateLimits: RateLimits, requestLog: RequestLog): void {
  app.get('/_localcloud/inventory', async () => inventory(ctx));

  // The API requests received: { total, requests: [{ seq, at, method, url, status }] }, after `?since=<seq>`.
  app.get('/_localcloud/requests', async (request) => {
    const query = requestsQuery.safeParse(request.query);
    if (!query.success)
      throw new ApiError(422, 'unprocessable_entity', query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return requestLog.list(query.data.since);
  });

  app.post('/_localcloud/reset', async () => {
    for (const droplet of ctx.store.state.droplets) ctx.hosts.dropletDestroyed(droplet.id);
    for (const { linode } of ctx.store.state.linode.instances) ctx.hosts.dropletDestroyed(linode.id);
    ctx.actions.stop();
    ctx.store.reset();
    rateLimits.reset();
    requestLog.clear();
    ctx.faults.set({});
    return inventory(ctx);
  });

  app.get('/_localcloud/faults', async () => ctx.faults.current);

  app.put('/_localcloud/faults', async (request) => {
    const parsed = ctx.faults.set.bind(ctx.faults);
    try {
      return parsed(request.body ?? {});
    } catch (err) {
      if (err instanceof z.ZodError)
        throw new ApiError(422, 'unprocessable_entity', err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      throw err;
    }
  });

  app.put('/_localcloud/rate-limit', async (request) => {
    const result = budgetSchema.safeParse(request.body);
    if (!result.success)
      throw new ApiError(422, 'unprocessable_entity', result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    rateLimits.budget = result.data;
    return rateLimits.budget;
  });
}
