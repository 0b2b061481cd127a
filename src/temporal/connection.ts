// Connection settings follow Temporal's own environment configuration (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and the TOML config file),
// so the same worker and CLI work against the dev server, a self-hosted cluster or Temporal Cloud.
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

export interface TemporalTarget {
  connectionOptions: ClientConnectConfig['connectionOptions'] & { address: string };
  namespace: string;
}

export function loadTemporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const overrideEnvVars = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const config = loadClientConnectConfig({ overrideEnvVars });
  return {
    connectionOptions: { ...config.connectionOptions, address: config.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS },
    namespace: config.namespace ?? DEFAULT_NAMESPACE,
  };
}

/** What to print about a target: never the API key or TLS material. */
export function describeTarget(target: TemporalTarget): string {
  const tls = target.connectionOptions.tls ? ', TLS' : '';
  const apiKey = target.connectionOptions.apiKey ? ', API key' : '';
  return `${target.connectionOptions.address} namespace ${target.namespace}${tls}${apiKey}`;
}
