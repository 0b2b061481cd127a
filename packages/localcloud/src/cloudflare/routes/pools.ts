// Load balancer pools (account level): create, list (filtered by monitor), get, replace (PUT),
// edit (PATCH), delete, and their health as the monitors see it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Pool, PoolCreateParams, PoolDeleteResponse, PoolEditParams } from 'cloudflare/resources/load-balancers/pools/pools';
import type { HealthGetResponse } from 'cloudflare/resources/load-balancers/pools/health';
import type { Store } from '../../store';
import type { HealthChecker } from '../health';
import { invalid, success, unknownIdentifier } from '../envelope';
import { singlePage } from '../pagination';
import { cloudflareId, cloudflareState, type StoredPool } from '../state';
import { parseBody, type Accepts, type Holds } from '../validation';
import { pathParam, queryOf, requireAccount } from './lookup';

const NAME = /^[A-Za-z0-9_-]+$/;

const origin = z.object({
  name: z.string().regex(NAME, 'may contain only letters, digits, - and _'),
  address: z.string().min(1, 'is required (an IP address or hostname)'),
  enabled: z.boolean().optional(),
  weight: z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1').optional(),
  port: z.number().int().min(0).max(65535).optional(),
  header: z.object({ Host: z.array(z.string()).optional() }).optional(),
});

const poolFields = {
  name: z.string().regex(NAME, 'may contain only letters, digits, - and _'),
  origins: z.array(origin).min(1, 'a pool needs at least one origin'),
  enabled: z.boolean().optional(),
  description: z.string().optional(),
  minimum_origins: z.number().int().min(1).optional(),
  monitor: z.string().optional(),
  notification_email: z.string().optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  origin_steering: z
    .object({
      policy: z
        .enum(['random', 'hash', 'least_outstanding_requests', 'least_connections'])
        .refine((p) => p === 'random', "must be 'random' (the origin steering the local edge does)")
        .optional(),
    })
    .nullable()
    .optional(),
};
const newPool = z.object(poolFields);
const poolEdit = newPool.partial();
type PoolInput = z.output<typeof newPool>;

export type PoolBodyMatchesLibrary = Holds<Accepts<z.input<typeof newPool>, Omit<PoolCreateParams, 'account_id'>>>;
export type PoolEditMatchesLibrary = Holds<Accepts<z.input<typeof poolEdit>, Omit<PoolEditParams, 'account_id'>>>;

function buildPool(store: Store, input: PoolInput, previous?: StoredPool): StoredPool {
  const state = cloudflareState(store);
  const problems: string[] = [];
  if (input.monitor && !state.monitors.some((m) => m.id === input.monitor)) problems.push(`monitor: no monitor ${input.monitor}`);
  const names = input.origins.map((o) => o.name);
  names.forEach((n, i) => names.indexOf(n) !== i && problems.push(`origins.${i}.name: ${n} names two origins`));
  if (state.pools.some((p) => p.name === input.name && p.id !== previous?.id)) problems.push(`name: a pool named ${input.name} exists`);
  if ((input.minimum_origins ?? 1) > input.origins.length)
    problems.push(`minimum_origins: the pool has only ${input.origins.length} origins`);
  if (problems.length) throw invalid(problems);
  const now = new Date().toISOString();
  const pool: Pool = {
    id: previous?.id ?? cloudflareId(),
    name: input.name,
    description: input.description ?? '',
    enabled: input.enabled ?? true,
    minimum_origins: input.minimum_origins ?? 1,
    monitor: input.monitor,
    notification_email: input.notification_email ?? '',
    latitude: input.latitude,
    longitude: input.longitude,
    origin_steering: { policy: 'random' },
    check_regions: null,
    origins: input.origins.map((o) => ({
      name: o.name,
      address: o.address,
      enabled: o.enabled ?? true,
      weight: o.weight ?? 1,
      port: o.port ?? 0,
      header: o.header ?? {},
      ...(o.enabled === false ? { disabled_at: previous?.origins.find((p) => p.name === o.name)?.disabled_at ?? now } : {}),
    })),
    created_on: previous?.created_on ?? now,
    modified_on: now,
    ...(input.enabled === false ? { disabled_at: previous?.disabled_at ?? now } : {}),
  };
  return pool as StoredPool;
}

export function registerPoolRoutes(app: FastifyInstance, store: Store, health: HealthChecker): void {
  const base = '/accounts/:account_id/load_balancers/pools';
  const findPool = (request: FastifyRequest) => {
    const state = cloudflareState(store);
    requireAccount(state, request);
    const pool = state.pools.find((p) => p.id === pathParam(request, 'pool_id'));
    if (!pool) throw unknownIdentifier(request.url.split('?')[0] as string);
    return { state, pool };
  };
  const replace = (previous: StoredPool, next: StoredPool) => {
    const state = cloudflareState(store);
    state.pools = state.pools.map((p) => (p === previous ? next : p));
    store.changed();
    return success(next);
  };

  app.post(base, async (request) => {
    const state = cloudflareState(store);
    requireAccount(state, request);
    const pool = buildPool(store, parseBody(newPool, request.body));
    state.pools.push(pool);
    store.changed();
    return success(pool);
  });

  app.get(base, async (request) => {
    const state = cloudflareState(store);
    requireAccount(state, request);
    const monitor = queryOf(request).monitor;
    const page = singlePage(state.pools.filter((p) => monitor === undefined || p.monitor === monitor));
    return success(page.items, page.info);
  });

  app.get(`${base}/:pool_id`, async (request) => success(findPool(request).pool));

  app.put(`${base}/:pool_id`, async (request) => {
    const { pool } = findPool(request);
    return replace(pool, buildPool(store, parseBody(newPool, request.body), pool));
  });

  app.patch(`${base}/:pool_id`, async (request) => {
    const { pool } = findPool(request);
    const edit = parseBody(poolEdit, request.body);
    const defined = Object.fromEntries(Object.entries(edit).filter(([, v]) => v !== undefined));
    return replace(pool, buildPool(store, { ...(pool as unknown as PoolInput), ...defined }, pool));
  });

  // A pool a load balancer still sends to stays: Cloudflare refuses to delete it.
  app.delete(`${base}/:pool_id`, async (request) => {
    const { state, pool } = findPool(request);
    const users = state.loadBalancers
      .map((l) => l.loadBalancer)
      .filter((l) => l.default_pools.includes(pool.id) || l.fallback_pool === pool.id)
      .map((l) => l.name);
    if (users.length) throw invalid([`pool ${pool.id} is still used by load balancers: ${users.join(', ')}`]);
    state.pools = state.pools.filter((p) => p !== pool);
    store.changed();
    const result: PoolDeleteResponse = { id: pool.id };
    return success(result);
  });

  // One point of presence (the local edge): the pool's health and each origin's last check, in
  // the pool's origin order.
  app.get(`${base}/:pool_id/health`, async (request) => {
    const { pool } = findPool(request);
    const result: HealthGetResponse = {
      pool_id: pool.id,
      pop_health: {
        healthy: health.isPoolHealthy(pool),
        origins: pool.origins.map((o) => {
          const checked = health.originHealth(pool.id, o.name ?? '');
          return {
            ip: {
              healthy: o.enabled !== false && health.isOriginHealthy(pool, o.name ?? ''),
              failure_reason:
                o.enabled === false ? 'Origin disabled' : (checked?.failure_reason ?? (pool.monitor ? 'Not yet checked' : 'No monitor')),
              response_code: checked?.response_code ?? 0,
              rtt: checked?.rtt ?? '0ms',
            },
          };
        }),
      },
    };
    return success(result);
  });
}
