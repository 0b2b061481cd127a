// Cloud Firewalls: create (rules, devices, tags), list, get, delete, their rules (get, replace) and
// their devices (list, add, remove). Rules hold between hosts (hosts/isolation/cloud-firewalls.ts).
import { createHash } from 'node:crypto';
import type {
  CreateFirewallPayload,
  Firewall,
  FirewallDevice,
  FirewallDeviceEntity,
  FirewallDevicePayload,
  FirewallRules,
  UpdateFirewallRules,
} from '@linode/api-v4';
import { CreateFirewallSchema, FirewallDeviceSchema, FirewallRuleSchema } from '@linode/validation';
import type { FastifyInstance } from 'fastify';
import type { CloudContext } from '../../../context';
import { linodeBadRequest, linodeNotFound } from './errors';
import { findInstance } from './instances';
import { findNodeBalancer } from './nodebalancers';
import { linodePage } from './pagination';
import type { LinodeFirewallRecord } from './state';
import { idParam, linodeTimestamp, requestBody } from './wire';
import { validated } from './validate';

export function findFirewall(ctx: CloudContext, id: number): LinodeFirewallRecord {
  const record = ctx.store.state.linode.firewalls.find((f) => f.firewall.id === id);
  if (!record) throw linodeNotFound();
  return record;
}

/** The device's entity, after checking it exists; an instance or NodeBalancer has one firewall at most. */
function entityOf(ctx: CloudContext, device: FirewallDevicePayload, field: string): FirewallDeviceEntity {
  const taken = ctx.store.state.linode.firewalls.some((f) =>
    f.devices.some((d) => d.entity.type === device.type && d.entity.id === device.id),
  );
  if (taken) throw linodeBadRequest(`${device.type} ${device.id} already has a firewall`, field);
  if (device.type === 'linode') {
    const { linode } = findInstanceOr400(ctx, device.id, field);
    return { id: linode.id, label: linode.label, type: 'linode', parent_entity: null, url: `/v4/linode/instances/${linode.id}` };
  }
  if (device.type === 'nodebalancer') {
    const { nodeBalancer } = findNodeBalancerOr400(ctx, device.id, field);
    return {
      id: nodeBalancer.id,
      label: nodeBalancer.label,
      type: 'nodebalancer',
      parent_entity: null,
      url: `/v4/nodebalancers/${nodeBalancer.id}`,
    };
  }
  throw linodeBadRequest(`devices of type ${device.type} are not supported here`, field);
}

function findInstanceOr400(ctx: CloudContext, id: number, field: string) {
  try {
    return findInstance(ctx, id);
  } catch {
    throw linodeBadRequest(`Linode ${id} not found`, field);
  }
}

function findNodeBalancerOr400(ctx: CloudContext, id: number, field: string) {
  try {
    return findNodeBalancer(ctx, id);
  } catch {
    throw linodeBadRequest(`NodeBalancer ${id} not found`, field);
  }
}

export function addDevice(ctx: CloudContext, record: LinodeFirewallRecord, payload: FirewallDevicePayload, field: string): FirewallDevice {
  const created = linodeTimestamp();
  const device: FirewallDevice = { id: ctx.store.nextId(), entity: entityOf(ctx, payload, field), created, updated: created };
  record.devices.push(device);
  record.firewall.entities = record.devices.map((d) => d.entity);
  return device;
}

async function createFirewall(ctx: CloudContext, body: Record<string, unknown>): Promise<Firewall> {
  const input = await validated<CreateFirewallPayload>(CreateFirewallSchema, body);
  const state = ctx.store.state.linode;
  if (state.firewalls.some((f) => f.firewall.label === input.label)) throw linodeBadRequest('Label must be unique', 'label');
  const created = linodeTimestamp();
  const rules = { inbound: input.rules.inbound ?? [], outbound: input.rules.outbound ?? [] };
  const firewall: Firewall = {
    id: ctx.store.nextId(),
    label: input.label,
    status: 'enabled',
    tags: input.tags ?? [],
    created,
    updated: created,
    entities: [],
    rules: {
      ...rules,
      inbound_policy: input.rules.inbound_policy,
      outbound_policy: input.rules.outbound_policy,
      fingerprint: createHash('sha256').update(JSON.stringify(input.rules)).digest('hex').slice(0, 8),
      version: 1,
    },
  };
  const record: LinodeFirewallRecord = { firewall, devices: [] };
  // Devices are checked before the firewall exists, so a bad one leaves nothing behind.
  const payloads: FirewallDevicePayload[] = [
    ...(input.devices?.linodes ?? []).map((id) => ({ id, type: 'linode' as const })),
    ...(input.devices?.nodebalancers ?? []).map((id) => ({ id, type: 'nodebalancer' as const })),
  ];
  payloads.forEach((p) => entityOf(ctx, p, `devices.${p.type}s`));
  payloads.forEach((p) => addDevice(ctx, record, p, `devices.${p.type}s`));
  state.firewalls.push(record);
  ctx.store.changed();
  ctx.hosts.firewallsChanged?.();
  return firewall;
}

export function registerLinodeFirewallRoutes(app: FastifyInstance, ctx: CloudContext): void {
  app.get('/networking/firewalls', async (request) =>
    linodePage(
      request,
      ctx.store.state.linode.firewalls.map((f) => f.firewall),
    ),
  );

  app.post('/networking/firewalls', async (request) => createFirewall(ctx, requestBody(request)));

  app.get('/networking/firewalls/:firewallId', async (request) => findFirewall(ctx, idParam(request, 'firewallId')).firewall);

  app.delete('/networking/firewalls/:firewallId', async (request) => {
    const record = findFirewall(ctx, idParam(request, 'firewallId'));
    ctx.store.state.linode.firewalls = ctx.store.state.linode.firewalls.filter((f) => f !== record);
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return {};
  });

  app.get('/networking/firewalls/:firewallId/rules', async (request) => findFirewall(ctx, idParam(request, 'firewallId')).firewall.rules);

  // The whole rule set replaced, as Linode does: a new version and fingerprint.
  app.put('/networking/firewalls/:firewallId/rules', async (request) => {
    const record = findFirewall(ctx, idParam(request, 'firewallId'));
    const input = await validated<UpdateFirewallRules>(FirewallRuleSchema, requestBody(request));
    const rules: FirewallRules = {
      inbound: input.inbound ?? [],
      outbound: input.outbound ?? [],
      inbound_policy: input.inbound_policy ?? record.firewall.rules.inbound_policy,
      outbound_policy: input.outbound_policy ?? record.firewall.rules.outbound_policy,
      fingerprint: createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 8),
      version: (record.firewall.rules.version ?? 1) + 1,
    };
    record.firewall.rules = rules;
    record.firewall.updated = linodeTimestamp();
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return rules;
  });

  app.get('/networking/firewalls/:firewallId/devices', async (request) =>
    linodePage(request, findFirewall(ctx, idParam(request, 'firewallId')).devices),
  );

  app.post('/networking/firewalls/:firewallId/devices', async (request) => {
    const record = findFirewall(ctx, idParam(request, 'firewallId'));
    const payload = await validated<FirewallDevicePayload>(FirewallDeviceSchema, requestBody(request));
    const device = addDevice(ctx, record, payload, 'id');
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return device;
  });

  app.delete('/networking/firewalls/:firewallId/devices/:deviceId', async (request) => {
    const record = findFirewall(ctx, idParam(request, 'firewallId'));
    const deviceId = idParam(request, 'deviceId');
    if (!record.devices.some((d) => d.id === deviceId)) throw linodeNotFound();
    record.devices = record.devices.filter((d) => d.id !== deviceId);
    record.firewall.entities = record.devices.map((d) => d.entity);
    ctx.store.changed();
    ctx.hosts.firewallsChanged?.();
    return {};
  });
}
