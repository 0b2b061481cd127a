// Secrets named in a policy (`env:NAME`, `file:/path`) are resolved here, in the activity, on the
// worker: the workflow and its history only ever carry the reference (rule 6).
import { readFile } from 'node:fs/promises';
import { BackupError } from './errors';

export type SecretResolver = (ref: string) => Promise<string>;

export function secretResolver(env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return async (ref) => {
    if (ref.startsWith('env:')) {
      const value = env[ref.slice(4)];
      if (value === undefined || value === '') throw new BackupError('SecretUnavailable', `secret ${ref}: the worker has no environment variable ${ref.slice(4)}`, false);
      return value;
    }
    if (ref.startsWith('file:')) {
      try {
        // A trailing newline is an editor's, not the secret's.
        return (await readFile(ref.slice(5), 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        throw new BackupError('SecretUnavailable', `secret ${ref}: cannot read it on the worker (${(err as NodeJS.ErrnoException).code ?? String(err)})`, false);
      }
    }
    throw new BackupError('SecretUnavailable', `not a secret reference: use env:NAME or file:/path`, false);
  };
}
