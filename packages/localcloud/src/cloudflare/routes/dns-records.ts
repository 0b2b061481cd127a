// DNS records of a zone: create, list (filtered by type, name, content, proxied), get, replace
// (PUT), edit (PATCH), delete. A, AAAA, CNAME and TXT; names are kept fully qualified.
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Zone } from 'cloudflare/resources/zones/zones';
import type { RecordCreateParams, RecordDeleteResponse, RecordEditParams, RecordResponse } from 'cloudflare/resources/dns/records';
import type { Store } from '../../store';
import { CloudflareError, CODES, invalid, success, unknownIdentifier } from '../envelope';
import { cloudflarePage } from '../pagination';
import { cloudflareId, cloudflareState, RECORD_TYPES, type DnsRecord, type RecordType } from '../state';
import { parseBody, type Accepts, type Holds } from '../validation';
import { nameInZone, pathParam, queryOf, requireZone } from './lookup';

const HOSTNAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

const recordFields = {
  name: z.string().min(1, 'is required'),
  type: z.enum(RECORD_TYPES, `must be one of ${RECORD_TYPES.join(', ')} (the types the local cloud serves)`),
  content: z.string().min(1, 'is required'),
  // 1 is "automatic"; otherwise Cloudflare's range.
  ttl: z.number().refine((t) => t === 1 || (Number.isInteger(t) && t >= 30 && t <= 86400), 'must be 1 (automatic) or 30 to 86400 seconds'),
  proxied: z.boolean(),
  comment: z.string().max(100),
  tags: z.array(z.string().regex(/^[^:]+:.*$/, 'must be name:value')),
};
const newRecord = z.object({
  ...recordFields,
  ttl: recordFields.ttl.optional(),
  proxied: recordFields.proxied.optional(),
  comment: recordFields.comment.optional(),
  tags: recordFields.tags.optional(),
});
const recordEdit = newRecord.partial();

type Body<P> = Omit<P, 'zone_id' | 'include_shadow_metadata'>;
export type RecordBodyMatchesLibrary = Holds<Accepts<z.input<typeof newRecord>, Body<Extract<RecordCreateParams, { type: 'A' }>>>>;
export type CnameBodyMatchesLibrary = Holds<Accepts<z.input<typeof newRecord>, Body<Extract<RecordCreateParams, { type: 'CNAME' }>>>>;
export type TxtBodyMatchesLibrary = Holds<Accepts<z.input<typeof newRecord>, Body<Extract<RecordCreateParams, { type: 'TXT' }>>>>;
export type EditBodyMatchesLibrary = Holds<Accepts<z.input<typeof recordEdit>, Partial<Body<Extract<RecordEditParams, { type: 'AAAA' }>>>>>;

type RecordInput = z.output<typeof newRecord>;

function checkContent(type: RecordType, content: string, proxied: boolean | undefined): string[] {
  const problems: string[] = [];
  if (type === 'A' && !isIPv4(content)) problems.push(`content: ${JSON.stringify(content)} is not a valid IPv4 address`);
  if (type === 'AAAA' && !isIPv6(content)) problems.push(`content: ${JSON.stringify(content)} is not a valid IPv6 address`);
  if (type === 'CNAME' && !HOSTNAME.test(content.replace(/\.$/, '')))
    problems.push(`content: ${JSON.stringify(content)} is not a valid hostname`);
  if (type === 'TXT' && content.length > 2048) problems.push('content: a TXT record holds at most 2048 characters');
  if (proxied && type === 'TXT') problems.push('proxied: a TXT record cannot be proxied');
  return problems;
}

function buildRecord(zone: Zone, input: RecordInput, previous?: DnsRecord): DnsRecord {
  const name = nameInZone(input.name, zone.name);
  const problems = checkContent(input.type, input.content, input.proxied);
  if (!HOSTNAME.test(name)) problems.push(`name: ${JSON.stringify(input.name)} is not a valid DNS name`);
  if (problems.length) throw invalid(problems, CODES.dnsValidation);
  const now = new Date().toISOString();
  const proxiable = input.type !== 'TXT';
  // Checked against the library's record response (the A variant: every type shares these fields).
  const fields: Omit<RecordResponse.ARecord, 'type'> = {
    id: previous?.id ?? cloudflareId(),
    name,
    content: input.type === 'CNAME' ? input.content.replace(/\.$/, '').toLowerCase() : input.content,
    ttl: input.ttl ?? 1,
    proxied: proxiable ? (input.proxied ?? false) : false,
    proxiable,
    comment: input.comment,
    tags: input.tags ?? [],
    settings: {},
    meta: {},
    created_on: previous?.created_on ?? now,
    modified_on: now,
  };
  return { ...fields, type: input.type } as DnsRecord;
}

/** Cloudflare refuses an identical twin, and a CNAME sharing its name with any other record. */
function refuseConflicts(records: DnsRecord[], record: DnsRecord): void {
  const sameName = records.filter((r) => r.id !== record.id && r.name === record.name);
  if (sameName.some((r) => r.type === record.type && r.content === record.content))
    throw new CloudflareError(400, [{ code: CODES.recordExists, message: 'An identical record already exists.' }]);
  if (sameName.length && (record.type === 'CNAME' || sameName.some((r) => r.type === 'CNAME')))
    throw new CloudflareError(400, [
      { code: 81053, message: `name: a CNAME record cannot share the name ${record.name} with another record` },
    ]);
}

/** The list filters: `name` or `name.exact`, `name.contains`, `.startswith`, `.endswith`; the same for content. */
function matches(value: string, q: Record<string, string | undefined>, field: string): boolean {
  const v = value.toLowerCase();
  const get = (k: string) => q[k]?.toLowerCase();
  const exact = get(field) ?? get(`${field}.exact`);
  if (exact !== undefined && v !== exact) return false;
  if (get(`${field}.contains`) !== undefined && !v.includes(get(`${field}.contains`) as string)) return false;
  if (get(`${field}.startswith`) !== undefined && !v.startsWith(get(`${field}.startswith`) as string)) return false;
  if (get(`${field}.endswith`) !== undefined && !v.endsWith(get(`${field}.endswith`) as string)) return false;
  return true;
}

export function registerDnsRecordRoutes(app: FastifyInstance, store: Store): void {
  const zoneRecords = (zoneId: string) =>
    cloudflareState(store)
      .records.filter((r) => r.zoneId === zoneId)
      .map((r) => r.record);
  const findRecord = (request: FastifyRequest) => {
    const state = cloudflareState(store);
    const zone = requireZone(state, request);
    const entry = state.records.find((r) => r.zoneId === zone.id && r.record.id === pathParam(request, 'record_id'));
    if (!entry) throw unknownIdentifier(request.url.split('?')[0] as string);
    return { state, zone, entry };
  };

  app.post('/zones/:zone_id/dns_records', async (request) => {
    const state = cloudflareState(store);
    const zone = requireZone(state, request);
    const record = buildRecord(zone, parseBody(newRecord, request.body, CODES.dnsValidation));
    refuseConflicts(zoneRecords(zone.id), record);
    state.records.push({ zoneId: zone.id, record });
    store.changed();
    return success(record);
  });

  app.get('/zones/:zone_id/dns_records', async (request) => {
    const zone = requireZone(cloudflareState(store), request);
    const q = queryOf(request);
    if (q.type !== undefined && !(RECORD_TYPES as readonly string[]).includes(q.type))
      throw invalid([`type: must be one of ${RECORD_TYPES.join(', ')}`], CODES.dnsValidation);
    const nameQuery = { ...q, name: q.name === undefined ? undefined : nameInZone(q.name, zone.name) };
    const records = zoneRecords(zone.id).filter(
      (r) =>
        (q.type === undefined || r.type === q.type) &&
        matches(r.name, nameQuery, 'name') &&
        matches(r.content ?? '', q, 'content') &&
        (q.proxied === undefined || String(r.proxied) === q.proxied),
    );
    const page = cloudflarePage(records, q, { defaultPerPage: 100, maxPerPage: 50000 });
    return success(page.items, page.info);
  });

  app.get('/zones/:zone_id/dns_records/:record_id', async (request) => success(findRecord(request).entry.record));

  app.put('/zones/:zone_id/dns_records/:record_id', async (request) => {
    const { zone, entry } = findRecord(request);
    const record = buildRecord(zone, parseBody(newRecord, request.body, CODES.dnsValidation), entry.record);
    refuseConflicts(zoneRecords(zone.id), record);
    entry.record = record;
    store.changed();
    return success(record);
  });

  app.patch('/zones/:zone_id/dns_records/:record_id', async (request) => {
    const { zone, entry } = findRecord(request);
    const edit = parseBody(recordEdit, request.body, CODES.dnsValidation);
    const was = entry.record;
    const merged = {
      name: was.name,
      type: was.type,
      content: was.content ?? '',
      ttl: was.ttl,
      proxied: was.proxied,
      comment: was.comment,
      tags: was.tags,
      ...Object.fromEntries(Object.entries(edit).filter(([, v]) => v !== undefined)),
    } as RecordInput;
    const record = buildRecord(zone, merged, was);
    refuseConflicts(zoneRecords(zone.id), record);
    entry.record = record;
    store.changed();
    return success(record);
  });

  app.delete('/zones/:zone_id/dns_records/:record_id', async (request) => {
    const { state, entry } = findRecord(request);
    state.records = state.records.filter((r) => r !== entry);
    store.changed();
    const result: RecordDeleteResponse = { id: entry.record.id };
    return success(result);
  });
}
