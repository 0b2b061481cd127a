// Starting a local cloud for a test, and waiting on its actions as a client would.
import { existsSync } from 'node:fs';
import { HostNetworkClaim, HostNetworkInUse, LocalCloud, rememberedNetworkFile, type LocalCloudOptions } from '@opsflow/localcloud';
import { ContractClient } from './do-api';
import { tempDir } from './temp';

// Each local cloud a test starts gets its own 127.N.0.0/16 for its droplets (and with it its own
// host uids and nftables table): test files run in parallel, and two clouds must never share one.
// The formula spreads the first choice; a network another cloud holds is refused and the next taken.
const TEST_NETWORKS = 148;
let nextNetwork = 0;
function uniqueHostNetwork(): number {
  // The process id spreads concurrent jest runs (several engineers on one machine) apart too.
  const worker = Number(process.env.JEST_WORKER_ID ?? 1);
  return 101 + ((process.pid * 7 + worker * 37 + nextNetwork++) % TEST_NETWORKS);
}

/** Tries `start` on this worker's next networks until one is free on the machine. */
async function onFreeNetwork<T>(start: (network: number) => Promise<T>): Promise<T> {
  for (let tried = 0; tried < TEST_NETWORKS; tried++) {
    try {
      return await start(uniqueHostNetwork());
    } catch (error) {
      if (!(error instanceof HostNetworkInUse)) throw error;
    }
  }
  throw new Error(`every host network from 101 to ${100 + TEST_NETWORKS} is held by a running local cloud`);
}

/** A host network no local cloud on the machine holds, held for a test that makes droplet sandboxes itself. */
export function claimFreeHostNetwork(): Promise<HostNetworkClaim> {
  return onFreeNetwork((network) => HostNetworkClaim.take(network));
}

export async function startLocalCloud(
  options: Partial<LocalCloudOptions> = {},
): Promise<{ cloud: LocalCloud; api: ContractClient; stateDir: string }> {
  const stateDir = options.stateDir ?? tempDir('localcloud');
  // A restart on a state folder takes the network it remembers: its droplets keep their addresses.
  const cloud =
    options.hostNetwork !== undefined || existsSync(rememberedNetworkFile(stateDir))
      ? await LocalCloud.start({ ...options, stateDir })
      : await onFreeNetwork((hostNetwork) => LocalCloud.start({ ...options, hostNetwork, stateDir }));
  return { cloud, api: new ContractClient(cloud.apiUrl, cloud.token), stateDir };
}

// The timeout is generous: the machine is shared and loaded, and an action held by a fault waits.
export async function waitForAction(api: ContractClient, actionId: number, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api.call<{ action: { status: string } }>('GET', `/v2/actions/${actionId}`);
    if (body.action.status !== 'in-progress') return body.action.status;
    if (Date.now() > deadline) throw new Error(`action ${actionId} still in progress after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
