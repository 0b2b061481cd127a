// One running local cloud per host network (127.N.x.y) on a machine. The network decides a cloud's
// droplet addresses, its block of host uids (uid-range.ts) and its nftables table
// (network-policy.ts), so two clouds on one network would bind the same addresses and share uids.
// The claim is an abstract unix socket named after the network: the kernel lets one process bind
// it, and frees it when that process ends however it ends, so no claim is ever left stale.
import net from 'node:net';
import { checkHostNetwork } from './uid-range';

const socketName = (network: number) => `\0opsflow-localcloud-network-${network}`;

export class HostNetworkInUse extends Error {
  constructor(
    readonly network: number,
    holder: string,
  ) {
    super(
      `host network ${network} (droplet addresses 127.${network}.x.y) is in use by another local cloud on this machine (${holder}): ` +
        'stop it, or start this one on another network (OPSFLOW_LOCALCLOUD_HOST_NETWORK, 1 to 254)',
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
      // Whoever connects learns who holds the network, for the error message above.
      const server = net.createServer((socket) => socket.end(`pid ${process.pid}${purpose === 'sweep' ? ' sweeping' : ''}`));
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
