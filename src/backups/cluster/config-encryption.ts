// ConfigMaps and Secrets are encrypted inside a cluster backup archive: whoever can read the bucket
// reads no password. AES-256-GCM with a key derived (HKDF-SHA256) from the worker's backup key, the
// one that signs every manifest (backup-key.ts), so there is one secret to keep and rotate; the
// envelope names the key's id, and its path in the archive is authenticated with it, so an
// envelope moved to another object's path does not decrypt. The envelope is JSON, so the archive's
// files stay `.json` as in Velero's layout.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { BackupKey, BackupKeyring } from '../backup-key';
import { BackupError } from '../errors';

export interface EncryptedEnvelope {
  opsflowEncrypted: 1;
  alg: 'AES-256-GCM';
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

const encryptionKeyOf = (key: BackupKey) =>
  Buffer.from(hkdfSync('sha256', key.secret, Buffer.from('opsflow cluster backup'), Buffer.from('config encryption v1'), 32));

export function encryptEntry(plain: Buffer, path: string, key: BackupKey): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKeyOf(key), iv);
  cipher.setAAD(Buffer.from(path));
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  const envelope: EncryptedEnvelope = {
    opsflowEncrypted: 1,
    alg: 'AES-256-GCM',
    keyId: key.id,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return Buffer.from(JSON.stringify(envelope));
}

/** The entry's clear bytes; BackupNotAuthentic when the key is not held or the bytes were changed. */
export function decryptEntry(stored: Buffer, path: string, keyring: BackupKeyring): Buffer {
  let envelope: Partial<EncryptedEnvelope>;
  try {
    envelope = JSON.parse(stored.toString('utf8')) as Partial<EncryptedEnvelope>;
  } catch {
    envelope = {};
  }
  if (envelope.opsflowEncrypted !== 1 || envelope.alg !== 'AES-256-GCM' || typeof envelope.keyId !== 'string')
    throw new BackupError('BackupNotAuthentic', `${path}: not an opsflow encrypted entry`, false);
  const key = keyring.find(envelope.keyId);
  if (!key)
    throw new BackupError(
      'BackupNotAuthentic',
      `${path}: encrypted with backup key ${envelope.keyId}, which this worker does not hold (it holds ${keyring.ids.join(', ') || 'none'})`,
      false,
    );
  try {
    const decipher = createDecipheriv('aes-256-gcm', encryptionKeyOf(key), Buffer.from(envelope.iv ?? '', 'base64'));
    decipher.setAAD(Buffer.from(path));
    decipher.setAuthTag(Buffer.from(envelope.tag ?? '', 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(envelope.data ?? '', 'base64')), decipher.final()]);
  } catch {
    throw new BackupError('BackupNotAuthentic', `${path}: its encrypted contents do not authenticate (changed, or not this path's)`, false);
  }
}
