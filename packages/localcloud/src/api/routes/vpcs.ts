// VPCs: create, get, list, update, delete (only when empty), members; a default VPC per region.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hostAddress, isPrivateRange, overlaps, parseCidr, type Cidr } from '../cidr';
import { REGIONS } from '../../catalog';
import type { CloudContext } from '../../context';
import type { Vpc } from '../../state';
import { notFound, unprocessable, ApiError } from '../errors';
import { body, list, now, param, requireRegion, requireString, uuid } from '../route-helpers';

function findVpc(ctx: CloudContext, request: FastifyRequest): Vpc {
  const vpc = ctx.store.state.vpcs.find((v) => v.id === param(request, 'vpc_id'));
  if (!vpc) throw notFound('vpc');
  return vpc;
}

function newVpc(ctx: CloudContext, name: string, region: string, ipRange: string, description: string, isDefault: boolean): Vpc {
  const id = uuid();
  const vpc: Vpc = { id, urn: `do:vpc:${id}`, name, description, region, ip_range: ipRange, default: isDefault, created_at: now() };
  ctx.store.state.vpcs.push(vpc);
  ctx.store.changed();
  return vpc;
}

export function ensureDefaultVpc(ctx: CloudContext, region: string): Vpc {
  const existing = ctx.store.state.vpcs.find((v) => v.region === region && v.default);
  if (existing) return existing;
  const index = REGIONS.findIndex((r) => r.slug === region);
  return newVpc(ctx, `default-${region}`, region, `10.${110 + Math.floor(index / 16)}.${(index % 16) * 16}.0/20`, '', true);
}

/** Next free address in the VPC (skipping network, gateway and addresses in use). */
export function nextPrivateAddress(ctx: CloudContext, vpc: Pick<Vpc, 'ip_range' | 'name'>): string {
  const cidr = parseCidr(vpc.ip_range) as Cidr;
  const used = new Set(Object.values(ctx.store.state.internal.hosts).map((h) => h.privateAddress));
  for (let i = 2; i < 2 ** (32 - cidr.prefix) - 1; i++) {
    const address = hostAddress(cidr, i);
    if (!used.has(address)) return address;
  }
  throw unprocessable(`VPC ${vpc.name} (${vpc.ip_range}) has no free addresses`);
}

function validRange(ctx: CloudContext, text: unknown, region: string): string {
  const range = requireString(text, 'ip_range');
  const cidr = parseCidr(range);
  if (!cidr) throw unprocessable(`ip_range ${range} is not a valid IPv4 CIDR network (like 10.10.0.0/16)`);
  if (cidr.prefix < 16 || cidr.prefix > 28) throw unprocessable(`ip_range ${range}: the prefix must be from /16 to /28`);
  if (!isPrivateRange(cidr)) throw unprocessable(`ip_range ${range} must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`);
  const clash = ctx.store.state.vpcs.find((v) => v.region === region && overlaps(parseCidr(v.ip_range) as Cidr, cidr));
  if (clash) throw unprocessable(`ip_range ${range} overlaps VPC ${clash.name} (${clash.ip_range})`);
  return range;
}

export function registerVpcRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/v2/vpcs', async (request) => list(request, 'vpcs', ctx.store.state.vpcs));

  app.post('/v2/vpcs', async (request, reply) => {
    const input = body(request);
    const name = requireString(input.name, 'name');
    const region = requireRegion(ctx, input.region).slug;
    if (ctx.store.state.vpcs.some((v) => v.name === name)) throw unprocessable(`A VPC named ${name} already exists`);
    const range = input.ip_range === undefined ? undefined : validRange(ctx, input.ip_range, region);
    const vpc = range
      ? newVpc(ctx, name, region, range, String(input.description ?? ''), false)
      : newVpc(ctx, name, region, nextFreeRange(ctx, region), String(input.description ?? ''), false);
    return reply.code(201).send({ vpc });
  });

  app.get('/v2/vpcs/:vpc_id', async (request) => ({ vpc: findVpc(ctx, request) }));

  const update = async (request: FastifyRequest) => {
    const vpc = findVpc(ctx, request);
    const input = body(request);
    if (input.name !== undefined) vpc.name = requireString(input.name, 'name');
    if (input.description !== undefined) vpc.description = String(input.description);
    ctx.store.changed();
    return { vpc };
  };
  app.put('/v2/vpcs/:vpc_id', update);
  app.patch('/v2/vpcs/:vpc_id', update);

  app.delete('/v2/vpcs/:vpc_id', async (request, reply) => {
    const vpc = findVpc(ctx, request);
    if (vpc.default) throw new ApiError(403, 'forbidden', 'A default VPC cannot be deleted.');
    if (ctx.store.state.droplets.some((d) => d.vpc_uuid === vpc.id))
      throw new ApiError(409, 'conflict', 'The VPC still has members; remove them first.');
    ctx.store.state.vpcs = ctx.store.state.vpcs.filter((v) => v.id !== vpc.id);
    ctx.store.changed();
    return reply.code(204).send();
  });

  app.get('/v2/vpcs/:vpc_id/members', async (request) => {
    const vpc = findVpc(ctx, request);
    const members = ctx.store.state.droplets
      .filter((d) => d.vpc_uuid === vpc.id)
      .map((d) => ({ urn: `do:droplet:${d.id}`, name: d.name, created_at: d.created_at }));
    return list(request, 'members', members);
  });
}

function nextFreeRange(ctx: CloudContext, region: string): string {
  for (let third = 0; third < 256; third += 16) {
    const candidate = `10.200.${third}.0/20`;
    const cidr = parseCidr(candidate) as Cidr;
    if (!ctx.store.state.vpcs.some((v) => v.region === region && overlaps(parseCidr(v.ip_range) as Cidr, cidr))) return candidate;
  }
  throw unprocessable('no free VPC range left; pass ip_range');
}
