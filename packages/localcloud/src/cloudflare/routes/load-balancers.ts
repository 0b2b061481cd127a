// Load balancers of a zone: create, list, get, replace (PUT), edit (PATCH), delete. Each names a
// hostname in its zone, the pools it steers between (default_pools, by `off`: the first healthy
// in order, or `random`: by random_steering's pool weights) and a fallback pool; the local edge
// (edge.ts) routes by them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Zone } from 'cloudflare/resources/zones/zones';
import type {
  LoadBalancer,
  LoadBalancerCreateParams,
  LoadBalancerDeleteResponse,
  LoadBalancerEditParams,
} from 'cloudflare/resources/load-balancers/load-balancers';
import type { Store } from '../../store';
import { invalid, success, unknownIdentifier } from '../envelope';
import { singlePage } from '../pagination';
import { cloudflareId, cloudflareState, type StoredLoadBalancer } from '../state';
import { parseBody, type Accepts, type Holds } from '../validation';
import { nameInZone, pathParam, requireZone } from './lookup';

export const STEERING_POLICIES = [
  'off',
  'geo',
  'random',
  'dynamic_latency',
  'proximity',
  'least_outstanding_requests',
  'least_connections',
  '',
] as const;
const STEERED_HERE = ['off', 'random', ''];
const weight = z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1');

const lbFields = {
  name: z.string().min(1, 'is required (the hostname it answers)'),
  default_pools: z.array(z.string()).min(1, 'name at least one pool'),
  fallback_pool: z.string().min(1, 'is required'),
  description: z.string().optional(),
  enabled: z.boolean().optional(),
  proxied: z.boolean().optional(),
  ttl: z.number().int().min(1).optional(),
  steering_policy: z
    .enum(STEERING_POLICIES)
    .refine((p) => STEERED_HERE.includes(p), "must be 'off' or 'random' (the steering the local edge does)")
    .optional(),
  random_steering: z.object({ default_weight: weight.optional(), pool_weights: z.record(z.string(), weight).optional() }).optional(),
  session_affinity: z
    .enum(['none', 'cookie', 'ip_cookie', 'header'])
    .refine((a) => a === 'none', "must be 'none' (the local edge keeps no affinity)")
    .optional(),
};
const newLoadBalancer = z.object(lbFields);
const loadBalancerEdit = newLoadBalancer.partial();
type LoadBalancerInput = z.output<typeof newLoadBalancer>;

export type LoadBalancerBodyMatchesLibrary = Holds<
  Accepts<z.input<typeof newLoadBalancer>, Omit<LoadBalancerCreateParams, 'zone_id' | 'account_id'>>
>;
export type LoadBalancerEditMatchesLibrary = Holds<
  Accepts<z.input<typeof loadBalancerEdit>, Omit<LoadBalancerEditParams, 'zone_id' | 'account_id'>>
>;

function buildLoadBalancer(store: Store, zone: Zone, input: LoadBalancerInput, previous?: StoredLoadBalancer): StoredLoadBalancer {
  const state = cloudflareState(store);
  const known = (id: string) => state.pools.some((p) => p.id === id);
  const name = nameInZone(input.name, zone.name);
  const problems: string[] = [];
  input.default_pools.forEach((id, i) => known(id) || problems.push(`default_pools.${i}: no pool ${id}`));
  if (!known(input.fallback_pool)) problems.push(`fallback_pool: no pool ${input.fallback_pool}`);
  for (const id of Object.keys(input.random_steering?.pool_weights ?? {}))
    if (!input.default_pools.includes(id)) problems.push(`random_steering.pool_weights.${id}: not one of default_pools`);
  const clash = state.loadBalancers.find((l) => l.zoneId === zone.id && l.loadBalancer.name === name && l.loadBalancer.id !== previous?.id);
  if (clash) problems.push(`name: a load balancer for ${name} exists`);
  if (problems.length) throw invalid(problems);
  const now = new Date().toISOString();
  const loadBalancer: LoadBalancer = {
    id: previous?.id ?? cloudflareId(),
    name,
    zone_name: zone.name,
    description: input.description ?? '',
    enabled: input.enabled ?? true,
    proxied: input.proxied ?? false,
    ttl: input.ttl ?? 30,
    default_pools: input.default_pools,
    fallback_pool: input.fallback_pool,
    steering_policy: input.steering_policy ?? '',
    random_steering: {
      default_weight: input.random_steering?.default_weight ?? 1,
      pool_weights: input.random_steering?.pool_weights ?? {},
    },
    session_affinity: 'none',
    session_affinity_ttl: 0,
    country_pools: {},
    pop_pools: {},
    region_pools: {},
    rules: [],
    created_on: previous?.created_on ?? now,
    modified_on: now,
  };
  return loadBalancer as StoredLoadBalancer;
}

export function registerLoadBalancerRoutes(app: FastifyInstance, store: Store): void {
  const base = '/zones/:zone_id/load_balancers';
  const findLoadBalancer = (request: FastifyRequest) => {
    const state = cloudflareState(store);
    const zone = requireZone(state, request);
    const entry = state.loadBalancers.find((l) => l.zoneId === zone.id && l.loadBalancer.id === pathParam(request, 'load_balancer_id'));
    if (!entry) throw unknownIdentifier(request.url.split('?')[0] as string);
    return { state, zone, entry };
  };

  app.post(base, async (request) => {
    const state = cloudflareState(store);
    const zone = requireZone(state, request);
    const loadBalancer = buildLoadBalancer(store, zone, parseBody(newLoadBalancer, request.body));
    state.loadBalancers.push({ zoneId: zone.id, loadBalancer });
    store.changed();
    return success(loadBalancer);
  });

  app.get(base, async (request) => {
    const state = cloudflareState(store);
    const zone = requireZone(state, request);
    const page = singlePage(state.loadBalancers.filter((l) => l.zoneId === zone.id).map((l) => l.loadBalancer));
    return success(page.items, page.info);
  });

  app.get(`${base}/:load_balancer_id`, async (request) => success(findLoadBalancer(request).entry.loadBalancer));

  app.put(`${base}/:load_balancer_id`, async (request) => {
    const { zone, entry } = findLoadBalancer(request);
    entry.loadBalancer = buildLoadBalancer(store, zone, parseBody(newLoadBalancer, request.body), entry.loadBalancer);
    store.changed();
    return success(entry.loadBalancer);
  });

  app.patch(`${base}/:load_balancer_id`, async (request) => {
    const { zone, entry } = findLoadBalancer(request);
    const edit = parseBody(loadBalancerEdit, request.body);
    const defined = Object.fromEntries(Object.entries(edit).filter(([, v]) => v !== undefined));
    const was = entry.loadBalancer as unknown as LoadBalancerInput;
    entry.loadBalancer = buildLoadBalancer(store, zone, { ...was, ...defined }, entry.loadBalancer);
    store.changed();
    return success(entry.loadBalancer);
  });

  app.delete(`${base}/:load_balancer_id`, async (request) => {
    const { state, entry } = findLoadBalancer(request);
    state.loadBalancers = state.loadBalancers.filter((l) => l !== entry);
    store.changed();
    const result: LoadBalancerDeleteResponse = { id: entry.loadBalancer.id };
    return success(result);
  });
}
