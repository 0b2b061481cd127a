// Starting a local cloud for a test, and waiting on its actions as a client would.
import { LocalCloud, type LocalCloudOptions } from '@opsflow/localcloud';
import { ContractClient } from './do-api';
import { tempDir } from './temp';

// Each local cloud a test starts gets its own 127.N.0.0/16 for its droplets: test files run in
// parallel, and two clouds must never bind the same droplet address.
let nextNetwork = 0;
function uniqueHostNetwork(): number {
  // The process id spreads concurrent jest runs (several engineers on one machine) apart too.
  const worker = Number(process.env.JEST_WORKER_ID ?? 1);
  return 101 + ((process.pid * 7 + worker * 37 + nextNetwork++) % 148);
}

export async function startLocalCloud(options: Partial<LocalCloudOptions> = {}): Promise<{ cloud: LocalCloud; api: ContractClient; stateDir: string }> {
  const stateDir = options.stateDir ?? tempDir('localcloud');
  const cloud = await LocalCloud.start({ hostNetwork: uniqueHostNetwork(), ...options, stateDir });
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
