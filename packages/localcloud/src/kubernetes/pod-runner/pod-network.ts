// Pod addresses: each running pod gets an address of this machine of its own, which its containers
// listen on and its status reports as podIP, so EndpointSlices list addresses that really answer.
//
// Not 127.x like droplets: the API server refuses an EndpointSlice (and an Endpoints) whose address
// is loopback, link-local or unspecified (ValidateNonSpecialIP), so the endpoint controllers could
// list none of them. Pods take addresses from 198.18.0.0/15 instead (RFC 2544's benchmarking block,
// never routed on the internet), two /24s per local cloud keyed to its host network N:
// 198.18.N.1-254 and 198.19.N.1-254. Each /24 is made local to the machine with one route,
// `local 198.18.N.0/24 dev lo table local` (the kernel then lets a process bind any address in it
// and delivers connections to it over loopback, as for 127.0.0.0/8), added when the first cluster
// starts and removed when the local cloud stops. A cloud holds its host network alone (network-claim.ts),
// so no two clouds share these blocks.
//
// Each pod also gets a host uid of its own, derived from its address: its processes can signal,
// trace or write to nothing of another pod or of the machine. Pod uids sit just above every
// cloud's droplet uids (uid-range.ts), 512 per host network.
//
// Which address belongs to which pod is kept in <kubernetes dir>/pod-addresses.json, so a cloud
// restarted gives each pod the address its status already shows and never hands it to another.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { checkHostNetwork, cloudUidRange, LAST_HOST_NETWORK } from '../../hosts/isolation/uid-range';

const SECOND_OCTETS = [18, 19];
const ADDRESSES_PER_BLOCK = 254;
/** First host uid of pods: the end of the last host network's droplet uids. */
export const POD_UIDS_FIRST = cloudUidRange(LAST_HOST_NETWORK).end;
const POD_UIDS_PER_NETWORK = SECOND_OCTETS.length * 256;

/** The /24 blocks pods of the cloud on `network` take their addresses from. */
export function podBlocks(network: number): string[] {
  checkHostNetwork(network);
  return SECOND_OCTETS.map((second) => `198.${second}.${network}.0/24`);
}

/** The host uid (and gid) a pod's processes run as, from its address. */
export function podUid(network: number, address: string): number {
  const [first, second, third, fourth] = address.split('.').map(Number);
  const block = SECOND_OCTETS.indexOf(second as number);
  if (first !== 198 || block === -1 || third !== network || !(fourth! >= 1 && fourth! <= ADDRESSES_PER_BLOCK))
    throw new Error(`${address} is not a pod address of host network ${network}`);
  return POD_UIDS_FIRST + (network - 1) * POD_UIDS_PER_NETWORK + block * 256 + fourth!;
}

/** Runs `ip` with the arguments; an error names the command and what it said. */
function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('ip', args, { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(new Error('iproute2 (ip) is not installed; pods need it for their addresses: run `bash scripts/host-packages.sh`'));
      reject(new Error(`ip ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
    }),
  );
}

export class PodNetwork {
  /** address -> owner (`<cluster id>/<pod uid>`). */
  private readonly owners = new Map<string, string>();
  private routed?: Promise<void>;
  /** Where the next search for a free address starts: addresses are reused as late as possible. */
  private cursor = 0;

  constructor(
    readonly network: number,
    private readonly file: string,
  ) {
    checkHostNetwork(network);
    if (existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      // A cloud started again on another host network (one without droplet hosts remembers none)
      // cannot give its pods their old addresses: they get new ones.
      for (const [address, owner] of Object.entries(saved)) if (this.isPodAddress(address)) this.owners.set(address, owner);
    }
  }

  /** Makes the blocks local to the machine (once; `ip route replace` also takes over a route a killed cloud left). */
  ensureRoutes(): Promise<void> {
    if (!this.routed) {
      const attempt = (async () => {
        for (const block of podBlocks(this.network)) await ip(['route', 'replace', 'local', block, 'dev', 'lo', 'table', 'local']);
      })();
      this.routed = attempt;
      attempt.catch(() => {
        if (this.routed === attempt) this.routed = undefined; // tried again for the next pod
      });
    }
    return this.routed;
  }

  /** Removes the routes (the cloud stops: none of its pods runs any more). */
  async removeRoutes(): Promise<void> {
    if (!this.routed) return;
    this.routed = undefined;
    for (const block of podBlocks(this.network))
      await ip(['route', 'del', 'local', block, 'dev', 'lo', 'table', 'local']).catch(() => undefined); // already gone
  }

  /** The owner's address: the one it had (`previous`, when it is still free or its own), else a free one. */
  take(owner: string, previous?: string): string {
    for (const [address, holder] of this.owners) if (holder === owner) return address;
    if (previous && this.isPodAddress(previous) && !this.owners.has(previous)) return this.hold(previous, owner);
    const all = this.allAddresses();
    for (let i = 0; i < all.length; i++) {
      const address = all[(this.cursor + i) % all.length]!;
      if (this.owners.has(address)) continue;
      this.cursor = (this.cursor + i + 1) % all.length;
      return this.hold(address, owner);
    }
    throw new Error(`all ${all.length} pod addresses of this local cloud (${podBlocks(this.network).join(', ')}) are in use`);
  }

  release(owner: string): void {
    let changed = false;
    for (const [address, holder] of this.owners)
      if (holder === owner) {
        this.owners.delete(address);
        changed = true;
      }
    if (changed) this.save();
  }

  /** Releases every address whose owner starts with `prefix` (a deleted cluster's pods). */
  releaseAll(prefix: string): void {
    const before = this.owners.size;
    for (const [address, holder] of this.owners) if (holder.startsWith(prefix)) this.owners.delete(address);
    if (this.owners.size !== before) this.save();
  }

  /** Owners holding an address, for a runner that compares them with the pods it finds. */
  ownersWith(prefix: string): string[] {
    return [...this.owners.values()].filter((owner) => owner.startsWith(prefix));
  }

  uidOf(address: string): number {
    return podUid(this.network, address);
  }

  isPodAddress(address: string): boolean {
    try {
      podUid(this.network, address);
      return true;
    } catch {
      return false;
    }
  }

  private hold(address: string, owner: string): string {
    this.owners.set(address, owner);
    this.save();
    return address;
  }

  private allAddresses(): string[] {
    return SECOND_OCTETS.flatMap((second) =>
      Array.from({ length: ADDRESSES_PER_BLOCK }, (_, i) => `198.${second}.${this.network}.${i + 1}`),
    );
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.owners)), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
