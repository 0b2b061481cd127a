// Connection settings follow Temporal's own environment configuration (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and the TOML config file),
// so the same worker and CLI work against the dev server, a self-hosted cluster or Temporal Cloud.
// When those say nothing, the local stack `opsflow up` recorded is used, on whatever port it got.
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { lookUpRecordedStack } from '../devstack/recorded-stack';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

export interface TemporalTarget {
  connectionOptions: ClientConnectConfig['connectionOptions'] & { address: string };
  namespace: string;
  /** Where the address came from, said in messages so a user knows what to change. */
  addressSource: string;
  /** Said once by the caller: e.g. a stale stack record that was ignored. */
  note?: string;
}

export function loadTemporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const overrideEnvVars = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const config = loadClientConnectConfig({ overrideEnvVars });
  const namespace = config.namespace ?? DEFAULT_NAMESPACE;
  // Explicit settings always win: the variable or the profile's address.
  if (config.connectionOptions.address) {
    const addressSource = env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : "Temporal's config profile";
    return { connectionOptions: { ...config.connectionOptions, address: config.connectionOptions.address }, namespace, addressSource };
  }
  const recorded = lookUpRecordedStack(env);
  if (recorded.state === 'running') {
    return {
      connectionOptions: { ...config.connectionOptions, address: recorded.stack.address },
      namespace,
      addressSource: `the local stack \`opsflow up\` recorded in ${recorded.file}`,
    };
  }
  return {
    connectionOptions: { ...config.connectionOptions, address: DEFAULT_TEMPORAL_ADDRESS },
    namespace,
    addressSource: 'the default',
    note: recorded.state === 'stale' ? recorded.note : undefined,
  };
}

/** What to print about a target: never the API key or TLS material. */
export function describeTarget(target: TemporalTarget): string {
  const tls = target.connectionOptions.tls ? ', TLS' : '';
  const apiKey = target.connectionOptions.apiKey ? ', API key' : '';
  return `${target.connectionOptions.address} namespace ${target.namespace}${tls}${apiKey}`;
}

/** Raised when no Temporal frontend answers: names the address, where it came from, and how to change it. */
export class TemporalUnreachableError extends Error {
  constructor(
    readonly target: TemporalTarget,
    cause: unknown,
  ) {
    super(
      `cannot reach Temporal at ${target.connectionOptions.address} (address from ${target.addressSource}): ` +
        `${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Start the local stack with `npm start` (on another port: `opsflow up --port <port>`; the other commands then find it by themselves), ' +
        'or point TEMPORAL_ADDRESS (or a Temporal config profile) at your cluster.',
      { cause },
    );
    this.name = 'TemporalUnreachableError';
  }
}
