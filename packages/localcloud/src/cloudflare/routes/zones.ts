// Zones: create, list (filtered by name, status, account), get, delete. A zone is active at once:
// the local cloud is its own authoritative DNS, there are no name servers to move.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Zone, ZoneCreateParams, ZoneDeleteResponse } from 'cloudflare/resources/zones/zones';
import type { Store } from '../../store';
import { CloudflareError, CODES, invalid, success } from '../envelope';
import { cloudflarePage } from '../pagination';
import { cloudflareId, cloudflareState } from '../state';
import { parseBody, type Accepts, type Holds } from '../validation';
import { queryOf, requireZone } from './lookup';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const zoneBody = z.object({
  account: z.object({ id: z.string().min(1) }),
  name: z
    .string()
    .transform((n) => n.toLowerCase())
    .pipe(z.string().regex(DOMAIN, 'must be a domain name such as example.com')),
  type: z.enum(['full', 'partial', 'secondary', 'internal']).optional(),
});
export type ZoneBodyMatchesLibrary = Holds<Accepts<z.input<typeof zoneBody>, ZoneCreateParams>>;

export function registerZoneRoutes(app: FastifyInstance, store: Store): void {
  app.post('/zones', async (request) => {
    const input = parseBody(zoneBody, request.body);
    const state = cloudflareState(store);
    if (input.account.id !== state.account.id)
      throw invalid([`account.id: no account ${input.account.id} (this account is ${state.account.id})`]);
    if (state.zones.some((z) => z.name === input.name))
      throw new CloudflareError(400, [{ code: CODES.zoneExists, message: `${input.name} already exists` }]);
    const now = new Date().toISOString();
    const zone: Zone = {
      id: cloudflareId(),
      name: input.name,
      account: { id: state.account.id, name: state.account.name },
      status: 'active',
      type: input.type ?? 'full',
      paused: false,
      activated_on: now,
      created_on: now,
      modified_on: now,
      development_mode: 0,
      meta: { step: 2, cdn_only: false, dns_only: false, foundation_dns: false, phishing_detected: false },
      name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
      original_dnshost: null,
      original_name_servers: null,
      original_registrar: null,
      owner: { id: state.account.id, type: 'organization', name: state.account.name },
      plan: {
        id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
        name: 'Free Website',
        price: 0,
        currency: 'USD',
        frequency: '',
        is_subscribed: false,
      },
      permissions: ['#zone:read', '#zone:edit', '#dns_records:read', '#dns_records:edit', '#lb:read', '#lb:edit'],
    };
    state.zones.push(zone);
    store.changed();
    return success(zone);
  });

  app.get('/zones', async (request) => {
    const q = queryOf(request);
    const zones = cloudflareState(store).zones.filter(
      (zone) =>
        (q.name === undefined || zone.name === q.name.toLowerCase()) &&
        (q.status === undefined || zone.status === q.status) &&
        (q['account.id'] === undefined || zone.account.id === q['account.id']) &&
        (q['account.name'] === undefined || zone.account.name === q['account.name']),
    );
    const page = cloudflarePage(zones, q, { defaultPerPage: 20, maxPerPage: 50 });
    return success(page.items, page.info);
  });

  app.get('/zones/:zone_id', async (request) => success(requireZone(cloudflareState(store), request)));

  // A zone takes its records and load balancers with it, as deleting it at Cloudflare does.
  app.delete('/zones/:zone_id', async (request) => {
    const state = cloudflareState(store);
    const zone = requireZone(state, request);
    state.zones = state.zones.filter((z) => z !== zone);
    state.records = state.records.filter((r) => r.zoneId !== zone.id);
    state.loadBalancers = state.loadBalancers.filter((l) => l.zoneId !== zone.id);
    store.changed();
    const result: ZoneDeleteResponse = { id: zone.id };
    return success(result);
  });
}
