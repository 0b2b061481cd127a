// `opsflow doctor`: a real diagnostic of everything a run depends on. Each check says ok, or what
// is wrong and how to fix it; nothing here prints a secret or a stack trace.
import { readFileSync } from 'node:fs';
import { utils as sshUtils } from 'ssh2';
import type { Client } from '@temporalio/client';
import { describeTarget, TemporalUnreachableError } from '../temporal/connection';
import { cliTypeName, OPS_SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { TASK_QUEUE } from '../temporal/task-queues';
import { configuredSshKeys } from '../ssh-keys';
import { connectClient, runCheckWorker, workerPollerCount } from './opsflow-client';
import { checkBearerToken } from './provider-check';
import { accountFromEnv, DigitalOceanClient } from '../integrations/digitalocean/client';
import { DigitalOceanApiError } from '../integrations/digitalocean/errors';
import { missingAccountMessage } from '../integrations/digitalocean/account';
import { recordedLocalCloudEnv } from '../devstack/recorded-stack';

export type CheckState = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  state: CheckState;
  detail: string;
}

export async function runDoctor(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult[]> {
  return [...(await temporalChecks(env)), ...(await providerChecks(env)), ...sshKeyChecks(env)];
}

async function temporalChecks(env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  let connected;
  try {
    connected = await connectClient(env, 3000);
    const info = await connected.client.workflowService.getSystemInfo({});
    const results: CheckResult[] = [
      { name: 'temporal', state: 'ok', detail: `reached ${describeTarget(connected.target)} (server ${info.serverVersion})` },
    ];
    results.push(await searchAttributeCheck(connected.client));
    const workers = await workerPollerCount(connected.client, TASK_QUEUE);
    if (workers === 0) {
      results.push({
        name: 'worker',
        state: 'fail',
        detail: `no worker polls task queue ${TASK_QUEUE}: start one with \`npm start\` or \`npm run worker\``,
      });
      return results;
    }
    results.push({ name: 'worker', state: 'ok', detail: `${workers} worker(s) polling task queue ${TASK_QUEUE}` });
    results.push(await roundTripCheck(connected.client));
    return results;
  } catch (err) {
    // connectClient's own error already names the address, where it came from, and how to change it.
    if (err instanceof TemporalUnreachableError) return [{ name: 'temporal', state: 'fail', detail: err.message }];
    const where = connected ? describeTarget(connected.target) : (env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233');
    return [
      {
        name: 'temporal',
        state: 'fail',
        detail: `cannot reach Temporal at ${where}: ${message(err)}. Start the local stack with \`npm start\`, or set TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY for your cluster`,
      },
    ];
  } finally {
    await connected?.connection.close();
  }
}

async function searchAttributeCheck(client: Client): Promise<CheckResult> {
  const response = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
  const registered = Object.keys(response.customAttributes ?? {});
  const missing = OPS_SEARCH_ATTRIBUTES.filter((k) => !registered.includes(k.name));
  if (missing.length === 0) return { name: 'search attributes', state: 'ok', detail: OPS_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ') };
  const add = missing.map((k) => `--name ${k.name} --type ${cliTypeName(k)}`).join(' ');
  return {
    name: 'search attributes',
    state: 'fail',
    detail: `missing ${missing.map((k) => k.name).join(', ')}: run \`temporal operator search-attribute create ${add}\``,
  };
}

async function roundTripCheck(client: Client): Promise<CheckResult> {
  try {
    const { workflowId, result } = await runCheckWorker(client, 15_000);
    return {
      name: 'worker round trip',
      state: 'ok',
      detail: `${workflowId} ran on ${result.hostname} (pid ${result.pid}, providers: ${result.providers.join(', ')})`,
    };
  } catch (err) {
    return { name: 'worker round trip', state: 'fail', detail: `checkWorker did not complete: ${message(err)}; see the worker's log` };
  }
}

async function providerChecks(env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const results = [await digitalOceanCheck(env)];
  if (env.LINODE_TOKEN) {
    const apiUrl = (env.LINODE_API_URL ?? 'https://api.linode.com').replace(/\/+$/, '');
    const check = await checkBearerToken(`${apiUrl}/v4/profile`, env.LINODE_TOKEN);
    const fix =
      !check.ok && check.fix === 'token' ? 'set LINODE_TOKEN to a valid personal access token' : 'check LINODE_API_URL and the network';
    results.push(
      check.ok
        ? { name: 'linode', state: 'ok', detail: `token accepted by ${apiUrl}` }
        : { name: 'linode', state: 'fail', detail: `${check.problem}; ${fix}` },
    );
  }
  return results;
}

/** GET /v2/account through the project's DigitalOcean client, as every activity will call it. */
async function digitalOceanCheck(env: NodeJS.ProcessEnv): Promise<CheckResult> {
  // The local cloud is checked like any endpoint: through DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN.
  // With neither variable set, the local cloud of the stack `opsflow up` is running, if any.
  const account = accountFromEnv(env) ?? accountFromEnv({ ...env, ...recordedLocalCloudEnv(env) });
  if (!account) return { name: 'digitalocean', state: 'fail', detail: missingAccountMessage(env) };
  const name = 'digitalocean';
  try {
    const info = await new DigitalOceanClient({ ...account, timeoutMs: 10_000 }).call('GET /v2/account', (lib) =>
      lib.account.getUserInformation(),
    );
    return {
      name,
      state: 'ok',
      detail: `token accepted by ${account.apiUrl} (account ${info.email}, droplet limit ${info.droplet_limit})`,
    };
  } catch (err) {
    if (err instanceof DigitalOceanApiError && err.kind === 'authentication') {
      return {
        name,
        state: 'fail',
        detail: `the token was refused (${err.status} Unauthorized); set DIGITALOCEAN_TOKEN to a valid personal access token`,
      };
    }
    return { name, state: 'fail', detail: `${message(err)}; check DIGITALOCEAN_API_URL and the network` };
  }
}

export function sshKeyChecks(env: NodeJS.ProcessEnv): CheckResult[] {
  let keys;
  try {
    keys = configuredSshKeys(env);
  } catch (err) {
    return [{ name: 'ssh keys', state: 'fail', detail: message(err) }];
  }
  if (keys.length === 0) {
    return [
      {
        name: 'ssh keys',
        state: 'warn',
        detail: 'none configured; set OPSFLOW_SSH_KEYS=name=/path/to/private_key[,name2=...] for the keys your specs reference',
      },
    ];
  }
  return keys.map(({ name, path }) => {
    let text: Buffer;
    try {
      text = readFileSync(path);
    } catch (err) {
      return {
        name: `ssh key ${name}`,
        state: 'fail',
        detail: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? message(err)}`,
      };
    }
    const parsed = sshUtils.parseKey(text);
    if (parsed instanceof Error) {
      return { name: `ssh key ${name}`, state: 'fail', detail: `${path} is not a usable private key: ${parsed.message}` };
    }
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key?.isPrivateKey())
      return { name: `ssh key ${name}`, state: 'fail', detail: `${path} holds a public key; point it at the private key` };
    return { name: `ssh key ${name}`, state: 'ok', detail: `${path} (${key.type})` };
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function formatDoctor(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results.map((r) => `${r.state.padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`).join('\n');
}
