// A droplet's own loopback. Droplets share the machine's network, so 127.0.0.1 is the machine's,
// and a server a droplet binds there would answer every droplet and the machine. Each droplet
// gets an address of its own instead, 127.N.255.<uid slot + 1>: in its cloud's network and never
// a droplet's (third octet below 250), a reserved IP's (250-254) or the Cloudflare edge's
// (127.N.255.254). The network policy sends every connection a droplet opens to 127.0.0.0/8 there
// (network-policy.ts), and refuses any connection to it that did not come that way: what a
// container publishes on 127.0.0.1 listens on it, the droplet reaches it as 127.0.0.1 or
// localhost, and nothing else (the machine, another droplet) reaches it at all.
import { SLOTS_PER_CLOUD, checkHostNetwork } from './uid-range';

const LOOPBACK_OCTET = 255;

/** The loopback address of the droplet in uid slot `slot` of the cloud on `network`. */
export function dropletLoopbackAddress(network: number, slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS_PER_CLOUD)
    throw new Error(`uid slot ${slot} is not from 0 to ${SLOTS_PER_CLOUD - 1}`);
  return `127.${checkHostNetwork(network)}.${LOOPBACK_OCTET}.${slot + 1}`;
}

/** Every droplet loopback address of the cloud on `network`, as an nft range. */
export function loopbackRange(network: number): string {
  return `${dropletLoopbackAddress(network, 0)}-${dropletLoopbackAddress(network, SLOTS_PER_CLOUD - 1)}`;
}

/** Whether a compose `host_ip` means the droplet's loopback (127.0.0.0/8 or ::1). */
export function isLoopbackHostIp(hostIp: string): boolean {
  return hostIp === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostIp);
}
