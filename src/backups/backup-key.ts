// The key that proves a backup is this worker's: every manifest is signed with it (HMAC-SHA256,
// manifest-auth.ts) and a restore refuses what it did not sign. Only the worker holds it, from
// OPSFLOW_BACKUP_KEY (the value) or OPSFLOW_BACKUP_KEY_FILE (a 0600 file holding it). Either may hold
// several keys, one per line or comma-separated: the first signs, all verify, so a key is rotated
// by putting a new one first and dropping the old one once its backups have aged out. A key's id
// is derived from the key itself, so the manifest can name it without naming the key.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BackupError } from './errors';

export const BACKUP_KEY_ENV = 'OPSFLOW_BACKUP_KEY';
export const BACKUP_KEY_FILE_ENV = 'OPSFLOW_BACKUP_KEY_FILE';

export interface BackupKey {
  /** 16 hex digits, derived from the key: stable, and useless to anyone without the key. */
  id: string;
  secret: Buffer;
}

export interface BackupKeyring {
  /** The key new manifests are signed with; BackupKeyMissing (naming the settings) when there is none. */
  signingKey(): BackupKey;
  find(id: string): BackupKey | undefined;
  /** The ids this worker holds, for messages. */
  readonly ids: string[];
}

const MIN_KEY_BYTES = 32;

export const backupKeyId = (secret: Buffer) => createHmac('sha256', secret).update('opsflow backup key id').digest('hex').slice(0, 16);

/** A fresh key as the settings take it: base64 of 32 random bytes (what `openssl rand -base64 32` prints). */
export const generateBackupKey = () => randomBytes(MIN_KEY_BYTES).toString('base64');

/** Keys from a setting's text; `source` names the setting in errors, never the value. */
export function parseBackupKeys(text: string, source: string): BackupKey[] {
  const values = text
    .split(/[\n,]/)
    .map((v) => v.trim())
    .filter(Boolean);
  if (values.length === 0) throw new Error(`${source} holds no key`);
  return values.map((value, i) => {
    const secret = /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
    if (secret.length < MIN_KEY_BYTES)
      throw new Error(`${source}: key ${i + 1} is not base64 of at least ${MIN_KEY_BYTES} bytes (make one with: openssl rand -base64 32)`);
    return { id: backupKeyId(secret), secret };
  });
}

export function backupKeyring(keys: BackupKey[]): BackupKeyring {
  const byId = new Map(keys.map((k) => [k.id, k]));
  return {
    ids: keys.map((k) => k.id),
    find: (id) => byId.get(id),
    signingKey() {
      const first = keys[0];
      if (!first) {
        throw new BackupError(
          'BackupKeyMissing',
          `this worker has no backup key: set ${BACKUP_KEY_ENV} (base64 of 32 random bytes: openssl rand -base64 32) or ${BACKUP_KEY_FILE_ENV} (a 0600 file holding it). ` +
            'Backups are signed with it, and restores refuse anything it did not sign',
          false,
        );
      }
      return first;
    },
  };
}

/**
 * The worker's keyring from its environment, read once at start: a malformed key, an unreadable
 * file or one that others may read fails here, naming the setting. No key at all is allowed here
 * (the worker has other work) and fails each backup and restore instead.
 */
export function backupKeyringFromEnv(env: NodeJS.ProcessEnv = process.env): BackupKeyring {
  const value = env[BACKUP_KEY_ENV]?.trim();
  const file = env[BACKUP_KEY_FILE_ENV]?.trim();
  if (value && file) throw new Error(`set one of ${BACKUP_KEY_ENV} and ${BACKUP_KEY_FILE_ENV}, not both`);
  if (value) return backupKeyring(parseBackupKeys(value, BACKUP_KEY_ENV));
  if (!file) return backupKeyring([]);
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) throw new Error(`others may read it (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${BACKUP_KEY_FILE_ENV} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return backupKeyring(parseBackupKeys(text, `${BACKUP_KEY_FILE_ENV} ${file}`));
}

/** For the local stack (`opsflow up`): the key file, made once (0600, in a 0700 folder) if missing. */
export function ensureBackupKeyFile(file: string): { created: boolean } {
  if (existsSync(file)) return { created: false };
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, generateBackupKey() + '\n', { mode: 0o600, flag: 'wx' });
  return { created: true };
}
