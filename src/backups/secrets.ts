// Secrets named in a spec or policy (`env:NAME`, `file:/path`) are resolved here, in the activity,
// on the worker: the workflow and its history only ever carry the reference (rule 6). Only what the
// worker is configured to hand out resolves (see src/secret-access.ts).
import { open, realpath } from 'node:fs/promises';
import { envSecretRefusal, fileSecretRefusal, secretAccessFromEnv, type SecretAccess } from '../secret-access';
import { BackupError } from './errors';

export type SecretResolver = (ref: string) => Promise<string>;

/** A secret file larger than this is not a secret but a mistake (or an attempt to read a disk). */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

const unavailable = (message: string) => new BackupError('SecretUnavailable', message, false);

async function readSecretFile(ref: string, file: string, access: SecretAccess): Promise<string> {
  let real: string;
  let realDir: string;
  try {
    [real, realDir] = await Promise.all([realpath(file), realpath(access.secretsDir)]);
  } catch (err) {
    throw unavailable(`secret ${ref}: cannot read it on the worker (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const refusal = fileSecretRefusal(real, realDir);
  if (refusal) throw unavailable(`secret ${ref}: ${refusal}`);
  const handle = await open(real, 'r').catch((err: NodeJS.ErrnoException) => {
    throw unavailable(`secret ${ref}: cannot read it on the worker (${err.code ?? String(err)})`);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > MAX_SECRET_FILE_BYTES) throw unavailable(`secret ${ref}: not a regular file of at most 64 KiB`);
    // A trailing newline is an editor's, not the secret's.
    return (await handle.readFile('utf8')).replace(/\r?\n$/, '');
  } finally {
    await handle.close();
  }
}

export function secretResolver(env: NodeJS.ProcessEnv = process.env, access: SecretAccess = secretAccessFromEnv(env)): SecretResolver {
  return async (ref) => {
    if (ref.startsWith('env:')) {
      const name = ref.slice(4);
      const refusal = envSecretRefusal(name, access);
      if (refusal) throw unavailable(`secret ${ref}: ${refusal}`);
      const value = env[name];
      if (value === undefined || value === '') throw unavailable(`secret ${ref}: the worker has no environment variable ${name}`);
      return value;
    }
    if (ref.startsWith('file:') && ref.slice(5).startsWith('/')) return readSecretFile(ref, ref.slice(5), access);
    throw unavailable(`not a secret reference: use env:NAME or file:/path`);
  };
}
