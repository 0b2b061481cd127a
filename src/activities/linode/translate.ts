// Neutral shapes to Linode's and back: where an instance's addresses are, how firewall rules are
// written, which Linode plan and image a DigitalOcean-style size or image slug means (a spec may
// name either), and all pages of a list.
import { createHash } from 'node:crypto';
import type { Linode, ResourcePage, UpdateFirewallRules } from '@linode/api-v4';
import type { FirewallRule, Server } from '../../providers/cloud-provider';

export function serverOf(linode: Linode): Server {
  return {
    id: linode.id,
    name: linode.label,
    publicIp: linode.ipv4.find((ip) => !isPrivate(ip)) ?? '',
    privateIp: linode.ipv4.find(isPrivate) ?? '',
  };
}

/** Linode's private addresses are 192.168.128.0/17. */
const isPrivate = (ip: string) => /^192\.168\.(1(2[89]|[3-9]\d)|2[0-5]\d)\./.test(ip);

const SIZES: Record<string, string> = {
  's-1vcpu-1gb': 'g6-nanode-1',
  's-1vcpu-2gb': 'g6-standard-1',
  's-2vcpu-4gb': 'g6-standard-2',
  's-4vcpu-8gb': 'g6-standard-4',
};
const IMAGES: Record<string, string> = {
  'debian-12-x64': 'linode/debian12',
  'ubuntu-24-04-x64': 'linode/ubuntu24.04',
  'ubuntu-22-04-x64': 'linode/ubuntu22.04',
};

export const linodeType = (size: string) => SIZES[size] ?? size;
export const linodeImage = (image: string) => IMAGES[image] ?? image;

export function inboundRules(rules: FirewallRule[]): UpdateFirewallRules {
  return {
    // Closed but for what the rules open; servers may reach anything.
    inbound_policy: 'DROP',
    outbound_policy: 'ACCEPT',
    inbound: rules.map((r) => ({
      protocol: r.protocol.toUpperCase() as 'TCP' | 'UDP' | 'ICMP',
      ...(r.ports && r.ports !== 'all' ? { ports: r.ports } : {}),
      action: 'ACCEPT',
      addresses: { ipv4: r.sources.filter((s) => !s.includes(':')), ipv6: r.sources.filter((s) => s.includes(':')) },
    })),
  };
}

/** The fingerprint DigitalOcean shows for a key (MD5 of its blob), so the seam's fingerprints mean one thing. */
export function keyFingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}

/** Every item of a paginated list, Linode's largest page at a time. */
export async function allPages<T>(fetchPage: (params: { page: number; page_size: number }) => Promise<ResourcePage<T>>): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const result = await fetchPage({ page, page_size: 500 });
    items.push(...result.data);
    if (page >= result.pages) return items;
  }
}
