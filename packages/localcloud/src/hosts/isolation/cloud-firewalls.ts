// Cloud firewalls, enforced between hosts: what each DigitalOcean firewall and Linode Cloud
// Firewall in the state lets one host open to another, as the elements of two nft sets
// (network-policy.ts applies them). A host covered by a firewall (DigitalOcean: by droplet id or
// tag; Linode: a device of type linode) is "firewalled": a TCP or UDP connection another host
// opens to one of its addresses passes only if an inbound rule lets that host in on that port.
// The source host is known by its sockets' owner (its uid slot), so a rule's sources are resolved
// to hosts here: an address range matches a host whose public or private address is in it, a
// droplet id or tag the droplets it names. Connections from the machine (the worker, a test, the
// load balancers) are not judged: the machine stands for the internet and the operator's network.
// ICMP is not judged either. A host may always reach itself.
import type { FirewallRules } from '@linode/api-v4';
import type { CloudState, FirewallRule } from '../../state';
import { dropletUidBase, UIDS_PER_DROPLET } from './uid-range';

type PortRange = [number, number];
type Protocol = 'tcp' | 'udp';
const ALL_PORTS: PortRange[] = [[1, 65535]];

interface Host {
  id: number;
  addresses: string[];
  uids?: [number, number];
  tags: string[];
  linode: boolean;
}

export interface FirewallElements {
  /** Addresses of hosts that a firewall covers. */
  firewalled: string[];
  /** `uid-range . address . protocol . port-range`: a host's sockets may open this. */
  allowed: string[];
}

export function firewallElements(state: CloudState, network: number): FirewallElements {
  const hosts = hostsOf(state, network);
  const sources = hosts.filter((h) => h.uids);
  const firewalled: string[] = [];
  const allowed: string[] = [];
  for (const target of hosts) {
    const inbound = inboundOf(state, target);
    if (!inbound) continue;
    firewalled.push(...target.addresses);
    for (const source of sources) {
      for (const protocol of ['tcp', 'udp'] as const) {
        const ports = source.id === target.id ? ALL_PORTS : inbound(source, protocol);
        for (const address of target.addresses)
          for (const [low, high] of ports)
            allowed.push(`${source.uids![0]}-${source.uids![1]} . ${address} . ${protocol} . ${low}-${high}`);
      }
    }
  }
  return { firewalled, allowed };
}

function hostsOf(state: CloudState, network: number): Host[] {
  const linodes = new Set(state.linode.instances.map((i) => i.linode.id));
  const tags = new Map(state.droplets.map((d) => [d.id, d.tags]));
  return Object.entries(state.internal.hosts).map(([id, record]) => ({
    id: Number(id),
    addresses: [record.address, record.privateAddress].filter(Boolean),
    uids: record.uidSlot === undefined ? undefined : uidsOf(network, record.uidSlot),
    tags: tags.get(Number(id)) ?? [],
    linode: linodes.has(Number(id)),
  }));
}

function uidsOf(network: number, slot: number): [number, number] {
  const base = dropletUidBase(network, slot);
  return [base, base + UIDS_PER_DROPLET - 1];
}

type Inbound = (source: Host, protocol: Protocol) => PortRange[];

/** The ports the target's firewalls open to a source, or undefined when no firewall covers it. */
function inboundOf(state: CloudState, target: Host): Inbound | undefined {
  if (target.linode) {
    const record = state.linode.firewalls.find(
      (f) => f.firewall.status === 'enabled' && f.devices.some((d) => d.entity.type === 'linode' && d.entity.id === target.id),
    );
    return record && linodeInbound(record.firewall.rules);
  }
  const covering = state.firewalls.filter((f) => f.droplet_ids.includes(target.id) || f.tags.some((t) => target.tags.includes(t)));
  if (covering.length === 0) return undefined;
  const rules = covering.flatMap((f) => f.inbound_rules);
  return (source, protocol) =>
    merge(rules.filter((r) => r.protocol === protocol && digitalOceanSourceMatches(r, source)).flatMap((r) => doPorts(r.ports)));
}

function digitalOceanSourceMatches(rule: FirewallRule, source: Host): boolean {
  const from = (rule.sources ?? {}) as { addresses?: string[]; droplet_ids?: number[]; tags?: string[] };
  return (
    (from.addresses ?? []).some((cidr) => source.addresses.some((a) => inCidr(a, cidr))) ||
    (from.droplet_ids ?? []).includes(source.id) ||
    (from.tags ?? []).some((t) => source.tags.includes(t))
  );
}

function doPorts(ports: string): PortRange[] {
  if (ports === 'all' || ports === '0' || ports === '') return ALL_PORTS;
  const [low, high] = ports.split('-').map(Number) as [number, number?];
  return [[low, high ?? low]];
}

/** Linode's rules in order, the first that matches deciding; the policy decides the rest. */
function linodeInbound(rules: FirewallRules): Inbound {
  return (source, protocol) => {
    let open: PortRange[] = rules.inbound_policy === 'ACCEPT' ? ALL_PORTS : [];
    // Applied last to first, so an earlier rule overrides a later one where they overlap.
    for (const rule of [...(rules.inbound ?? [])].reverse()) {
      // A rule without a protocol or action is one Linode would not have accepted: it matches nothing.
      if (!rule.action || !rule.protocol || (rule.protocol !== 'ALL' && rule.protocol.toLowerCase() !== protocol)) continue;
      if (!(rule.addresses?.ipv4 ?? []).some((cidr) => source.addresses.some((a) => inCidr(a, cidr)))) continue;
      const ports = linodePorts(rule.ports);
      open = rule.action === 'ACCEPT' ? merge([...open, ...ports]) : subtract(open, ports);
    }
    return open;
  };
}

function linodePorts(ports: string | null | undefined): PortRange[] {
  if (!ports) return ALL_PORTS;
  return ports.split(',').map((part) => {
    const [low, high] = part.trim().split('-').map(Number) as [number, number?];
    return [low, high ?? low];
  });
}

function merge(ranges: PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: PortRange[] = [];
  for (const [low, high] of sorted) {
    const last = out[out.length - 1];
    if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else out.push([low, high]);
  }
  return out;
}

function subtract(ranges: PortRange[], removed: PortRange[]): PortRange[] {
  let out = ranges;
  for (const [low, high] of removed) {
    out = out.flatMap(([a, b]): PortRange[] => {
      if (high < a || low > b) return [[a, b]];
      const kept: PortRange[] = [];
      if (a < low) kept.push([a, low - 1]);
      if (high < b) kept.push([high + 1, b]);
      return kept;
    });
  }
  return out;
}

function inCidr(address: string, cidr: string): boolean {
  const [base, bits = '32'] = cidr.split('/');
  const prefix = Number(bits);
  if (!base || !/^\d+\.\d+\.\d+\.\d+$/.test(base) || !(prefix >= 0 && prefix <= 32)) return false;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return (toNumber(address) & mask) >>> 0 === (toNumber(base) & mask) >>> 0;
}

function toNumber(address: string): number {
  return address.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);
}
