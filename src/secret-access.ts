// What secrets the worker hands out for a spec's references: the worker's operator decides, not
// the spec's author. `env:NAME` resolves only for names the worker allows (OPSFLOW_SECRET_ENV:
// names, or prefixes ending in *; default OPSFLOW_SECRET_*), never for the worker's own settings;
// `file:/path` only inside OPSFLOW_SECRETS_DIR (default /run/secrets, as Docker mounts secrets).
import path from 'node:path';
import { WORKER_OWN_ENV } from './specs/common';

export const DEFAULT_SECRET_ENV = 'OPSFLOW_SECRET_*';
export const DEFAULT_SECRETS_DIR = '/run/secrets';

export interface SecretAccess {
  /** Exact names, and prefixes (given with a trailing `*`). */
  envNames: string[];
  envPrefixes: string[];
  /** The folder `file:` references must lie in. */
  secretsDir: string;
}

export function secretAccessFromEnv(env: NodeJS.ProcessEnv = process.env): SecretAccess {
  const entries = (env.OPSFLOW_SECRET_ENV?.trim() || DEFAULT_SECRET_ENV)
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  return {
    envNames: entries.filter((e) => !e.endsWith('*')),
    envPrefixes: entries.filter((e) => e.endsWith('*')).map((e) => e.slice(0, -1)),
    secretsDir: path.resolve(env.OPSFLOW_SECRETS_DIR?.trim() || DEFAULT_SECRETS_DIR),
  };
}

/** Why the worker will not hand out this variable, or undefined when it may. */
export function envSecretRefusal(name: string, access: SecretAccess): string | undefined {
  if (WORKER_OWN_ENV.test(name)) return `${name} is one of the worker's own settings or credentials, which it never hands out`;
  if (access.envNames.includes(name) || access.envPrefixes.some((p) => name.startsWith(p))) return undefined;
  const allowed = [...access.envNames, ...access.envPrefixes.map((p) => `${p}*`)].join(', ');
  return `the worker hands out only ${allowed} (its OPSFLOW_SECRET_ENV), not ${name}`;
}

/** Why the worker will not read this file as a secret (given its real path), or undefined when it may. */
export function fileSecretRefusal(realFile: string, realSecretsDir: string): string | undefined {
  if (realFile.startsWith(realSecretsDir + path.sep)) return undefined;
  return `the worker reads secrets only from files inside ${realSecretsDir} (its OPSFLOW_SECRETS_DIR)`;
}
