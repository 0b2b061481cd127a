// The secrets preflight: before provisioning touches the cloud, the worker checks that it can hand
// out every secret the spec references, and names ALL that it cannot (the deploy step would only
// find the first, after droplets were made). Only references, names and reasons go back to the
// workflow: a value is read to prove it is there, then dropped, never returned or logged.
// The environment is read at each call: a file added to OPSFLOW_SECRETS_DIR counts at once.
import { realpath } from 'node:fs/promises';
import { secretResolver } from '../../backups/secrets';
import { envSecretRefusal, fileSecretRefusal, secretAccessFromEnv, type SecretAccess } from '../../secret-access';

/** Why a reference does not resolve on this worker. */
export type SecretProblem = 'not set' | 'not allowed' | 'file missing' | 'unreadable';

export interface MissingSecret {
  /** The variable the secret was meant for (application.secrets key). */
  name: string;
  /** The reference as the spec gives it (env:NAME or file:/path), never a value. */
  ref: string;
  problem: SecretProblem;
  /** The whole reason, naming the setting that decides it (OPSFLOW_SECRET_ENV, OPSFLOW_SECRETS_DIR). */
  reason: string;
}

export interface CheckSecretReferencesInput {
  /** Variable name to reference, as application.secrets holds them. */
  references: Record<string, string>;
}

export interface SecretCheckDeps {
  /** The environment secrets resolve from, read at each check (default: the worker's process.env). */
  env?: () => NodeJS.ProcessEnv;
  /**
   * Instead of `env`: the resolver the deploy step uses, when it is not the worker's own (tests
   * give SSH activities a map of secrets). A reference it cannot resolve is reported as not set.
   */
  resolve?: (ref: string) => string | Promise<string>;
}

async function problemOf(
  ref: string,
  env: NodeJS.ProcessEnv,
  access: SecretAccess,
): Promise<Omit<MissingSecret, 'name' | 'ref'> | undefined> {
  if (ref.startsWith('env:')) {
    const variable = ref.slice(4);
    const refusal = envSecretRefusal(variable, access);
    if (refusal) return { problem: 'not allowed', reason: refusal };
    if (env[variable] === undefined || env[variable] === '')
      return { problem: 'not set', reason: `the worker has no environment variable ${variable}` };
    return undefined;
  }
  if (ref.startsWith('file:/')) {
    const file = ref.slice(5);
    let real: string;
    try {
      real = await realpath(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { problem: 'file missing', reason: `no file ${file} on the worker` };
      return { problem: 'unreadable', reason: `cannot read ${file} on the worker (${code ?? String(err)})` };
    }
    const realDir = await realpath(access.secretsDir).catch(() => access.secretsDir);
    const refusal = fileSecretRefusal(real, realDir);
    if (refusal) return { problem: 'not allowed', reason: refusal };
  }
  // Everything else (a file's size and type, a reference of an unknown form) is judged by the very
  // resolver the deploy step uses; its messages name the reference, never the value.
  try {
    await secretResolver(env, access)(ref);
    return undefined;
  } catch (err) {
    return { problem: 'unreadable', reason: (err as Error).message };
  }
}

async function resolverProblem(ref: string, resolve: NonNullable<SecretCheckDeps['resolve']>) {
  try {
    await resolve(ref);
    return undefined;
  } catch (err) {
    return { problem: 'not set' as const, reason: (err as Error).message };
  }
}

export function createSecretActivities(deps: SecretCheckDeps = {}) {
  const currentEnv = deps.env ?? (() => process.env);
  const viaResolver = deps.env === undefined ? deps.resolve : undefined;
  return {
    /** Every reference that does not resolve, with why; an empty list when all do. */
    async checkSecretReferences(input: CheckSecretReferencesInput): Promise<{ missing: MissingSecret[] }> {
      const env = currentEnv();
      const access = secretAccessFromEnv(env);
      const missing: MissingSecret[] = [];
      for (const [name, ref] of Object.entries(input.references ?? {})) {
        const problem = viaResolver ? await resolverProblem(ref, viaResolver) : await problemOf(ref, env, access);
        if (problem) missing.push({ name, ref, ...problem });
      }
      return { missing };
    },
  };
}
