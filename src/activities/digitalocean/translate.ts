// DigitalOcean shapes to neutral ones and back: where droplets' addresses are, where a volume
// appears on its droplet, how firewall rules are written.
import type { FirewallRule, Server } from '../../providers/cloud-provider';
import type { ApiDroplet, ApiFirewallRule } from '../../integrations/digitalocean/resources';

export function serverOf(droplet: ApiDroplet): Server {
  return {
    id: droplet.id,
    name: droplet.name,
    publicIp: droplet.networks.v4.find((n) => n.type === 'public')?.ip_address ?? '',
    privateIp: droplet.networks.v4.find((n) => n.type === 'private')?.ip_address ?? '',
  };
}

/** DigitalOcean's stable device path of an attached volume (by its name). */
export function volumeDevicePath(volumeName: string): string {
  return `/dev/disk/by-id/scsi-0DO_Volume_${volumeName}`;
}

const ANYWHERE = { addresses: ['0.0.0.0/0', '::/0'] };

export const inboundRules = (rules: FirewallRule[]): ApiFirewallRule[] =>
  rules.map((r) => ({ protocol: r.protocol, ports: r.ports, sources: { addresses: r.sources } }));

/** Servers may reach anything: the firewall guards what comes in. */
export const OPEN_OUTBOUND: ApiFirewallRule[] = [
  { protocol: 'tcp', ports: 'all', destinations: ANYWHERE },
  { protocol: 'udp', ports: 'all', destinations: ANYWHERE },
];
