// What a droplet may connect to, as on a real cloud: the other droplets, the cloud API and Spaces,
// nothing of the machine. Droplets share the machine's network (their addresses are loopback
// addresses, 127.N.x.y), so the line is drawn by owner: a socket whose owner is in the cloud's
// droplet uid range (uid-range.ts) may open connections to
//   - its cloud's droplet addresses (127.N.0.0/16), its own among them, but only to a socket bound
//     to such an address: a machine service bound to 0.0.0.0 answers on every 127.x address, so a
//     connection that would land on a wildcard socket is refused where it arrives (input hook,
//     `socket wildcard`, the kernel's own lookup of the socket it would reach);
//   - the exact address:port of its local cloud's API and Spaces (cloud_endpoints, opened by open());
//   - its own loopback: a connection it opens to anything else of 127.0.0.0/8 (127.0.0.1, localhost)
//     goes to its loopback address (droplet-loopback.ts; destination NAT by the socket's uid, map
//     droplet_loopback, fixed for every uid slot of the cloud), marked so; a connection to a
//     loopback address without that mark (the machine's, another droplet's) is refused there;
// and nothing else: the machine's 127.0.0.1 and the rest of 127/8 (Temporal's frontend and Web UI,
// the worker's metrics, PostgreSQL, MariaDB, Redis, RabbitMQ, whatever a test starts: the droplet's
// 127.0.0.1 is its own loopback, where none of them is), IPv6, anything off the machine. Refusals
// are resets or ICMP errors, never silent drops, so a tool fails at once.
// Only connections a droplet opens are judged, and those to a droplet's loopback: its servers on
// its public address answer anyone who reached them (psql on the machine to the droplet's
// PostgreSQL, the worker's SSH), and packets of connections the machine opened pass both ways.
// Cloud firewalls hold between droplets: a new TCP or UDP connection a droplet opens to the address
// of a droplet that a firewall covers (set firewalled) passes only if its owner, the address and
// the port are in firewall_allow (cloud-firewalls.ts computes both; applyFirewalls() replaces them
// whole after every change), else it is reset or refused. Connections already open stay open.
// Reserved IPs reach their droplet as on DigitalOcean: a connection to an assigned reserved IP, from
// the machine or a droplet, is sent to the droplet's address (destination NAT on the way out, by
// the map reserved_ips, which routeReservedIps() replaces whole after every change).
// One nftables table per local cloud, named after its host network (which one running cloud holds
// at a time: network-claim.ts) and matching only its own uid block: a cloud installs, changes and
// deletes its own table and never touches another's.
import { execFile, execFileSync } from 'node:child_process';
import net from 'node:net';
import type { FirewallElements } from './cloud-firewalls';
import { dropletLoopbackAddress, loopbackRange } from './droplet-loopback';
import { HostNetworkClaim } from './network-claim';
import { cloudUidRange, dropletUidBase, SLOTS_PER_CLOUD, UIDS_PER_DROPLET } from './uid-range';

/** The table of the cloud on `network`. */
export const policyTable = (network: number) => `inet opsflow_droplets_${network}`;
/**
 * Conntrack mark bit of a connection a droplet opened to a droplet address, set on the way out and
 * read on the way in (the same connection on loopback). Every cloud's table uses the same bit for
 * the same meaning, so their rules never disagree about a connection.
 */
export const DROPLET_CONNECTION_MARK = 0x00d50000;
/** Conntrack mark bit of a connection sent to a droplet's loopback by the rule that picks its own: the only way in. */
export const DROPLET_LOOPBACK_MARK = 0x2a000000;
/** An opened endpoint lasts this long unless its local cloud renews it: a crashed cloud's endpoints close by themselves. */
const LEASE = '5m';
const RENEW_MS = 60_000;

function ruleset(network: number): string {
  const table = policyTable(network);
  const range = cloudUidRange(network);
  const droplets = `${range.first}-${range.end - 1}`;
  const mark = `0x${DROPLET_CONNECTION_MARK.toString(16).padStart(8, '0')}`;
  const marked = `ct mark & ${mark} == ${mark} ct state new`;
  const loopbackMark = `0x${DROPLET_LOOPBACK_MARK.toString(16).padStart(8, '0')}`;
  const unsent = `ip daddr ${loopbackRange(network)} ct state new ct mark & ${loopbackMark} != ${loopbackMark}`;
  const loopbacks = Array.from({ length: SLOTS_PER_CLOUD }, (_, slot) => {
    const base = dropletUidBase(network, slot);
    return `${base}-${base + UIDS_PER_DROPLET - 1} : ${dropletLoopbackAddress(network, slot)}`;
  }).join(', ');
  const machineLoopback = `meta skuid ${droplets} ip daddr 127.0.0.0/8 ip daddr != 127.${network}.0.0/16`;
  // Droplet sockets jump to their own chain; a packet with no socket (a reset the rules send
  // back) does not match the uid at all and passes.
  // Added, deleted and made anew in one transaction: what a crashed cloud on this network left
  // (its endpoints, older rules) goes, and no packet ever sees the table half made.
  return `add table ${table}
delete table ${table}
add table ${table}
add set ${table} cloud_endpoints { type ipv4_addr . inet_service; flags timeout; }
add chain ${table} output { type filter hook output priority filter; policy accept; }
add chain ${table} input { type filter hook input priority filter; policy accept; }
add chain ${table} droplet
add set ${table} firewalled { type ipv4_addr; }
add set ${table} firewall_allow { typeof meta skuid . ip daddr . meta l4proto . th dport; flags interval; }
add map ${table} reserved_ips { type ipv4_addr : ipv4_addr; }
add chain ${table} reserved_nat { type nat hook output priority -100; policy accept; }
add rule ${table} reserved_nat dnat ip to ip daddr map @reserved_ips
add map ${table} droplet_loopback { type uid : ipv4_addr; flags interval; elements = { ${loopbacks} } }
add chain ${table} loopback_nat { type nat hook output priority -100; policy accept; }
add rule ${table} loopback_nat ${machineLoopback} ip daddr . tcp dport @cloud_endpoints return
add rule ${table} loopback_nat ${machineLoopback} ct mark set ct mark | ${loopbackMark} dnat ip to meta skuid map @droplet_loopback
add rule ${table} output meta skuid ${droplets} jump droplet
add rule ${table} droplet ct state established,related accept
add rule ${table} droplet ip daddr . tcp dport @cloud_endpoints accept
add rule ${table} droplet ip daddr @firewalled meta l4proto tcp meta skuid . ip daddr . meta l4proto . th dport != @firewall_allow reject with tcp reset
add rule ${table} droplet ip daddr @firewalled meta l4proto udp meta skuid . ip daddr . meta l4proto . th dport != @firewall_allow reject
add rule ${table} droplet ip daddr 127.${network}.0.0/16 ct mark set ct mark | ${mark} accept
add rule ${table} droplet meta l4proto tcp reject with tcp reset
add rule ${table} droplet reject
add rule ${table} input ${unsent} meta l4proto tcp reject with tcp reset
add rule ${table} input ${unsent} reject
add rule ${table} input ${marked} meta l4proto tcp socket wildcard 1 reject with tcp reset
add rule ${table} input ${marked} meta l4proto udp socket wildcard 1 reject
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
    // Generous: on a loaded machine, with other clouds' tables changing, a transaction can wait long.
    const child = execFile('nft', ['-f', '-'], { timeout: 120_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(
          new Error(
            "nftables (nft) is not installed; droplet hosts need it to keep droplets off the machine's services: run `bash scripts/host-packages.sh` (apt-get install nftables)",
          ),
        );
      }
      const why = error.killed ? 'no answer within 120 s' : stderr.trim() || error.message;
      reject(new Error(`nft refused the droplet network policy: ${why}`));
    });
    child.stdin!.end(script);
  });
}
export class DropletNetworkPolicy {
  /** Opened endpoints, as nft writes them: `127.0.0.1 . 8080`. */
  private readonly endpoints = new Set<string>();
  private timer?: NodeJS.Timeout;

  private constructor(private readonly network: number) {}

  /** Installs the rules of the cloud on `network` (the caller holds its claim), replacing any left there. */
  static async install(network: number): Promise<DropletNetworkPolicy> {
    await nftScript(ruleset(network));
    await removeAbandonedTables(network).catch(() => undefined); // tidiness only: an abandoned table matches no process
    return new DropletNetworkPolicy(network);
  }

  /** Opens <address>:<port> of the machine to droplets (this local cloud's API or Spaces) until close(). */
  async open(port: number, address = '127.0.0.1'): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not a TCP port`);
    // A server on every address (0.0.0.0) is reached by droplets at 127.0.0.1; nothing else of the machine is theirs.
    const reached = address === '0.0.0.0' ? '127.0.0.1' : address;
    if (net.isIPv4(reached) === false || !reached.startsWith('127.'))
      throw new Error(`${address} is not a loopback IPv4 address: droplets reach the machine only there`);
    this.endpoints.add(`${reached} . ${port}`);
    await this.renew();
    this.timer ??= setInterval(() => void this.renew().catch(() => undefined), RENEW_MS).unref();
  }

  /**
   * Sends each assigned reserved IP to its droplet's address (reserved IP -> droplet address),
   * replacing what was routed before. Synchronous, so the action that changed an assignment
   * completes only once its route is in place: whoever saw it complete can connect at once.
   */
  routeReservedIps(routes: Record<string, string>): void {
    const entries = Object.entries(routes);
    for (const address of entries.flat())
      if (!net.isIPv4(address) || !address.startsWith('127.')) throw new Error(`${address} is not a loopback IPv4 address`);
    const table = policyTable(this.network);
    const elements = entries.map(([reserved, droplet]) => `${reserved} : ${droplet}`).join(', ');
    const script = `flush map ${table} reserved_ips\n${elements ? `add element ${table} reserved_ips { ${elements} }\n` : ''}`;
    try {
      execFileSync('nft', ['-f', '-'], { input: script, timeout: 30_000, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`nft refused the reserved IP routes: ${stderr || (error as Error).message}`);
    }
  }

  /**
   * Replaces the firewalled addresses and what droplets may open to them (cloud-firewalls.ts).
   * Synchronous, like routeReservedIps: once the API call that changed a firewall answers, its
   * rules hold for the next connection.
   */
  applyFirewalls(elements: FirewallElements): void {
    for (const address of elements.firewalled) if (!net.isIPv4(address)) throw new Error(`${address} is not an IPv4 address`);
    const table = policyTable(this.network);
    const lines = [`flush set ${table} firewalled`, `flush set ${table} firewall_allow`];
    if (elements.firewalled.length > 0) lines.push(`add element ${table} firewalled { ${[...new Set(elements.firewalled)].join(', ')} }`);
    // In chunks: one very long line is slow for nft to parse and hard to read in an error.
    for (let i = 0; i < elements.allowed.length; i += 500)
      lines.push(`add element ${table} firewall_allow { ${elements.allowed.slice(i, i + 500).join(', ')} }`);
    try {
      execFileSync('nft', ['-f', '-'], { input: `${lines.join('\n')}\n`, timeout: 30_000, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`nft refused the cloud firewall rules: ${stderr || (error as Error).message}`);
    }
  }

  /** Removes this cloud's table, endpoints and rules (its droplets have stopped). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.endpoints.clear();
    // Added first so the delete never fails on a table that is already gone.
    await nftScript(`add table ${policyTable(this.network)}\ndelete table ${policyTable(this.network)}\n`);
  }

  private async renew(): Promise<void> {
    const table = policyTable(this.network);
    if (this.endpoints.size > 0) await nftScript([...this.endpoints].map((endpoint) => refresh(table, endpoint, LEASE)).join(''));
  }
}

/** Sets an endpoint's lease, whether or not it is in the set now (add, delete, add: one transaction). */
function refresh(table: string, endpoint: string, lease: string): string {
  const element = `add element ${table} cloud_endpoints { ${endpoint} timeout`;
  return `${element} 1s }\ndelete element ${table} cloud_endpoints { ${endpoint} }\n${element} ${lease} }\n`;
}
