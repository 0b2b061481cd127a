// Cluster backups as activities on the provider's queue (each fetches the cluster's kubeconfig by
// id, like its neighbours): export the selected objects into a Velero-layout tar.gz streamed to
// Spaces with a signed manifest (ConfigMaps and Secrets encrypted), read it back to verify it,
// list and delete a policy's backups for retention, and restore one into new namespaces. Secret
// values are only ever in memory here: never in an input, a result, a heartbeat or a log line.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { S3Client } from '@aws-sdk/client-s3';
import { backupKeyringFromEnv } from '../../backups/backup-key';
import { cleanObject, type KubeJson } from '../../backups/cluster/clean-object';
import { encryptEntry } from '../../backups/cluster/config-encryption';
import { clusterBackupManifest, readClusterArchive } from '../../backups/cluster/read-archive';
import { readSelectedObjects, type ReadObject } from '../../backups/cluster/read-resources';
import { packEntries, type TarEntry } from '../../backups/cluster/tar-entries';
import {
  ARCHIVE_MANIFEST_PATH,
  ENCRYPTED_KINDS,
  LAYOUT_VERSION,
  resourcePath,
  VERSION_PATH,
  type ArchivedResource,
} from '../../backups/cluster/velero-layout';
import type { DumpSource } from '../../backups/dump-source';
import { restoreTmpDirFromEnv } from '../../backups/download-verified';
import { BackupError, asBackupError } from '../../backups/errors';
import { backupKey, manifestKeyOf, seriesPrefix, takenAtOf, verifiedKeyOf, type BackupManifest } from '../../backups/keys';
import { withPolicySpaces } from '../../backups/policy-spaces';
import { secretResolver } from '../../backups/secrets';
import { deleteKeys, getJson, listAll, putJson } from '../../backups/spaces';
import { streamBackupToSpaces } from '../../backups/stream-to-spaces';
import { signVerification, verificationRefusal } from '../../backups/verification-auth';
import type { ClusterBackupPolicy } from '../../specs/cluster-backup-policy';
import type { DigitalOceanClient } from '../../integrations/digitalocean/client';
import type { KubernetesClient } from '../../integrations/kubernetes/client';
import { failure } from '../../workflows/shared/failures';
import type { BackupDeps } from '../backups/backup-steps';
import { clusterIdOf } from './canary-release';
import { clusterClient, type KubernetesDeps } from './deps';
import { kubernetesStep } from './failures';
import { restoreIntoNamespaces, type RestoreIntoNamespacesResult } from './cluster-restore';
import { snapshotClusterVolumes, type ClusterVolumeSnapshots } from './cluster-volume-snapshots';

export interface ClusterBackupOutcome {
  key: string;
  clusterId: string;
  objects: number;
  /** ConfigMaps and Secrets, stored encrypted. */
  encrypted: number;
  /** Objects the cluster made itself (controller-owned pods, tokens, ...), not exported; absent when a retry found the backup done. */
  generatedSkipped?: number;
  /** Objects per kind: `Deployment: 3`. */
  kinds: Record<string, number>;
  compressedBytes: number;
  sha256: string;
}

export interface ClusterBackupListing {
  key: string;
  takenAt: string;
  verified: boolean;
}

export type ClusterBackupDeps = {
  kubernetes: KubernetesDeps;
  backups?: BackupDeps;
  /** The account's API client, for volume snapshots (policies with volumeSnapshots: true). */
  digitalOcean?: () => DigitalOceanClient;
};

/** The series folder of a policy's archives: `<prefix><policy>/<cluster>/archive/`. */
const seriesOf = (policy: ClusterBackupPolicy) => seriesPrefix(policy.destination.prefix, policy.name, policy.cluster);

/** kubernetesStep, with backup failures (Spaces, signatures, verification) keeping their own types. */
function clusterBackupStep<T>(body: (progress: (details: Record<string, unknown>) => void) => Promise<T>): Promise<T> {
  return kubernetesStep(async (progress) => {
    try {
      return await body(progress);
    } catch (err) {
      const e = err instanceof BackupError ? err : (err as { $metadata?: unknown })?.$metadata ? asBackupError(err, 'Spaces') : undefined;
      if (e) throw failure(e.type, e.message, { retryable: e.retryable });
      throw err;
    }
  });
}

function countKinds(objects: { kind: string }[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const o of objects) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
  return kinds;
}

/** A finished stream of in-memory bytes as streamBackupToSpaces reads a dump. */
function archiveSource(cluster: string, stdout: NodeJS.ReadableStream & { destroy(): void }): DumpSource {
  return {
    command: 'opsflow cluster export',
    where: `cluster ${cluster}`,
    async start() {
      const completion = new Promise<{ exitCode: number | null; signal: string | null; stderrTail: string }>((resolve) => {
        stdout.on('end', () => resolve({ exitCode: 0, signal: null, stderrTail: '' }));
        stdout.on('error', (err: Error) => resolve({ exitCode: 1, signal: null, stderrTail: err.message }));
      });
      return { stdout: stdout as never, completion, kill: () => stdout.destroy() };
    },
  };
}

function outcomeOf(manifest: BackupManifest, clusterId: string): ClusterBackupOutcome {
  const resources = manifest.resources ?? [];
  return {
    key: manifest.key,
    clusterId,
    objects: resources.length,
    encrypted: resources.filter((r) => r.encrypted).length,
    kinds: countKinds(resources),
    compressedBytes: manifest.compressedBytes,
    sha256: manifest.sha256,
  };
}

export function clusterBackupActivities(deps: ClusterBackupDeps) {
  const b = deps.backups ?? {};
  const resolve = b.resolveSecret ?? secretResolver();
  const keyring = b.backupKeys ?? backupKeyringFromEnv();
  const tmpDir = b.restoreTmpDir ?? restoreTmpDirFromEnv();
  const spaces = <T>(policy: ClusterBackupPolicy, use: Parameters<typeof withPolicySpaces<T>>[2]) =>
    withPolicySpaces({ s3Client: b.s3Client, defaultEndpoint: b.defaultEndpoint, resolve }, policy, use);
  const signal = () => Context.current().cancellationSignal;

  /** The backup an earlier attempt finished under `key`, if this worker signed it; anything else is written over. */
  async function finishedBackup(s3: S3Client, bucket: string, key: string): Promise<BackupManifest | undefined> {
    return clusterBackupManifest(s3, bucket, key, keyring).catch((err: unknown) => {
      if (err instanceof BackupError && ['NotFound', 'BackupNotAuthentic', 'BackupFormatRefused', 'Unsupported'].includes(err.type))
        return undefined;
      throw err;
    });
  }

  /** The selected objects and the Namespace objects themselves, as the archive holds them. */
  async function selection(policy: ClusterBackupPolicy, client: KubernetesClient): Promise<{ objects: ReadObject[]; generated: number }> {
    const { namespaces, labelSelector, kinds } = policy.resources;
    const found = await readSelectedObjects(client, { namespaces, labelSelector, kinds });
    if (kinds && !kinds.includes('Namespace')) return found;
    const namespaceObjects: ReadObject[] = [];
    for (const name of namespaces) {
      const ns = await client.get({ apiVersion: 'v1', kind: 'Namespace', name });
      if (!ns)
        throw new BackupError('NotFound', `policy ${policy.name}: namespace ${name} does not exist in cluster ${policy.cluster}`, false);
      const object = cleanObject({ ...(ns as KubeJson), apiVersion: 'v1', kind: 'Namespace' });
      namespaceObjects.push({ apiVersion: 'v1', kind: 'Namespace', resource: 'namespaces', namespace: '', name, object });
    }
    return { objects: [...namespaceObjects, ...found.objects], generated: found.generated };
  }

  return {
    async exportClusterBackup(input: { policy: ClusterBackupPolicy; takenAt: string }): Promise<ClusterBackupOutcome> {
      return clusterBackupStep(async (progress) => {
        const { policy, takenAt } = input;
        const signingKey = keyring.signingKey();
        const clusterId = await clusterIdOf(deps.kubernetes, policy.cluster);
        const key = backupKey({
          prefix: policy.destination.prefix,
          policy: policy.name,
          target: policy.cluster,
          takenAt,
          compression: 'gzip',
          format: 'tar',
        });
        // A retry after the upload finished (its answer lost) returns that backup, not a second export.
        const done = await spaces(policy, ({ s3, bucket }) => finishedBackup(s3, bucket, key));
        if (done) return outcomeOf(done, clusterId);
        const client = await clusterClient(deps.kubernetes, clusterId);
        const { objects, generated } = await selection(policy, client);
        progress({ phase: 'read', objects: objects.length, generatedSkipped: generated });
        const entries: TarEntry[] = [];
        const resources: ArchivedResource[] = objects.map((o) => {
          const path = resourcePath({ ...o, namespace: o.namespace || undefined });
          const clear = Buffer.from(JSON.stringify(o.object, null, 2) + '\n');
          const encrypted = ENCRYPTED_KINDS.has(o.kind);
          const bytes = encrypted ? encryptEntry(clear, path, signingKey) : clear;
          entries.push({ path, bytes });
          const entry: ArchivedResource = {
            path,
            apiVersion: o.apiVersion,
            kind: o.kind,
            resource: o.resource,
            name: o.name,
            encrypted,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          };
          return o.namespace ? { ...entry, namespace: o.namespace } : entry;
        });
        const listing = { policy: policy.name, cluster: policy.cluster, takenAt, selection: policy.resources, resources };
        entries.unshift(
          { path: VERSION_PATH, bytes: Buffer.from(LAYOUT_VERSION + '\n') },
          { path: ARCHIVE_MANIFEST_PATH, bytes: Buffer.from(JSON.stringify(listing, null, 2) + '\n') },
        );
        const version = await client.read<{ gitVersion?: string }>('/version');
        return spaces(policy, async ({ s3, bucket }) => {
          const manifest: BackupManifest = await streamBackupToSpaces({
            source: archiveSource(policy.cluster, packEntries(entries, new Date(takenAt))),
            compression: 'gzip',
            s3,
            bucket,
            key,
            manifest: {
              format: 'tar',
              policy: policy.name,
              target: policy.cluster,
              kind: 'kubernetes',
              database: `cluster ${policy.cluster}: ${policy.resources.namespaces.join(', ')}`,
              serverVersion: `Kubernetes ${version.gitVersion ?? 'unknown'}`,
              toolVersion: `opsflow cluster export (Velero layout ${LAYOUT_VERSION})`,
              takenAt,
              tables: [],
              resources,
            },
            signingKey,
            signal: signal(),
            onProgress: (p) => progress({ phase: 'upload', objects: objects.length, ...p }),
          });
          return { ...outcomeOf(manifest, clusterId), generatedSkipped: generated };
        });
      });
    },

    /** Reads the archive back as a restore would; on success records it verified (signed) beside it. */
    async verifyClusterBackup(input: { policy: ClusterBackupPolicy; key: string }): Promise<{ objects: number; encrypted: number }> {
      return clusterBackupStep((progress) =>
        spaces(input.policy, async ({ s3, bucket }) => {
          const { objects } = await readClusterArchive({
            s3,
            bucket,
            key: input.key,
            keyring,
            tmpDir,
            signal: signal(),
            onProgress: (p) => progress({ phase: 'download', ...p }),
          });
          const record = {
            key: input.key,
            verifiedAt: new Date().toISOString(),
            restoredInto: 'read back (archive listing, checksums, decryption)',
            tables: objects.length,
            rows: 0,
          };
          await putJson(s3, bucket, verifiedKeyOf(input.key), signVerification(record, keyring.signingKey()));
          return { objects: objects.length, encrypted: objects.filter((o) => o.entry.encrypted).length };
        }),
      );
    },

    /** The policy's archives, newest first; verified only by a record this worker signed for that key. */
    async listClusterBackups(input: { policy: ClusterBackupPolicy }): Promise<ClusterBackupListing[]> {
      return clusterBackupStep(() =>
        spaces(input.policy, async ({ s3, bucket }) => {
          const keys = new Set((await listAll(s3, bucket, seriesOf(input.policy))).map((o) => o.Key ?? ''));
          const listings: ClusterBackupListing[] = [];
          for (const key of keys) {
            const takenAt = takenAtOf(key);
            if (!key.endsWith('.tar.gz') || !takenAt || !keys.has(manifestKeyOf(key))) continue;
            const verified =
              keys.has(verifiedKeyOf(key)) &&
              verificationRefusal(await getJson<unknown>(s3, bucket, verifiedKeyOf(key)), keyring, key) === undefined;
            listings.push({ key, takenAt, verified });
          }
          return listings.sort((a, b) => b.takenAt.localeCompare(a.takenAt));
        }),
      );
    },

    async deleteClusterBackups(input: { policy: ClusterBackupPolicy; keys: string[] }): Promise<{ deleted: number }> {
      return clusterBackupStep(() =>
        spaces(input.policy, async ({ s3, bucket }) => {
          const outside = input.keys.filter((k) => !k.startsWith(seriesOf(input.policy)));
          if (outside.length) throw new BackupError('Unsupported', `not backups of ${input.policy.name}: ${outside.join(', ')}`, false);
          await deleteKeys(
            s3,
            bucket,
            input.keys.flatMap((k) => [k, manifestKeyOf(k), verifiedKeyOf(k)]),
          );
          return { deleted: input.keys.length };
        }),
      );
    },

    /** DigitalOcean volume snapshots of the bound claims in the policy's namespaces (one per claim and run). */
    async snapshotClusterVolumes(input: { policy: ClusterBackupPolicy; takenAt: string }): Promise<ClusterVolumeSnapshots> {
      return clusterBackupStep(async () => {
        if (!deps.digitalOcean) throw new BackupError('Unsupported', 'this worker has no DigitalOcean account for volume snapshots', false);
        const clusterId = await clusterIdOf(deps.kubernetes, input.policy.cluster);
        const client = await clusterClient(deps.kubernetes, clusterId);
        return snapshotClusterVolumes(client, deps.digitalOcean(), input.policy, input.takenAt);
      });
    },

    /** Applies a backup's objects into new namespaces (refusing ones that already hold objects). */
    async restoreClusterObjects(input: {
      policy: ClusterBackupPolicy;
      key: string;
      /** Backed-up namespace → the new namespace it is restored into. */
      namespaces: Record<string, string>;
      /** The cluster restored into (name or id); default the policy's. */
      cluster?: string;
    }): Promise<RestoreIntoNamespacesResult> {
      return clusterBackupStep((progress) =>
        spaces(input.policy, async ({ s3, bucket }) => {
          const clusterId = await clusterIdOf(deps.kubernetes, input.cluster ?? input.policy.cluster);
          const client = await clusterClient(deps.kubernetes, clusterId);
          const { objects } = await readClusterArchive({ s3, bucket, key: input.key, keyring, tmpDir, signal: signal() });
          return restoreIntoNamespaces(client, objects, input.namespaces, input.key, progress);
        }),
      );
    },
  };
}

export type ClusterBackupActivities = ReturnType<typeof clusterBackupActivities>;
