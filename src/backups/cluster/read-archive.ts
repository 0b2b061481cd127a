// A cluster backup read back, proven before use (rule 11): its manifest must carry this worker's
// signature for that very key, the archive is downloaded whole and matches the manifest's size and
// SHA-256, then every file the manifest lists must be in the archive with its SHA-256 and nothing
// else, and each encrypted entry must decrypt (the AES-GCM tag authenticates it). Verification
// and restore both read archives through here; a problem is a BackupError naming the entry.
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BackupKeyring } from '../backup-key';
import { downloadVerified } from '../download-verified';
import { BackupError } from '../errors';
import { manifestKeyOf, type BackupManifest } from '../keys';
import { authenticateManifest } from '../manifest-auth';
import { getJson } from '../spaces';
import type { KubeJson } from './clean-object';
import { decryptEntry } from './config-encryption';
import { unpackEntries } from './tar-entries';
import { ARCHIVE_MANIFEST_PATH, VERSION_PATH, type ArchivedResource } from './velero-layout';

export interface ArchiveObject {
  entry: ArchivedResource;
  /** In clear (decrypted when the entry was encrypted): keep it out of logs and results. */
  object: KubeJson;
}

export interface ReadArchiveInput {
  s3: S3Client;
  bucket: string;
  key: string;
  keyring: BackupKeyring;
  tmpDir: string;
  signal?: AbortSignal;
  onProgress?: (p: { bytesDownloaded: number }) => void;
}

/** The authenticated manifest of a cluster backup (BackupNotAuthentic, NotFound, Unsupported otherwise). */
export async function clusterBackupManifest(s3: S3Client, bucket: string, key: string, keyring: BackupKeyring): Promise<BackupManifest> {
  const raw = await getJson<unknown>(s3, bucket, manifestKeyOf(key));
  if (raw === undefined) throw new BackupError('NotFound', `no backup ${key}: its manifest ${manifestKeyOf(key)} does not exist`, false);
  const manifest = authenticateManifest(raw, keyring, key);
  if (manifest.kind !== 'kubernetes' || !manifest.resources)
    throw new BackupError('Unsupported', `${key} is a ${manifest.kind} backup, not a cluster backup`, false);
  return manifest;
}

export async function readClusterArchive(input: ReadArchiveInput): Promise<{ manifest: BackupManifest; objects: ArchiveObject[] }> {
  const manifest = await clusterBackupManifest(input.s3, input.bucket, input.key, input.keyring);
  const download = await downloadVerified({ ...input, manifest, onProgress: input.onProgress });
  let files: Map<string, Buffer>;
  try {
    files = new Map((await unpackEntries(download.read(), input.key)).map((e) => [e.path, e.bytes]));
  } finally {
    await download.dispose();
  }
  const problems: string[] = [];
  const objects: ArchiveObject[] = [];
  for (const entry of manifest.resources ?? []) {
    const stored = files.get(entry.path);
    files.delete(entry.path);
    if (!stored) {
      problems.push(`${entry.path}: listed in the manifest, not in the archive`);
      continue;
    }
    if (createHash('sha256').update(stored).digest('hex') !== entry.sha256) {
      problems.push(`${entry.path}: its SHA-256 is not the manifest's`);
      continue;
    }
    const clear = entry.encrypted ? decryptEntry(stored, entry.path, input.keyring) : stored;
    const object = JSON.parse(clear.toString('utf8')) as KubeJson;
    const m = object.metadata ?? {};
    if (object.kind !== entry.kind || m.name !== entry.name || (m.namespace ?? undefined) !== entry.namespace)
      problems.push(
        `${entry.path}: holds ${object.kind} ${String(m.namespace ?? '')}/${String(m.name)}, the manifest says ${entry.kind} ${entry.namespace ?? ''}/${entry.name}`,
      );
    else objects.push({ entry, object });
  }
  files.delete(VERSION_PATH);
  files.delete(ARCHIVE_MANIFEST_PATH);
  for (const extra of files.keys()) problems.push(`${extra}: in the archive, not in the manifest`);
  if (problems.length)
    throw new BackupError(
      'VerificationFailed',
      `${input.key} does not hold what its manifest lists: ${problems.slice(0, 10).join('; ')}`,
      false,
    );
  return { manifest, objects };
}
