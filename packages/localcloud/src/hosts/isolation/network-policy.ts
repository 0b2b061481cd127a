// What a droplet may connect to. Droplets share the machine's network (their addresses are
// loopback addresses, 127.N.x.y), so the line is drawn by owner: a socket whose owner is in the
// droplets' uid range (uid-range.ts) may reach other droplets' addresses and, on the machine's
// own 127.0.0.1, only the ports a local cloud opened to them (its API, Spaces). Everything else on
// 127.0.0.1 (Temporal's frontend and Web UI, the worker's metrics, whatever a test starts), the
// well-known worker ports on any address, IPv6 and anything off the machine are refused.
// One nftables table per local cloud, named after its host network (which one running cloud holds
// at a time: network-claim.ts) and matching only its own uid block: a cloud installs, changes and
// deletes its own table and never touches another's.
import { execFile } from 'node:child_process';
import { HostNetworkClaim } from './network-claim';
import { cloudUidRange } from './uid-range';

/** The table of the cloud on `network`. */
export const policyTable = (network: number) => `inet opsflow_droplets_${network}`;
/** Temporal's frontend and Web UI, the worker's metrics: refused on every address, in case one listens on 0.0.0.0. */
export const WORKER_PORTS = [7233, 8233, 9464];
/** An opened port lasts this long unless its local cloud renews it: a crashed cloud's ports close by themselves. */
const LEASE = '5m';
const RENEW_MS = 60_000;

function ruleset(network: number): string {
  const table = policyTable(network);
  const range = cloudUidRange(network);
  const droplets = `${range.first}-${range.end - 1}`;
  // Droplet sockets jump to their own chain; a packet with no socket (a reset the rules send
  // back) does not match the uid at all and passes. Only connections a droplet opens are judged:
  // its servers answer anyone who reached them (psql on the machine to the droplet's PostgreSQL).
  // Added, deleted and made anew in one transaction: what a crashed cloud on this network left
  // (its ports, older rules) goes, and no packet ever sees the table half made.
  return `add table ${table}
delete table ${table}
add table ${table}
add set ${table} cloud_ports { type inet_service; flags timeout; }
add chain ${table} output { type filter hook output priority filter; policy accept; }
add chain ${table} droplet
add rule ${table} output meta skuid ${droplets} jump droplet
add rule ${table} droplet ct state established,related accept
add rule ${table} droplet ip daddr 127.0.0.1 tcp dport @cloud_ports accept
add rule ${table} droplet ip daddr 127.0.0.0/8 tcp dport { ${WORKER_PORTS.join(', ')} } reject with tcp reset
add rule ${table} droplet ip daddr 127.0.0.1 meta l4proto tcp reject with tcp reset
add rule ${table} droplet ip daddr 127.0.0.1 reject
add rule ${table} droplet ip daddr 127.0.0.0/8 accept
add rule ${table} droplet meta l4proto tcp reject with tcp reset
add rule ${table} droplet reject
`;
}

/**
 * Deletes the tables of clouds that ended without removing theirs (killed): a table whose network
 * no running cloud holds. Its network is claimed while its table is deleted, so a cloud starting
 * there meanwhile cannot have its new table deleted: it waits for the sweep's claim to end.
 */
async function removeAbandonedTables(own: number): Promise<void> {
  const listed = await new Promise<string>((resolve, reject) =>
    execFile('nft', ['list', 'tables'], { timeout: 30_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  const networks = [...listed.matchAll(/^table inet opsflow_droplets_(\d+)$/gm)].map((m) => Number(m[1])).filter((n) => n !== own);
  for (const network of networks) {
    const claim = await HostNetworkClaim.take(network, 'sweep').catch(() => undefined); // held: that cloud runs
    if (!claim) continue;
    try {
      await nftScript(`add table ${policyTable(network)}\ndelete table ${policyTable(network)}\n`);
    } finally {
      await claim.release();
    }
  }
}

/** Runs an nft script from stdin. */
function nftScript(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', ['-f', '-'], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(
          new Error(
            "nftables (nft) is not installed; droplet hosts need it to keep droplets off the machine's services: run `bash scripts/host-packages.sh` (apt-get install nftables)",
          ),
        );
      }
      reject(new Error(`nft refused the droplet network policy: ${stderr.trim() || error.message}`));
    });
    child.stdin!.end(script);
  });
}
export class DropletNetworkPolicy {
  private readonly ports = new Set<number>();
  private timer?: NodeJS.Timeout;

  private constructor(private readonly network: number) {}

  /** Installs the rules of the cloud on `network` (the caller holds its claim), replacing any left there. */
  static async install(network: number): Promise<DropletNetworkPolicy> {
    await nftScript(ruleset(network));
    await removeAbandonedTables(network).catch(() => undefined); // tidiness only: an abandoned table matches no process
    return new DropletNetworkPolicy(network);
  }

  /** Opens 127.0.0.1:<port> to droplets (this local cloud's API or Spaces) until close(). */
  async open(port: number): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not a TCP port`);
    this.ports.add(port);
    await this.renew();
    this.timer ??= setInterval(() => void this.renew().catch(() => undefined), RENEW_MS).unref();
  }

  /** Removes this cloud's table, ports and rules (its droplets have stopped). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.ports.clear();
    // Added first so the delete never fails on a table that is already gone.
    await nftScript(`add table ${policyTable(this.network)}\ndelete table ${policyTable(this.network)}\n`);
  }

  private async renew(): Promise<void> {
    if (this.ports.size > 0) await nftScript([...this.ports].map((port) => refresh(policyTable(this.network), port, LEASE)).join(''));
  }
}

/** Sets a port's lease, whether or not it is in the set now (add, delete, add: one transaction). */
function refresh(table: string, port: number, lease: string): string {
  return `add element ${table} cloud_ports { ${port} timeout 1s }\ndelete element ${table} cloud_ports { ${port} }\nadd element ${table} cloud_ports { ${port} timeout ${lease} }\n`;
}
