// Each droplet's users are host users of a range of their own: root in the droplet is host uid
// <base>, postgres (uid 104 inside) is <base + 104>. So a droplet process is never the machine's
// root or any machine account: it cannot read the machine's root-only files, signal or inspect
// its processes, and the network policy can tell its sockets apart by owner.
import { lchownSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Users and groups each droplet gets: the whole 16-bit range, as a container usually has. */
export const UIDS_PER_DROPLET = 65536;
/** First host uid given to droplets; every droplet range lies in [FIRST, FIRST + SPAN). */
export const DROPLET_UIDS_FIRST = 0x10000000;
const SLOTS = 4096;
export const DROPLET_UIDS_SPAN = SLOTS * UIDS_PER_DROPLET;

/** The host uid (and gid) that is root inside the droplet. */
export function dropletUidBase(dropletId: number): number {
  if (!Number.isSafeInteger(dropletId) || dropletId < 0) throw new Error(`droplet id ${dropletId} is not a non-negative integer`);
  return DROPLET_UIDS_FIRST + (dropletId % SLOTS) * UIDS_PER_DROPLET;
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
      lchownSync(entry, inRange(st.uid, base) ? st.uid : hostId(base, st.uid % UIDS_PER_DROPLET), inRange(st.gid, base) ? st.gid : hostId(base, st.gid % UIDS_PER_DROPLET));
      changed++;
    }
  };
  walk(top);
  return changed;
}

function inRange(id: number, base: number): boolean {
  return id >= base && id < base + UIDS_PER_DROPLET;
}
