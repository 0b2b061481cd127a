// One running local cloud per host network (127.N.x.y) on a machine. The network decides a cloud's
// droplet addresses, its block of host uids (uid-range.ts) and its nftables table
// (network-policy.ts), so two clouds on one network would bind the same addresses and share uids.
// The claim is an abstract unix socket named after the network: the kernel lets one process bind
// it, and frees it when that process ends however it ends, so no claim is ever left stale.
//
// Which network a cloud takes (claimHostNetwork): the one it is given, else the one its state folder
// remembers (its droplets were made with those addresses), else the default, else the next free one;
// the choice is remembered in the state folder so the droplets keep their addresses across restarts.
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { FIRST_HOST_NETWORK, LAST_HOST_NETWORK, checkHostNetwork } from './uid-range';

const socketName = (network: number) => `\0opsflow-localcloud-network-${network}`;

export class HostNetworkInUse extends Error {
  constructor(
    readonly network: number,
    readonly holder: string,
    advice = 'stop it, or start this one on another network (OPSFLOW_LOCALCLOUD_HOST_NETWORK, 1 to 254)',
  ) {
    super(
      `host network ${network} (droplet addresses 127.${network}.x.y) is in use by another local cloud on this machine (${holder}): ${advice}`,
    );
    this.name = 'HostNetworkInUse';
  }
}

export class HostNetworkClaim {
  private constructor(
    readonly network: number,
    private readonly server: net.Server,
  ) {}

  /**
   * Claims `network` for this process, or throws HostNetworkInUse naming the process that has it.
   * A `sweep` claim is held for a moment only (to delete an abandoned table: network-policy.ts):
   * a cloud that meets one waits for it to end instead of being refused.
   */
  static async take(network: number, purpose: 'cloud' | 'sweep' = 'cloud'): Promise<HostNetworkClaim> {
    checkHostNetwork(network);
    for (let attempt = 0; ; attempt++) {
      // Whoever connects learns who holds the network, for the error message above. One that hung
      // up before the answer (EPIPE) must not take this process down with an unhandled error.
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.end(`pid ${process.pid}${purpose === 'sweep' ? ' sweeping' : ''}`);
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(socketName(network), () => resolve());
        });
        server.unref(); // the claim alone never keeps the process running
        return new HostNetworkClaim(network, server);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        const holder = await holderOf(network);
        if (purpose === 'sweep' || !holder.endsWith(' sweeping') || attempt === 100) throw new HostNetworkInUse(network, holder);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  async release(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function holderOf(network: number): Promise<string> {
  return new Promise((resolve) => {
    let said = '';
    const socket = net.connect(socketName(network));
    const timer = setTimeout(() => socket.destroy(), 2_000);
    socket.on('data', (chunk: Buffer) => (said += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(/^pid \d+( sweeping)?$/.test(said) ? said : 'a process that does not say which');
    });
  });
}

/** The network a cloud starts on when nothing decides otherwise (127.100.x.y). */
export const DEFAULT_HOST_NETWORK = 100;

export interface ChosenHostNetwork {
  network: number;
  /** Why this one: said by `opsflow localcloud start` and `opsflow up`. */
  how: 'given' | 'remembered' | 'default' | 'next free';
  /** Held while the cloud runs (absent for a cloud without droplet hosts). */
  claim?: HostNetworkClaim;
  /** The file in the state folder that remembers it. */
  file: string;
}

/** The state folder's note of its droplets' network. */
export const rememberedNetworkFile = (stateDir: string) => path.join(stateDir, 'host-network');

export function rememberedHostNetwork(stateDir: string): number | undefined {
  const file = rememberedNetworkFile(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const network = Number(text);
  if (!/^\d+$/.test(text) || network < FIRST_HOST_NETWORK || network > LAST_HOST_NETWORK)
    throw new Error(
      `${file} should hold the host network this state folder's droplets use (${FIRST_HOST_NETWORK} to ${LAST_HOST_NETWORK}), not ${JSON.stringify(text)}: fix or remove it`,
    );
  return network;
}

/** Every network in the order a cloud without one of its own tries them: the default first. */
function candidates(): number[] {
  const all = Array.from({ length: LAST_HOST_NETWORK - FIRST_HOST_NETWORK + 1 }, (_, i) => FIRST_HOST_NETWORK + i);
  return [...all.filter((n) => n >= DEFAULT_HOST_NETWORK), ...all.filter((n) => n < DEFAULT_HOST_NETWORK)];
}

/**
 * Takes this state folder's host network: `given` (OPSFLOW_LOCALCLOUD_HOST_NETWORK), else the one it
 * remembers, else the default or, when another cloud holds it, the next free one; and remembers it.
 * A given network other than the remembered one is refused: the droplets would change addresses.
 * `claim: false` (a cloud without droplet hosts) claims nothing and writes nothing.
 */
export async function claimHostNetwork(
  stateDir: string,
  given: number | undefined,
  options: { claim: boolean },
): Promise<ChosenHostNetwork> {
  const file = rememberedNetworkFile(stateDir);
  const remembered = rememberedHostNetwork(stateDir);
  if (given !== undefined) checkHostNetwork(given);
  if (given !== undefined && remembered !== undefined && given !== remembered)
    throw new Error(
      `this state folder (${stateDir}) keeps its droplets on host network ${remembered} (127.${remembered}.x.y, remembered in ${file}), ` +
        `not ${given}: start it without OPSFLOW_LOCALCLOUD_HOST_NETWORK (or with ${remembered}), or use another state folder`,
    );
  const fixed = given ?? remembered;
  const how = given !== undefined ? 'given' : 'remembered';
  if (!options.claim) return { network: fixed ?? DEFAULT_HOST_NETWORK, how: fixed === undefined ? 'default' : how, file };
  if (fixed !== undefined) {
    const claim = await HostNetworkClaim.take(fixed).catch((error: unknown) => {
      if (error instanceof HostNetworkInUse && how === 'remembered')
        throw new HostNetworkInUse(
          fixed,
          error.holder,
          `this state folder's droplets live there (remembered in ${file}): stop that cloud, or start this one with another state folder`,
        );
      throw error;
    });
    writeFileSync(file, `${fixed}\n`, { mode: 0o600 });
    return { network: fixed, how, claim, file };
  }
  const held: string[] = [];
  for (const network of candidates()) {
    try {
      const claim = await HostNetworkClaim.take(network);
      writeFileSync(file, `${network}\n`, { mode: 0o600 });
      return { network, how: network === DEFAULT_HOST_NETWORK ? 'default' : 'next free', claim, file };
    } catch (error) {
      if (!(error instanceof HostNetworkInUse)) throw error;
      if (held.length < 3) held.push(`${network} (${error.holder})`);
    }
  }
  throw new Error(
    `every host network from ${FIRST_HOST_NETWORK} to ${LAST_HOST_NETWORK} is held by another local cloud (${held.join(', ')}, ...)`,
  );
}
