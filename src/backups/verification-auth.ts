// Signing and checking verification records (`<key>.verified.json`). Retention never prunes the
// newest verified backups, so a record is a claim that protects some backups and lets others go:
// whoever can write to the bucket (or reach Spaces from a droplet) could otherwise plant one
// beside a backup that was never restored. A record counts only when this worker's key reproduces
// its MAC, over every field and the backup key it names (a record copied beside another backup
// does not carry over).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BackupKey, BackupKeyring } from './backup-key';
import type { VerificationRecord } from './keys';
import { canonicalJson } from './manifest-auth';

/** A verification record as stored in the bucket. */
export interface SignedVerificationRecord extends VerificationRecord {
  keyId: string;
  /** HMAC-SHA256, hex, over the canonical bytes of every other field. */
  mac: string;
}

function macOf(fields: Omit<SignedVerificationRecord, 'mac'>, key: BackupKey): Buffer {
  return createHmac('sha256', key.secret).update('opsflow backup verification\n').update(canonicalJson(fields)).digest();
}

export function signVerification(record: VerificationRecord, key: BackupKey): SignedVerificationRecord {
  const fields = { ...record, keyId: key.id };
  return { ...fields, mac: macOf(fields, key).toString('hex') };
}

/**
 * Why the record read from the bucket beside `backupKey` does not prove that backup verified, or
 * undefined when it does (this worker signed it, for that key, unchanged).
 */
export function verificationRefusal(raw: unknown, keyring: BackupKeyring, backupKey: string): string | undefined {
  if (raw === null || typeof raw !== 'object') return 'it is not a JSON object';
  const { mac, ...fields } = raw as Partial<SignedVerificationRecord>;
  if (typeof mac !== 'string' || typeof fields.keyId !== 'string')
    return 'it is not signed (written by someone else, or before records were signed)';
  const signer = keyring.find(fields.keyId);
  if (!signer) return `it names signing key ${JSON.stringify(fields.keyId)}, which this worker does not hold`;
  let expected: Buffer;
  try {
    expected = macOf(fields as Omit<SignedVerificationRecord, 'mac'>, signer);
  } catch {
    return 'it holds values no verification record holds';
  }
  const given = /^[0-9a-f]{64}$/.test(mac) ? Buffer.from(mac, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'its signature does not match its content';
  if (fields.key !== backupKey) return `it was signed for ${JSON.stringify(fields.key)}`;
  return undefined;
}
