// An instance's addresses: list them, allocate another public IPv4 (Linode's way to an address that
// can move: /networking/ips/assign moves it to another instance of the region), remove one, look
// one up. An extra address reaches its instance as a reserved IP reaches its droplet (the cloud's
// nftables map, routed again after every change). Private addresses cannot be allocated here.
import type { IPAddress, IPAllocationRequest, IPAssignmentPayload, LinodeIPsResponse, VPCIP } from '@linode/api-v4';
import { assignAddressesSchema, IPAllocationSchema } from '@linode/validation';
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { regionUp } from '../../route-helpers';
import { linodeBadRequest, linodeNotFound } from './errors';
import { findInstance, privateAddressOf } from './instances';
import { linodePage } from './pagination';
import type { LinodeExtraIp } from './state';
import { idParam, requestBody } from './wire';
import { validated } from './validate';

const address = (ip: string, linodeId: number, region: string, isPublic: boolean): IPAddress => ({
  address: ip,
  gateway: isPublic ? ip.replace(/\.\d+$/, '.1') : null,
  interface_id: null,
  linode_id: linodeId,
  prefix: isPublic ? 24 : 17,
  public: isPublic,
  rdns: null,
  region,
  subnet_mask: isPublic ? '255.255.255.0' : '255.255.128.0',
  type: 'ipv4',
});

/** Every IPv4 address the account holds: each instance's own, its private one, the extra ones. */
function allAddresses(ctx: CloudContext): IPAddress[] {
  const state = ctx.store.state.linode;
  return state.instances.flatMap(({ linode }) => {
    const privateIp = privateAddressOf(linode);
    return [
      ...linode.ipv4.filter((ip) => ip !== privateIp).map((ip) => address(ip, linode.id, linode.region, true)),
      ...(privateIp ? [address(privateIp, linode.id, linode.region, false)] : []),
    ];
  });
}

function findAddress(ctx: CloudContext, ip: string): IPAddress {
  const found = allAddresses(ctx).find((a) => a.address === ip);
  if (!found) throw linodeNotFound();
  regionUp(ctx, found.region);
  return found;
}

/** The VPC interfaces of an instance, as /ips lists them. */
function vpcAddresses(ctx: CloudContext, linodeId: number, region: string): VPCIP[] {
  return ctx.store.state.linode.vpcs.flatMap((vpc) =>
    vpc.subnets.flatMap((subnet) =>
      subnet.linodes
        .filter((l) => l.id === linodeId)
        .flatMap((l) =>
          l.interfaces.map((i) => ({
            active: i.active,
            address: ctx.store.state.internal.hosts[linodeId]?.privateAddress ?? null,
            address_range: null,
            config_id: i.config_id,
            gateway: subnet.ipv4?.replace(/\.\d+\/\d+$/, '.1') ?? null,
            interface_id: i.id,
            ipv6_addresses: [],
            ipv6_is_public: null,
            ipv6_range: null,
            linode_id: linodeId,
            nat_1_1: '',
            nodebalancer_id: null,
            prefix: Number(subnet.ipv4?.split('/')[1]),
            region,
            subnet_id: subnet.id,
            subnet_mask: '',
            vpc_id: vpc.id,
          })),
        ),
    ),
  );
}

/** The instance's public addresses after a change: its own first, then the extra ones it holds now. */
function syncInstanceAddresses(ctx: CloudContext): void {
  const state = ctx.store.state;
  for (const { linode } of state.linode.instances) {
    const own = state.internal.hosts[linode.id]?.address;
    const privateIp = privateAddressOf(linode);
    const extras = state.linode.extraIps.filter((x) => x.linodeId === linode.id).map((x) => x.address);
    linode.ipv4 = [...(own ? [own] : []), ...extras, ...(privateIp ? [privateIp] : [])];
  }
  ctx.hosts.reservedIpsChanged?.();
  ctx.store.changed();
}

/** An instance is gone: its extra addresses go with it (Linode releases them). */
export function releaseExtraIps(ctx: CloudContext, linodeId: number): void {
  const state = ctx.store.state.linode;
  if (!state.extraIps.some((x) => x.linodeId === linodeId)) return;
  state.extraIps = state.extraIps.filter((x) => x.linodeId !== linodeId);
  ctx.hosts.reservedIpsChanged?.();
}

async function allocate(ctx: CloudContext, linodeId: number, body: Record<string, unknown>): Promise<IPAddress> {
  const { linode } = findInstance(ctx, linodeId);
  const input = await validated<IPAllocationRequest>(IPAllocationSchema, body);
  if (!input.public)
    throw linodeBadRequest('Only public IPv4 addresses can be allocated here (each instance has its private one)', 'public');
  const state = ctx.store.state;
  // From the same counter as reserved IPs, in this cloud's own host network: never a droplet's or another cloud's.
  const n = state.internal.nextReservedAddress++;
  const extra: LinodeExtraIp = {
    address: `127.${ctx.hostNetwork}.${250 + (Math.floor(n / 250) % 5)}.${(n % 250) + 2}`,
    linodeId: linode.id,
    region: linode.region,
  };
  state.linode.extraIps.push(extra);
  syncInstanceAddresses(ctx);
  return address(extra.address, linode.id, linode.region, true);
}

async function assign(ctx: CloudContext, body: Record<string, unknown>): Promise<Record<string, never>> {
  const input = await validated<IPAssignmentPayload>(assignAddressesSchema, body);
  const state = ctx.store.state.linode;
  // Every assignment is checked before any moves: a bad one moves nothing.
  const moves = input.assignments.map((a, i) => {
    const extra = state.extraIps.find((x) => x.address === a.address);
    if (!extra) throw linodeBadRequest(`${a.address} is not an address that can be moved`, `assignments[${i}].address`);
    if (extra.region !== input.region) throw linodeBadRequest(`${a.address} is not in ${input.region}`, `assignments[${i}].address`);
    const target = findInstance(ctx, a.linode_id).linode;
    if (target.region !== input.region)
      throw linodeBadRequest(`Linode ${a.linode_id} is not in ${input.region}`, `assignments[${i}].linode_id`);
    return { extra, linodeId: target.id };
  });
  for (const { extra, linodeId } of moves) extra.linodeId = linodeId;
  syncInstanceAddresses(ctx);
  return {};
}

export function registerLinodeIpRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/linode/instances/:linodeId/ips', async (request): Promise<LinodeIPsResponse> => {
    const { linode } = findInstance(ctx, idParam(request, 'linodeId'));
    const mine = allAddresses(ctx).filter((a) => a.linode_id === linode.id);
    return {
      ipv4: {
        public: mine.filter((a) => a.public),
        private: mine.filter((a) => !a.public),
        shared: [],
        reserved: [],
        vpc: vpcAddresses(ctx, linode.id, linode.region),
      },
    };
  });

  app.post('/linode/instances/:linodeId/ips', async (request) => allocate(ctx, idParam(request, 'linodeId'), requestBody(request)));

  app.get('/linode/instances/:linodeId/ips/:address', async (request) => {
    const { linode } = findInstance(ctx, idParam(request, 'linodeId'));
    const found = findAddress(ctx, (request.params as { address: string }).address);
    if (found.linode_id !== linode.id) throw linodeNotFound();
    return found;
  });

  app.delete('/linode/instances/:linodeId/ips/:address', async (request) => {
    const { linode } = findInstance(ctx, idParam(request, 'linodeId'));
    const ip = (request.params as { address: string }).address;
    const found = findAddress(ctx, ip);
    if (found.linode_id !== linode.id) throw linodeNotFound();
    if (!found.public) throw linodeBadRequest('Private addresses cannot be removed');
    const state = ctx.store.state.linode;
    if (!state.extraIps.some((x) => x.address === ip)) throw linodeBadRequest("Cannot remove a Linode's last public IPv4 address");
    state.extraIps = state.extraIps.filter((x) => x.address !== ip);
    syncInstanceAddresses(ctx);
    return {};
  });

  app.get('/networking/ips', async (request) => linodePage(request, allAddresses(ctx)));

  app.get('/networking/ips/:address', async (request) => findAddress(ctx, (request.params as { address: string }).address));

  app.post('/networking/ips/assign', async (request) => assign(ctx, requestBody(request)));
  app.post('/networking/ipv4/assign', async (request) => assign(ctx, requestBody(request)));
}
