// Finding what a path names (the account, a zone), or answering Cloudflare's 404 for it.
import type { FastifyRequest } from 'fastify';
import type { Zone } from 'cloudflare/resources/zones/zones';
import { unknownIdentifier } from '../envelope';
import type { CloudflareState } from '../state';

export function pathParam(request: FastifyRequest, name: string): string {
  return (request.params as Record<string, string>)[name] as string;
}

export function queryOf(request: FastifyRequest): Record<string, string | undefined> {
  return request.query as Record<string, string | undefined>;
}

/** The one account there is; any other identifier names nothing. */
export function requireAccount(state: CloudflareState, request: FastifyRequest): void {
  if (pathParam(request, 'account_id') !== state.account.id) throw unknownIdentifier(request.url.split('?')[0] as string);
}

export function requireZone(state: CloudflareState, request: FastifyRequest): Zone {
  const zone = state.zones.find((z) => z.id === pathParam(request, 'zone_id'));
  if (!zone) throw unknownIdentifier(request.url.split('?')[0] as string);
  return zone;
}

/** Cloudflare's rule for names in a zone: `@` is the apex, a name outside the zone gets it appended. */
export function nameInZone(name: string, zoneName: string): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (lower === '@' || lower === zoneName) return zoneName;
  return lower.endsWith(`.${zoneName}`) ? lower : `${lower}.${zoneName}`;
}
