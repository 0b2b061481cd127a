// Linode instances: create (region, type, image, root_pass, authorized_keys, private_ip, tags, and
// legacy config interfaces: public, and vpc with a subnet; firewall_id), get, list, delete, boot, reboot, shut down. A new instance is `provisioning`, then `booting`,
// then `running`, when its host answers SSH on its public address as a droplet's does.
import type { CreateLinodeRequest, InterfacePayload, Linode } from '@linode/api-v4';
import { CreateLinodeSchema } from '@linode/validation';
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { regionUp } from '../../route-helpers';
import { hostAddressOf } from '../droplets';
import { nextPrivateAddress } from '../vpcs';
import { LINODE_IMAGES, LINODE_REGIONS, LINODE_TYPES } from './catalog';
import { linodeBadRequest, linodeNotFound } from './errors';
import { addDevice, findFirewall } from './firewalls';
import { linodePage } from './pagination';
import type { LinodeInstanceRecord } from './state';
import { releaseExtraIps } from './ips';
import { scheduleStatus } from './status';
import { findSubnet, leaveSubnets, nextSubnetAddress } from './vpcs';
import { idParam, linodeTimestamp, requestBody } from './wire';
import { validated } from './validate';

/** Linode's private network: every instance with private_ip gets an address in 192.168.128.0/17. */
const PRIVATE_NETWORK = { ip_range: '192.168.128.0/17', name: 'Linode private network' };

export function findInstance(ctx: CloudContext, id: number): LinodeInstanceRecord {
  const record = ctx.store.state.linode.instances.find((i) => i.linode.id === id);
  if (!record) throw linodeNotFound();
  regionUp(ctx, record.linode.region);
  return record;
}

/** The address the instance's private interface has (an instance made without private_ip has none). */
export function privateAddressOf(linode: Linode): string | undefined {
  return linode.ipv4.find((ip) => ip.startsWith('192.168.'));
}

function firewallOf(ctx: CloudContext, firewallId: number | null | undefined) {
  if (firewallId === undefined || firewallId === null) return undefined;
  try {
    return findFirewall(ctx, firewallId);
  } catch {
    throw linodeBadRequest(`Firewall ${firewallId} not found`, 'firewall_id');
  }
}

/**
 * The subnet a `vpc` interface joins, checked. One VPC interface, beside at most a public one; the
 * VPC address stands in for the private one, so private_ip with a VPC is refused here (an instance
 * has one private address in this cloud).
 */
function vpcInterfaceOf(ctx: CloudContext, input: CreateLinodeRequest, body: Record<string, unknown>) {
  if (body.interface_generation === 'linode')
    throw linodeBadRequest('Linode interfaces are not supported here; use config interfaces', 'interface_generation');
  const interfaces = (input.interfaces ?? []) as InterfacePayload[];
  const unsupported = interfaces.findIndex((i) => i.purpose !== 'public' && i.purpose !== 'vpc');
  if (unsupported >= 0) throw linodeBadRequest('Only public and vpc interfaces are supported here', `interfaces[${unsupported}].purpose`);
  const vpcs = interfaces.filter((i) => i.purpose === 'vpc');
  if (vpcs.length > 1) throw linodeBadRequest('Only one vpc interface is supported here', 'interfaces');
  const vpc = vpcs[0];
  if (!vpc) return undefined;
  if (input.private_ip) throw linodeBadRequest('private_ip cannot be combined with a vpc interface here', 'private_ip');
  const field = `interfaces[${interfaces.indexOf(vpc)}].subnet_id`;
  return findSubnet(ctx, vpc.subnet_id as number, vpc.vpc_id ?? undefined, field);
}

async function createInstance(ctx: CloudContext, body: Record<string, unknown>): Promise<Linode> {
  const input = await validated<CreateLinodeRequest>(CreateLinodeSchema, body);
  const state = ctx.store.state;
  if (!LINODE_REGIONS.some((r) => r.id === input.region)) throw linodeBadRequest('region is not valid', 'region');
  regionUp(ctx, input.region);
  const type = LINODE_TYPES.find((t) => t.id === input.type);
  if (!type) throw linodeBadRequest('A valid plan type by that ID was not found', 'type');
  if (input.image && !LINODE_IMAGES.some((i) => i.id === input.image)) throw linodeBadRequest('Not found', 'image');
  const id = ctx.store.nextId();
  const label = input.label ?? `linode${id}`;
  if (state.linode.instances.some((i) => i.linode.label === label))
    throw linodeBadRequest('Label must be unique among your Linodes', 'label');

  const firewall = firewallOf(ctx, input.firewall_id);
  const vpcInterface = vpcInterfaceOf(ctx, input, body);
  if (vpcInterface && vpcInterface.vpc.region !== input.region)
    throw linodeBadRequest(`Subnet ${vpcInterface.subnet.id} is in ${vpcInterface.vpc.region}, not ${input.region}`, 'interfaces');

  const host = {
    address: hostAddressOf(ctx, state.internal.nextHostAddress++),
    sshPort: 22,
    // root_pass is never kept: the host takes keys, as opsflow logs in with them.
    authorizedKeys: input.authorized_keys ?? [],
    // In a VPC, the instance's private address is its subnet's; else Linode's private network's.
    privateAddress: vpcInterface ? nextSubnetAddress(ctx, vpcInterface.subnet) : nextPrivateAddress(ctx, PRIVATE_NETWORK),
  };
  state.internal.hosts[id] = host;
  const configId = ctx.store.nextId();
  if (vpcInterface) vpcInterface.subnet.linodes.push({ id, interfaces: [{ id: ctx.store.nextId(), active: true, config_id: configId }] });
  const created = linodeTimestamp();
  const linode: Linode = {
    id,
    label,
    region: input.region,
    type: type.id,
    image: input.image ?? null,
    status: 'provisioning',
    // Linode assigns addresses at creation, before the instance boots.
    ipv4: input.private_ip ? [host.address, host.privateAddress] : [host.address],
    ipv6: null,
    tags: input.tags ?? [],
    group: '',
    created,
    updated: created,
    specs: { vcpus: type.vcpus, memory: type.memory, disk: type.disk, transfer: type.transfer, gpus: 0, accelerated_devices: 0 },
    alerts: { cpu: 90, io: 10000, network_in: 10, network_out: 10, transfer_quota: 80 },
    backups: { enabled: input.backups_enabled ?? false, last_successful: null, schedule: { day: null, window: null } },
    capabilities: [],
    has_user_data: false,
    hypervisor: 'kvm',
    lke_cluster_id: null,
    locks: [],
    maintenance_policy: null,
    placement_group: null,
    site_type: 'core',
    watchdog_enabled: true,
  };
  state.linode.instances.push({ linode, configId });
  // Protected from its first boot, as Linode does with firewall_id.
  if (firewall) addDevice(ctx, firewall, { id, type: 'linode' }, 'firewall_id');
  const half = Math.max(1, Math.round(ctx.timing.dropletCreateMs / 2));
  if (input.booted === false) scheduleStatus(ctx, id, 'provisioning', { status: 'offline', afterMs: half });
  else scheduleStatus(ctx, id, 'provisioning', { status: 'booting', afterMs: half }, { status: 'running', afterMs: half });
  ctx.store.changed();
  return linode;
}

/** Removes an instance and everything that points at it. */
function destroyInstance(ctx: CloudContext, record: LinodeInstanceRecord): void {
  const state = ctx.store.state;
  const id = record.linode.id;
  state.linode.instances = state.linode.instances.filter((i) => i !== record);
  for (const volume of state.linode.volumes)
    if (volume.linode_id === id) Object.assign(volume, { linode_id: null, linode_label: null, updated: linodeTimestamp() });
  for (const fw of state.linode.firewalls) {
    fw.devices = fw.devices.filter((d) => !(d.entity.type === 'linode' && d.entity.id === id));
    fw.firewall.entities = fw.devices.map((d) => d.entity);
  }
  leaveSubnets(ctx, id);
  releaseExtraIps(ctx, id);
  delete state.internal.hosts[id];
  ctx.hosts.dropletDestroyed(id);
  ctx.store.changed();
}

const POWER_STEPS = {
  boot: { now: 'booting', next: 'running' },
  reboot: { now: 'rebooting', next: 'running' },
  shutdown: { now: 'shutting_down', next: 'offline' },
} as const;

export function registerLinodeInstanceRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/linode/instances', async (request) =>
    linodePage(
      request,
      ctx.store.state.linode.instances.map((i) => i.linode),
    ),
  );

  app.post('/linode/instances', async (request) => createInstance(ctx, requestBody(request)));

  app.get('/linode/instances/:linodeId', async (request) => findInstance(ctx, idParam(request, 'linodeId')).linode);

  app.delete('/linode/instances/:linodeId', async (request) => {
    destroyInstance(ctx, findInstance(ctx, idParam(request, 'linodeId')));
    return {};
  });

  for (const [step, { now, next }] of Object.entries(POWER_STEPS)) {
    app.post(`/linode/instances/:linodeId/${step}`, async (request) => {
      const { linode } = findInstance(ctx, idParam(request, 'linodeId'));
      // boot and reboot may name a config: there is one, any other is not there.
      const configId = requestBody(request).config_id;
      if (configId !== undefined && configId !== null && configId !== findInstance(ctx, linode.id).configId)
        throw linodeBadRequest('Config not found', 'config_id');
      if (['provisioning', 'booting', 'rebooting', 'shutting_down'].includes(linode.status))
        throw linodeBadRequest(`Linode busy (${linode.status})`);
      scheduleStatus(ctx, linode.id, now, { status: next, afterMs: ctx.timing.actionMs });
      ctx.store.changed();
      return {};
    });
  }
}
