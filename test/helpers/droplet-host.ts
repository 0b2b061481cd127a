// A droplet that is a real host: created through the API with a key, waited on until it answers
// SSH, and an ssh2 connection to it.
import { Client } from 'ssh2';
import { type LocalCloud, fingerprintOf, sha256Fingerprint } from '@opsflow/localcloud';
import type { ContractClient } from './do-api';
import { waitForAction } from './localcloud';

export interface TestDroplet {
  id: number;
  address: string;
  port: number;
  region: string;
}

export async function registerKey(api: ContractClient, name: string, publicKey: string): Promise<number> {
  const { status, body } = await api.call<{ ssh_key: { id: number } }>('POST', '/v2/account/keys', { name, public_key: publicKey });
  if (status !== 201) throw new Error(`registering ${name} failed: ${status}`);
  return body.ssh_key.id;
}

export async function createHostDroplet(
  cloud: LocalCloud,
  api: ContractClient,
  name: string,
  keyIds: number[],
  region = 'nyc3',
): Promise<TestDroplet> {
  const { status, body } = await api.call<{ droplet: { id: number }; links: { actions: { id: number }[] } }>('POST', '/v2/droplets', {
    name,
    region,
    size: 's-1vcpu-1gb',
    image: 'debian-12-x64',
    ssh_keys: keyIds,
  });
  if (status !== 202) throw new Error(`creating ${name} failed: ${status} ${JSON.stringify(body)}`);
  await waitForAction(api, body.links.actions[0]!.id);
  if (!(await cloud.hosts!.ready(body.droplet.id))) throw new Error(`droplet ${name}'s host did not start`);
  const record = cloud.ctx.store.state.internal.hosts[body.droplet.id]!;
  return { id: body.droplet.id, address: record.address, port: record.sshPort, region };
}

/** Connects as root; resolves with the client and the host key fingerprint it saw. */
export function connect(droplet: TestDroplet, privateKey: string, readyTimeout = 10_000): Promise<{ client: Client; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let fingerprint = '';
    client
      .on('ready', () => resolve({ client, fingerprint }))
      .on('error', reject)
      .connect({
        host: droplet.address,
        port: droplet.port,
        username: 'root',
        privateKey,
        readyTimeout,
        hostVerifier: (key: Buffer) => {
          fingerprint = sha256Fingerprint(key);
          return true;
        },
      });
  });
}

export interface ExecResult {
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** Runs a command; `during` gets the channel once it is open (to send signals). */
export function exec(client: Client, command: string, during?: (channel: import('ssh2').ClientChannel) => void): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      let signal: string | undefined;
      channel.on('data', (d: Buffer) => (stdout += d.toString()));
      channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      channel.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s;
      });
      channel.on('close', () => resolve({ code, signal, stdout, stderr }));
      during?.(channel);
    });
  });
}

export { fingerprintOf };
