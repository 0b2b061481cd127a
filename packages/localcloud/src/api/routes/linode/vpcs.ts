// VPCs: create (label, region, subnets with an IPv4 range), list, get, delete, and their subnets.
// An instance joins a subnet through a `vpc` interface at creation (instances.ts) and gets the
// subnet's next free address as its private address, which NodeBalancers and the other instances
// reach it by; the subnet lists it. A VPC whose subnets still hold instances is not deleted.
import type { CreateVPCPayload, Subnet, VPC } from '@linode/api-v4';
import { createVPCSchema } from '@linode/validation';
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { isPrivateRange, overlaps, parseCidr, type Cidr } from '../../cidr';
import { regionUp } from '../../route-helpers';
import { nextPrivateAddress } from '../vpcs';
import { LINODE_REGIONS } from './catalog';
import { linodeBadRequest, linodeNotFound } from './errors';
import { linodePage } from './pagination';
import { idParam, linodeTimestamp, requestBody } from './wire';
import { validated } from './validate';

export function findVpc(ctx: CloudContext, id: number): VPC {
  const vpc = ctx.store.state.linode.vpcs.find((v) => v.id === id);
  if (!vpc) throw linodeNotFound();
  regionUp(ctx, vpc.region);
  return vpc;
}

/** The subnet and its VPC, for an interface naming them (vpc_id may be left out: the subnet says). */
export function findSubnet(ctx: CloudContext, subnetId: number, vpcId: number | undefined, field: string): { vpc: VPC; subnet: Subnet } {
  for (const vpc of ctx.store.state.linode.vpcs) {
    const subnet = vpc.subnets.find((s) => s.id === subnetId);
    if (subnet && (vpcId === undefined || vpc.id === vpcId)) return { vpc, subnet };
  }
  throw linodeBadRequest(`Subnet ${subnetId} not found${vpcId === undefined ? '' : ` in VPC ${vpcId}`}`, field);
}

/** A free address in the subnet for a new interface (the first two and the last are the subnet's own). */
export function nextSubnetAddress(ctx: CloudContext, subnet: Subnet): string {
  return nextPrivateAddress(ctx, { ip_range: subnet.ipv4 as string, name: `subnet ${subnet.label}` });
}

/** The instance leaves every subnet it was in (it was deleted). */
export function leaveSubnets(ctx: CloudContext, linodeId: number): void {
  for (const vpc of ctx.store.state.linode.vpcs)
    for (const subnet of vpc.subnets) subnet.linodes = subnet.linodes.filter((l) => l.id !== linodeId);
}

function subnetRange(text: string | undefined, taken: Cidr[], field: string): Cidr {
  const cidr = text === undefined ? undefined : parseCidr(text);
  if (!cidr) throw linodeBadRequest('A subnet must have an IPv4 range, e.g. 10.0.0.0/24', field);
  if (!isPrivateRange(cidr) || cidr.prefix > 29)
    throw linodeBadRequest('The IPv4 range must be an RFC1918 range of /29 or larger, e.g. 10.0.0.0/24', field);
  if (taken.some((t) => overlaps(t, cidr))) throw linodeBadRequest(`The IPv4 range ${text} overlaps another subnet of this VPC`, field);
  return cidr;
}

async function createVpc(ctx: CloudContext, body: Record<string, unknown>): Promise<VPC> {
  const input = await validated<CreateVPCPayload>(createVPCSchema, body);
  const state = ctx.store.state.linode;
  if (!LINODE_REGIONS.some((r) => r.id === input.region)) throw linodeBadRequest('region is not valid', 'region');
  regionUp(ctx, input.region);
  if (state.vpcs.some((v) => v.label === input.label)) throw linodeBadRequest('Label must be unique among your VPCs', 'label');
  const created = linodeTimestamp();
  // Every range is checked before anything exists, so a bad subnet leaves no VPC behind.
  const taken: Cidr[] = [];
  (input.subnets ?? []).forEach((s, i) => taken.push(subnetRange(s.ipv4, taken, `subnets[${i}].ipv4`)));
  const vpc: VPC = {
    id: ctx.store.nextId(),
    label: input.label,
    region: input.region,
    description: input.description ?? '',
    subnets: (input.subnets ?? []).map((s) => ({
      id: ctx.store.nextId(),
      label: s.label,
      ipv4: s.ipv4,
      linodes: [],
      nodebalancers: [],
      created,
      updated: created,
    })),
    created,
    updated: created,
  };
  state.vpcs.push(vpc);
  ctx.store.changed();
  return vpc;
}

export function registerLinodeVpcRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/vpcs', async (request) => linodePage(request, ctx.store.state.linode.vpcs));

  app.post('/vpcs', async (request) => createVpc(ctx, requestBody(request)));

  app.get('/vpcs/:vpcId', async (request) => findVpc(ctx, idParam(request, 'vpcId')));

  app.get('/vpcs/:vpcId/subnets', async (request) => linodePage(request, findVpc(ctx, idParam(request, 'vpcId')).subnets));

  app.delete('/vpcs/:vpcId', async (request) => {
    const vpc = findVpc(ctx, idParam(request, 'vpcId'));
    const inUse = vpc.subnets.filter((s) => s.linodes.length > 0);
    if (inUse.length > 0)
      throw linodeBadRequest(
        `VPC ${vpc.label} cannot be deleted while Linodes are assigned to its subnets (${inUse.map((s) => s.label).join(', ')})`,
      );
    ctx.store.state.linode.vpcs = ctx.store.state.linode.vpcs.filter((v) => v !== vpc);
    ctx.store.changed();
    return {};
  });
}
