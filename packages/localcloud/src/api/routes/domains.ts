// Domains and their DNS records.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CloudContext } from '../../context';
import type { Domain, DomainRecord } from '../../state';
import { ApiError, notFound, unprocessable } from '../errors';
import { body, list, numericParam, param, query, requireString } from '../route-helpers';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const RECORD_TYPES = ['A', 'AAAA', 'CAA', 'CNAME', 'MX', 'NS', 'SOA', 'SRV', 'TXT'];
/** Types whose data names a host: DigitalOcean keeps it without the trailing dot it is written with. */
const HOST_DATA_TYPES = ['CAA', 'CNAME', 'MX', 'NS', 'SRV'];

function findDomain(ctx: CloudContext, request: FastifyRequest): Domain {
  const domain = ctx.store.state.domains.find((d) => d.name === param(request, 'domain_name'));
  if (!domain) throw notFound('domain');
  return domain;
}

function findRecord(ctx: CloudContext, request: FastifyRequest, domain: Domain): DomainRecord {
  const id = numericParam(request, 'domain_record_id', 'domain record');
  const record = ctx.store.state.domainRecords.find((r) => r.id === id && r.domain === domain.name);
  if (!record) throw notFound('domain record');
  return record;
}

function zoneFile(ctx: CloudContext, domain: string): string {
  return ctx.store.state.domainRecords
    .filter((r) => r.domain === domain)
    .map((r) => `${r.name === '@' ? `${domain}.` : r.name} ${r.ttl} IN ${r.type} ${r.data}`)
    .join('\n');
}

function render(ctx: CloudContext, domain: Domain): Domain {
  return { ...domain, zone_file: zoneFile(ctx, domain.name) };
}

function applyRecord(record: DomainRecord, input: Record<string, unknown>, partial: boolean, typeRequired = true): DomainRecord {
  // `type` is required on create and PATCH. A PUT without it keeps the record's type, as DigitalOcean
  // does (its spec says required; its own Terraform provider updates records with PUTs that omit it).
  if (typeRequired || input.type !== undefined) {
    const type = requireString(input.type, 'type');
    if (!RECORD_TYPES.includes(type)) throw unprocessable(`type must be one of ${RECORD_TYPES.join(', ')}`);
    record.type = type;
  }
  if (!partial || input.name !== undefined) record.name = requireString(input.name, 'name');
  if (!partial || input.data !== undefined) record.data = requireString(input.data, 'data');
  // "mail.example.com." is kept as "mail.example.com" (clients such as the Terraform provider add the dot back).
  if (HOST_DATA_TYPES.includes(record.type) && record.data.length > 1 && record.data.endsWith('.')) record.data = record.data.slice(0, -1);
  if (record.type === 'A' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(record.data))
    throw unprocessable('data must be an IPv4 address for an A record');
  for (const field of ['priority', 'port', 'weight', 'flags'] as const) {
    if (input[field] !== undefined) record[field] = input[field] === null ? null : Number(input[field]);
  }
  if (input.ttl !== undefined) {
    if (typeof input.ttl !== 'number' || input.ttl < 30) throw unprocessable('ttl must be a number of seconds, at least 30');
    record.ttl = input.ttl;
  }
  if (input.tag !== undefined) record.tag = input.tag === null ? null : String(input.tag);
  return record;
}

export function registerDomainRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/domains', async (request) =>
    list(
      request,
      'domains',
      ctx.store.state.domains.map((d) => render(ctx, d)),
    ),
  );

  app.post('/v2/domains', async (request, reply) => {
    const input = body(request);
    const name = requireString(input.name, 'name').toLowerCase();
    if (!DOMAIN.test(name)) throw unprocessable(`name ${name} is not a valid domain name`);
    if (ctx.store.state.domains.some((d) => d.name === name)) throw new ApiError(422, 'unprocessable_entity', 'Name already exists.');
    const domain: Domain = { name, ttl: 1800, zone_file: '' };
    ctx.store.state.domains.push(domain);
    if (typeof input.ip_address === 'string') {
      ctx.store.state.domainRecords.push({
        id: ctx.store.nextId(),
        domain: name,
        type: 'A',
        name: '@',
        data: input.ip_address,
        priority: null,
        port: null,
        ttl: 1800,
        weight: null,
        flags: null,
        tag: null,
      });
    }
    ctx.store.changed();
    return reply.code(201).send({ domain: render(ctx, domain) });
  });

  app.get('/v2/domains/:domain_name', async (request) => ({ domain: render(ctx, findDomain(ctx, request)) }));

  app.delete('/v2/domains/:domain_name', async (request, reply) => {
    const domain = findDomain(ctx, request);
    ctx.store.state.domains = ctx.store.state.domains.filter((d) => d.name !== domain.name);
    ctx.store.state.domainRecords = ctx.store.state.domainRecords.filter((r) => r.domain !== domain.name);
    ctx.store.changed();
    return reply.code(204).send();
  });

  app.get('/v2/domains/:domain_name/records', async (request) => {
    const domain = findDomain(ctx, request);
    const { name, type } = query(request);
    const records = ctx.store.state.domainRecords.filter(
      (r) =>
        r.domain === domain.name &&
        (!type || r.type === type) &&
        (!name || (r.name === '@' ? domain.name : `${r.name}.${domain.name}`) === name),
    );
    return list(
      request,
      'domain_records',
      records.map(({ domain: _d, ...r }) => r),
    );
  });

  app.post('/v2/domains/:domain_name/records', async (request, reply) => {
    const domain = findDomain(ctx, request);
    const record = applyRecord(
      {
        id: ctx.store.nextId(),
        domain: domain.name,
        type: '',
        name: '',
        data: '',
        priority: null,
        port: null,
        ttl: 1800,
        weight: null,
        flags: null,
        tag: null,
      },
      body(request),
      false,
    );
    ctx.store.state.domainRecords.push(record);
    ctx.store.changed();
    const { domain: _d, ...shown } = record;
    return reply.code(201).send({ domain_record: shown });
  });

  app.get('/v2/domains/:domain_name/records/:domain_record_id', async (request) => {
    const { domain: _d, ...shown } = findRecord(ctx, request, findDomain(ctx, request));
    return { domain_record: shown };
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/v2/domains/:domain_name/records/:domain_record_id',
      handler: async (request) => {
        // Changed on a copy: a refused update leaves the record as it was.
        const record = applyRecord({ ...findRecord(ctx, request, findDomain(ctx, request)) }, body(request), true, method === 'PATCH');
        ctx.store.state.domainRecords = ctx.store.state.domainRecords.map((r) => (r.id === record.id ? record : r));
        ctx.store.changed();
        const { domain: _d, ...shown } = record;
        return { domain_record: shown };
      },
    });
  }

  app.delete('/v2/domains/:domain_name/records/:domain_record_id', async (request, reply) => {
    const record = findRecord(ctx, request, findDomain(ctx, request));
    ctx.store.state.domainRecords = ctx.store.state.domainRecords.filter((r) => r.id !== record.id);
    ctx.store.changed();
    return reply.code(204).send();
  });
}
