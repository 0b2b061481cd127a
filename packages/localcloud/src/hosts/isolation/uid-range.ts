// Each droplet's users are host users of a range of their own: root in the droplet is host uid
// <base>, postgres (uid 104 inside) is <base + 104>. So a droplet process is never the machine's
// root or any machine account: it cannot read the machine's root-only files, signal or inspect
// its processes, and the network policy can tell its sockets apart by owner.
// Ranges are per local cloud as well as per droplet: a cloud owns the block of its host network
// (127.N.x.y, claimed by one running cloud at a time: network-claim.ts), and gives each of its
// droplets a slot of that block. Two clouds on one machine never share a uid, so nothing keyed
// by uid (signals, limits, the network policy, file ownership) can reach across them.
import { lchownSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Users and groups each droplet gets: the whole 16-bit range, as a container usually has. */
export const UIDS_PER_DROPLET = 65536;
/**
 * First host uid given to droplets. Above 0x20000000, where versions before per-cloud ranges put
 * every droplet (0x10000000 + (id % 4096) * 65536): a table or file they left matches none of these.
 */
export const DROPLET_UIDS_FIRST = 0x20000000;
/** Droplets one cloud can run as hosts at once (each needs a slot; a cloud's droplet limit is 25 by default). */
export const SLOTS_PER_CLOUD = 224;
/** Host networks a cloud may use: 127.1.x.y to 127.254.x.y (127.0 is the machine's own). */
export const FIRST_HOST_NETWORK = 1;
export const LAST_HOST_NETWORK = 254;
const UIDS_PER_CLOUD = SLOTS_PER_CLOUD * UIDS_PER_DROPLET;

export interface UidRange {
  first: number;
  /** Exclusive. */
  end: number;
}

export function checkHostNetwork(network: number): number {
  if (!Number.isInteger(network) || network < FIRST_HOST_NETWORK || network > LAST_HOST_NETWORK) {
    throw new Error(
      `host network ${network} is not a whole number from ${FIRST_HOST_NETWORK} to ${LAST_HOST_NETWORK} (the second octet of the droplets' 127.N.x.y addresses)`,
    );
  }
  return network;
}

/** Every host uid the droplets of the cloud on `network` may have. */
export function cloudUidRange(network: number): UidRange {
  const first = DROPLET_UIDS_FIRST + (checkHostNetwork(network) - FIRST_HOST_NETWORK) * UIDS_PER_CLOUD;
  return { first, end: first + UIDS_PER_CLOUD };
}

/** The host uid (and gid) that is root inside the droplet in `slot` of the cloud on `network`. */
export function dropletUidBase(network: number, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS_PER_CLOUD)
    throw new Error(`uid slot ${slot} is not from 0 to ${SLOTS_PER_CLOUD - 1}`);
  return cloudUidRange(network).first + slot * UIDS_PER_DROPLET;
}

/** The lowest slot none of `taken` holds; an error when a cloud already runs as many droplets as it has slots. */
export function freeUidSlot(taken: Iterable<number | undefined>): number {
  const used = new Set(taken);
  for (let slot = 0; slot < SLOTS_PER_CLOUD; slot++) if (!used.has(slot)) return slot;
  throw new Error(`every one of the ${SLOTS_PER_CLOUD} droplet uid ranges of this local cloud is in use: destroy a droplet first`);
}

/** The host id that stands for `id` inside a droplet whose root is `base`. */
export function hostId(base: number, id: number): number {
  return inRange(id, 0) ? base + id : base + 65534; // out of range: nobody
}

/**
 * Gives a tree to the droplet: every entry owned by a machine id (or another droplet's) becomes
 * the same id in this droplet's range. A tree already in the range is left as it is, so this is
 * cheap on every start after the first; it also moves a volume from one droplet to another.
 */
export function shiftOwnership(top: string, base: number): number {
  const stat = lstatSync(top, { throwIfNoEntry: false });
  if (!stat || inRange(stat.uid, base)) return 0;
  let changed = 0;
  const walk = (entry: string): void => {
    const st = lstatSync(entry, { throwIfNoEntry: false });
    if (!st) return;
    // lstat: a symlink is changed itself, never followed out of the tree.
    if (st.isDirectory()) for (const name of readdirSync(entry)) walk(path.join(entry, name));
    // Children first: the top is in the range only once everything below it is.
    if (!inRange(st.uid, base) || !inRange(st.gid, base)) {
      lchownSync(
        entry,
        inRange(st.uid, base) ? st.uid : hostId(base, st.uid % UIDS_PER_DROPLET),
        inRange(st.gid, base) ? st.gid : hostId(base, st.gid % UIDS_PER_DROPLET),
      );
      changed++;
    }
  };
  walk(top);
  return changed;
}

function inRange(id: number, base: number): boolean {
  return id >= base && id < base + UIDS_PER_DROPLET;
}
