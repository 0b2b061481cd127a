// Signing and checking manifests. The MAC covers every field of the manifest (the object's key,
// its SHA-256 and size, its format, the table figures), so an object is proven ours by checking
// its bytes against a manifest whose MAC this worker's key reproduces. Whoever can write to the
// bucket but does not hold the key can plant objects and manifests, never a manifest that passes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BackupKey, BackupKeyring } from './backup-key';
import { BackupError } from './errors';
import type { BackupManifest } from './keys';

export type UnsignedManifest = Omit<BackupManifest, 'keyId' | 'mac'>;

/** JSON with object keys sorted at every level and no spaces: one byte string per manifest. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: not a finite number');
  return JSON.stringify(value);
}

function macOf(fields: Omit<BackupManifest, 'mac'>, key: BackupKey): Buffer {
  return createHmac('sha256', key.secret).update('opsflow backup manifest\n').update(canonicalJson(fields)).digest();
}

export function signManifest(manifest: UnsignedManifest, key: BackupKey): BackupManifest {
  const fields = { ...manifest, keyId: key.id };
  return { ...fields, mac: macOf(fields, key).toString('hex') };
}

/**
 * The manifest read from the bucket as `key`'s, if this worker signed it for that key; otherwise a
 * non-retryable BackupError saying why. Nothing else about it is trusted before this passes.
 */
export function authenticateManifest(raw: unknown, keyring: BackupKeyring, key: string): BackupManifest {
  const m = (raw !== null && typeof raw === 'object' ? raw : {}) as Partial<BackupManifest>;
  const version: unknown = m.formatVersion;
  if (version === 1 || (m.formatVersion === undefined && m.mac === undefined)) {
    throw new BackupError(
      'BackupFormatRefused',
      `${key} was written before opsflow signed its backups (manifest format 1): nothing proves this worker wrote it, ` +
        'and a PostgreSQL backup of that format is a plain SQL dump, which can carry psql meta-commands (\\! runs a shell command) that would run on the worker; so it is not restored. ' +
        'If you know it is yours, read it and restore it by hand on a machine that holds no secrets; backups taken from now on are signed and restorable',
      false,
    );
  }
  if (version !== 2 || typeof m.keyId !== 'string' || typeof m.mac !== 'string') {
    throw new BackupError(
      'BackupNotAuthentic',
      `${key}: its manifest is not a signed opsflow manifest (format ${JSON.stringify(version)})`,
      false,
    );
  }
  const signer = keyring.find(m.keyId);
  if (!signer) {
    throw new BackupError(
      'BackupNotAuthentic',
      `${key}: its manifest names signing key ${JSON.stringify(m.keyId)}, which this worker does not hold (it holds ${keyring.ids.join(', ') || 'none'}): ` +
        'written by someone else, or signed with a key since removed from OPSFLOW_BACKUP_KEY',
      false,
    );
  }
  const { mac, ...fields } = m as BackupManifest;
  let expected: Buffer;
  try {
    expected = macOf(fields, signer);
  } catch {
    throw new BackupError('BackupNotAuthentic', `${key}: its manifest holds values no opsflow manifest holds`, false);
  }
  const given = /^[0-9a-f]{64}$/.test(mac) ? Buffer.from(mac, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new BackupError(
      'BackupNotAuthentic',
      `${key}: its manifest's signature does not match its content (key ${signer.id}): it was changed or written by someone else`,
      false,
    );
  }
  // Authentic, but a genuine manifest copied beside another object is not that object's.
  if (m.key !== key)
    throw new BackupError('BackupNotAuthentic', `${key}: its manifest was signed for ${JSON.stringify(m.key)}, not for this key`, false);
  return m as BackupManifest;
}
