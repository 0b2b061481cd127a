// Where backups live in a bucket, and what the manifest beside each says. Pure (no Node modules):
// workflows name keys with it too.
import type { ArchivedResource } from './cluster/velero-layout';
//
//   <prefix><policy>/<target>/<database or "archive">/<20260301T020000Z>.<pgdump|sql|tar>[.gz]
//   ... + .manifest.json   written only after the backup object is complete, signed (manifest-auth.ts)
//   ... + .verified.json   written by verifyBackup after a restore matched the manifest

export interface TableStats {
  /** Qualified and quoted as the server prints it: `public.accounts`, `shop.orders`. */
  table: string;
  rows: number;
  /** Order-independent checksum of the table's content, as the server computes it. */
  checksum: string;
}

/**
 * What the object holds once decompressed, and so what may read it: PostgreSQL's custom archive
 * (pg_restore; it cannot carry psql meta-commands), a MySQL/MariaDB SQL dump, a tar archive.
 */
export type DumpFormat = 'postgresql-custom' | 'mysql-sql' | 'tar';

/**
 * Format 2: signed. Format 1 manifests (plain SQL for PostgreSQL, no signature) are refused by
 * restores: nothing proves who wrote them.
 */
export interface BackupManifest {
  formatVersion: 2;
  format: DumpFormat;
  policy: string;
  target: string;
  kind: 'postgresql' | 'mysql' | 'mariadb' | 'directory' | 'kubernetes';
  /** The database dumped; for a directory, its path. */
  database: string;
  key: string;
  compression: 'gzip' | 'none';
  /** `SELECT version()` of the server (databases) or the archiver's version (directories). */
  serverVersion: string;
  /** `pg_dump --version`, `mariadb-dump --version`, `tar --version` (first line). */
  toolVersion: string;
  compressedBytes: number;
  uncompressedBytes: number;
  /** SHA-256 of the object's bytes (compressed), hex. */
  sha256: string;
  /** When the run took it (the workflow's time), and when the dump itself started and ended. */
  takenAt: string;
  startedAt: string;
  endedAt: string;
  /** Per table, gathered in the dump's own snapshot (PostgreSQL) or just before it (MariaDB). */
  tables: TableStats[];
  /** A cluster backup (kind kubernetes): every object in the archive, with its path and SHA-256. */
  resources?: ArchivedResource[];
  /** Id of the worker key that signed it (see backup-key.ts). */
  keyId: string;
  /** HMAC-SHA256, hex, over the canonical bytes of every other field. */
  mac: string;
}

export interface VerificationRecord {
  key: string;
  verifiedAt: string;
  /** The scratch database the backup was restored into. */
  restoredInto: string;
  tables: number;
  rows: number;
}

export const MANIFEST_SUFFIX = '.manifest.json';
export const VERIFIED_SUFFIX = '.verified.json';

export const manifestKeyOf = (key: string) => key + MANIFEST_SUFFIX;
export const verifiedKeyOf = (key: string) => key + VERIFIED_SUFFIX;

/** `2026-03-01T02:00:00.000Z` → `20260301T020000Z`: sorts as time, safe in a key. */
export function compactTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/** Inverse of compactTime. */
export function isoFromCompact(compact: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(compact);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : undefined;
}

const normalizedPrefix = (prefix: string) => (prefix === '' || prefix.endsWith('/') ? prefix : prefix + '/');

/** The folder holding every backup of a policy. */
export function policyPrefix(destinationPrefix: string, policy: string): string {
  return `${normalizedPrefix(destinationPrefix)}${policy}/`;
}

/** The folder holding every backup of one database (or directory) of one target. */
export function seriesPrefix(destinationPrefix: string, policy: string, target: string, database?: string): string {
  return `${policyPrefix(destinationPrefix, policy)}${target}/${database ?? 'archive'}/`;
}

export function backupKey(input: {
  prefix: string;
  policy: string;
  target: string;
  database?: string;
  takenAt: string;
  compression: 'gzip' | 'none';
  format?: DumpFormat;
}): string {
  const body = input.format === 'postgresql-custom' ? 'pgdump' : input.database === undefined ? 'tar' : 'sql';
  const suffix = input.compression === 'gzip' ? '.gz' : '';
  return `${seriesPrefix(input.prefix, input.policy, input.target, input.database)}${compactTime(input.takenAt)}.${body}${suffix}`;
}

/** The takenAt encoded in a backup key, if it is one of ours. */
export function takenAtOf(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return isoFromCompact(name.split('.')[0] ?? '');
}
