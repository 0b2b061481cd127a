// What a droplet may connect to. Droplets share the machine's network (their addresses are
// loopback addresses, 127.N.x.y), so the line is drawn by owner: a socket whose owner is in the
// droplets' uid range (uid-range.ts) may reach other droplets' addresses and, on the machine's
// own 127.0.0.1, only the ports a local cloud opened to them (its API, Spaces). Everything else on
// 127.0.0.1 (Temporal's frontend and Web UI, the worker's metrics, whatever a test starts), the
// well-known worker ports on any address, IPv6 and anything off the machine are refused.
// One nftables table for the machine, shared by every local cloud running on it.
import { execFile } from 'node:child_process';
import { DROPLET_UIDS_FIRST, DROPLET_UIDS_SPAN } from './uid-range';

const TABLE = 'inet opsflow_droplets';
/** Temporal's frontend and Web UI, the worker's metrics: refused on every address, in case one listens on 0.0.0.0. */
export const WORKER_PORTS = [7233, 8233, 9464];
/** An opened port lasts this long unless its local cloud renews it: a crashed cloud's ports close by themselves. */
const LEASE = '5m';
const RENEW_MS = 60_000;

function ruleset(): string {
  const droplets = `${DROPLET_UIDS_FIRST}-${DROPLET_UIDS_FIRST + DROPLET_UIDS_SPAN - 1}`;
  // Droplet sockets jump to their own chain; a packet with no socket (a reset the rules send
  // back) does not match the uid at all and passes. Only connections a droplet opens are judged:
  // its servers answer anyone who reached them (psql on the machine to the droplet's PostgreSQL).
  return `add table ${TABLE}
add set ${TABLE} cloud_ports { type inet_service; flags timeout; }
add chain ${TABLE} output { type filter hook output priority filter; policy accept; }
add chain ${TABLE} droplet
flush chain ${TABLE} output
flush chain ${TABLE} droplet
add rule ${TABLE} output meta skuid ${droplets} jump droplet
add rule ${TABLE} droplet ct state established,related accept
add rule ${TABLE} droplet ip daddr 127.0.0.1 tcp dport @cloud_ports accept
add rule ${TABLE} droplet ip daddr 127.0.0.0/8 tcp dport { ${WORKER_PORTS.join(', ')} } reject with tcp reset
add rule ${TABLE} droplet ip daddr 127.0.0.1 meta l4proto tcp reject with tcp reset
add rule ${TABLE} droplet ip daddr 127.0.0.1 reject
add rule ${TABLE} droplet ip daddr 127.0.0.0/8 accept
add rule ${TABLE} droplet meta l4proto tcp reject with tcp reset
add rule ${TABLE} droplet reject
`;
}

/** Runs an nft script from stdin. */
function nftScript(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', ['-f', '-'], { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new Error('nftables (nft) is not installed; droplet hosts need it to keep droplets off the machine\'s services: run `bash scripts/host-packages.sh` (apt-get install nftables)'));
      }
      reject(new Error(`nft refused the droplet network policy: ${stderr.trim() || error.message}`));
    });
    child.stdin!.end(script);
  });
}
export class DropletNetworkPolicy {
  private readonly ports = new Set<number>();
  private timer?: NodeJS.Timeout;

  /** Installs (or reinstalls, unchanged) the machine's droplet rules. */
  static async install(): Promise<DropletNetworkPolicy> {
    await nftScript(ruleset());
    return new DropletNetworkPolicy();
  }

  /** Opens 127.0.0.1:<port> to droplets (this local cloud's API or Spaces) until close(). */
  async open(port: number): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not a TCP port`);
    this.ports.add(port);
    await this.renew();
    this.timer ??= setInterval(() => void this.renew().catch(() => undefined), RENEW_MS).unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const ports = [...this.ports];
    this.ports.clear();
    // Added first so the delete never fails on a port whose lease ran out meanwhile.
    if (ports.length > 0) await nftScript(ports.map((port) => `add element ${TABLE} cloud_ports { ${port} timeout 1s }\ndelete element ${TABLE} cloud_ports { ${port} }\n`).join(''));
  }

  private async renew(): Promise<void> {
    if (this.ports.size > 0) await nftScript([...this.ports].map((port) => refresh(port, LEASE)).join(''));
  }
}

/** Sets a port's lease, whether or not it is in the set now (add, delete, add: one transaction). */
function refresh(port: number, lease: string): string {
  return `add element ${TABLE} cloud_ports { ${port} timeout 1s }\ndelete element ${TABLE} cloud_ports { ${port} }\nadd element ${TABLE} cloud_ports { ${port} timeout ${lease} }\n`;
}
