// Load balancer monitors (account level): create, list, get, replace (PUT), edit (PATCH), delete.
// The health checker (health.ts) really probes with them: HTTP requests or TCP connections.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type {
  Monitor,
  MonitorCreateParams,
  MonitorDeleteResponse,
  MonitorEditParams,
} from 'cloudflare/resources/load-balancers/monitors/monitors';
import type { Store } from '../../store';
import { invalid, success, unknownIdentifier } from '../envelope';
import { singlePage } from '../pagination';
import { cloudflareId, cloudflareState, type StoredMonitor } from '../state';
import { parseBody, type Accepts, type Holds } from '../validation';
import { pathParam, requireAccount } from './lookup';

const EXPECTED_CODES = /^[1-5]([0-9]{2}|xx)$/;

const monitorFields = z.object({
  // The probe types the local cloud can really run; Cloudflare's others (icmp, smtp, udp) it cannot.
  type: z
    .enum(['http', 'https', 'tcp', 'udp_icmp', 'icmp_ping', 'smtp'])
    .refine((t) => t === 'http' || t === 'tcp', "must be 'http' or 'tcp' (the probes the local cloud runs)")
    .optional(),
  method: z
    .string()
    .regex(/^[A-Z]+$/, 'must be an HTTP method such as GET')
    .optional(),
  path: z.string().startsWith('/', "must start with '/'").optional(),
  port: z.number().int().min(0).max(65535).nullable().optional(),
  expected_codes: z.string().regex(EXPECTED_CODES, "must be a status code such as 200 or a class such as '2xx'").optional(),
  expected_body: z.string().optional(),
  header: z.record(z.string(), z.array(z.string())).optional(),
  // Cloudflare's floor is 10 s (60 s on most plans); the local cloud takes 1 s so tests move quickly.
  interval: z.number().int().min(1).max(3600).optional(),
  timeout: z.number().int().min(1).max(10).optional(),
  retries: z.number().int().min(0).max(5).optional(),
  consecutive_up: z.number().int().min(0).optional(),
  consecutive_down: z.number().int().min(0).optional(),
  follow_redirects: z.boolean().optional(),
  allow_insecure: z.boolean().optional(),
  description: z.string().optional(),
  probe_zone: z.string().optional(),
});
type Fields = z.output<typeof monitorFields>;

export type MonitorBodyMatchesLibrary = Holds<Accepts<z.input<typeof monitorFields>, Omit<MonitorCreateParams, 'account_id'>>>;
export type MonitorEditMatchesLibrary = Holds<Accepts<z.input<typeof monitorFields>, Omit<MonitorEditParams, 'account_id'>>>;

function buildMonitor(input: Fields, previous?: StoredMonitor): StoredMonitor {
  const type = input.type ?? 'http';
  if (type === 'http' && input.method !== undefined && !['GET', 'HEAD'].includes(input.method))
    throw invalid([`method: an http monitor sends GET or HEAD, not ${input.method}`]);
  const now = new Date().toISOString();
  const monitor: Monitor = {
    id: previous?.id ?? cloudflareId(),
    type,
    method: input.method ?? (type === 'http' ? 'GET' : 'connection_established'),
    path: type === 'http' ? (input.path ?? '/') : '',
    port: input.port ?? 0,
    expected_codes: type === 'http' ? (input.expected_codes ?? '200') : '',
    expected_body: input.expected_body ?? '',
    header: input.header ?? {},
    interval: input.interval ?? 60,
    timeout: input.timeout ?? 5,
    retries: input.retries ?? 2,
    consecutive_up: input.consecutive_up ?? 0,
    consecutive_down: input.consecutive_down ?? 0,
    follow_redirects: input.follow_redirects ?? false,
    allow_insecure: input.allow_insecure ?? false,
    description: input.description ?? '',
    probe_zone: input.probe_zone ?? '',
    created_on: previous?.created_on ?? now,
    modified_on: now,
  };
  return monitor as StoredMonitor;
}

export function registerMonitorRoutes(app: FastifyInstance, store: Store): void {
  const base = '/accounts/:account_id/load_balancers/monitors';
  const findMonitor = (request: FastifyRequest) => {
    const state = cloudflareState(store);
    requireAccount(state, request);
    const monitor = state.monitors.find((m) => m.id === pathParam(request, 'monitor_id'));
    if (!monitor) throw unknownIdentifier(request.url.split('?')[0] as string);
    return { state, monitor };
  };
  const replace = (previous: StoredMonitor, next: StoredMonitor) => {
    const state = cloudflareState(store);
    state.monitors = state.monitors.map((m) => (m === previous ? next : m));
    store.changed();
    return success(next);
  };

  app.post(base, async (request) => {
    const state = cloudflareState(store);
    requireAccount(state, request);
    const monitor = buildMonitor(parseBody(monitorFields, request.body));
    state.monitors.push(monitor);
    store.changed();
    return success(monitor);
  });

  app.get(base, async (request) => {
    const state = cloudflareState(store);
    requireAccount(state, request);
    const page = singlePage(state.monitors);
    return success(page.items, page.info);
  });

  app.get(`${base}/:monitor_id`, async (request) => success(findMonitor(request).monitor));

  app.put(`${base}/:monitor_id`, async (request) => {
    const { monitor } = findMonitor(request);
    return replace(monitor, buildMonitor(parseBody(monitorFields, request.body), monitor));
  });

  app.patch(`${base}/:monitor_id`, async (request) => {
    const { monitor } = findMonitor(request);
    const edit = parseBody(monitorFields, request.body);
    const defined = Object.fromEntries(Object.entries(edit).filter(([, v]) => v !== undefined));
    return replace(monitor, buildMonitor({ ...(monitor as Fields), ...defined }, monitor));
  });

  // A monitor a pool still uses stays: Cloudflare refuses to delete it.
  app.delete(`${base}/:monitor_id`, async (request) => {
    const { state, monitor } = findMonitor(request);
    const users = state.pools.filter((p) => p.monitor === monitor.id).map((p) => p.name);
    if (users.length) throw invalid([`monitor ${monitor.id} is still used by pools: ${users.join(', ')}`]);
    state.monitors = state.monitors.filter((m) => m !== monitor);
    store.changed();
    const result: MonitorDeleteResponse = { id: monitor.id };
    return success(result);
  });
}
