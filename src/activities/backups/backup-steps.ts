// Backup activities: dump to Spaces, restore, compare, list, delete, notify. Secrets (Spaces keys,
// database passwords, the webhook URL) are resolved here from the policy's references; long steps
// heartbeat with bytes so far and stop when cancelled; failures leave as ApplicationFailures whose
// type names the kind, retryable or not (rule 3). Every step is safe to run again: a backup whose
// signed manifest exists is returned as is, pending parts of a dead attempt are aborted first.
// Rule 11: a manifest is used only once its signature (the worker's backup key) checks out, and
// an object only once it was downloaded whole and matched that manifest; only then is a database
// dropped, created or fed.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { S3Client } from '@aws-sdk/client-s3';
import { backupKeyringFromEnv, type BackupKeyring } from '../../backups/backup-key';
import { CommandFailed, runToCompletion, type CommandRunner } from '../../backups/command-runner';
import { firstLine, restoreStagingNames, type DatabaseAccess } from '../../backups/database';
import { downloadVerified, restoreTmpDirFromEnv, type VerifiedObject } from '../../backups/download-verified';
import { directorySource } from '../../backups/dump-source';
import { engineFor } from '../../backups/engines';
import { BackupError, asBackupError } from '../../backups/errors';
import {
  backupKey,
  manifestKeyOf,
  MANIFEST_SUFFIX,
  policyPrefix,
  seriesPrefix,
  takenAtOf,
  verifiedKeyOf,
  VERIFIED_SUFFIX,
  type BackupManifest,
  type DumpFormat,
  type TableStats,
  type VerificationRecord,
} from '../../backups/keys';
import { authenticateManifest } from '../../backups/manifest-auth';
import { signVerification, verificationRefusal } from '../../backups/verification-auth';
import { dropletRunners, knownHostsFileFromEnv, type DropletAddress } from '../../backups/droplet-runner';
import { inventoryHostKey } from '../environment/pinned-host-keys';
import { localRunner } from '../../backups/local-runner';
import { applyVerifiedObject } from '../../backups/restore-from-spaces';
import { secretResolver, type SecretResolver } from '../../backups/secrets';
import { deleteKeys, getJson, listAll, putJson, type SpacesAccess } from '../../backups/spaces';
import { streamBackupToSpaces } from '../../backups/stream-to-spaces';
import { postWebhook } from '../../backups/webhook';
import { withPolicySpaces, type OpenSpaces } from '../../backups/policy-spaces';
import { digitalOceanClientFactory } from '../../integrations/digitalocean/account';
import { DigitalOceanApiError } from '../../integrations/digitalocean/errors';
import type { BackupPolicy, BackupTarget } from '../../specs/backup-policy';
import { compressionProblem } from '../../specs/compression-support';
import { readPrivateKey } from '../../ssh-keys';
import { toActivityFailure } from '../digitalocean/failures';
import { STEP_FAILURE } from '../../workflows/shared/failures';

type DatabaseTarget = Extract<BackupTarget, { kind: 'postgresql' | 'mysql' | 'mariadb' }>;
type DirectoryTarget = Extract<BackupTarget, { kind: 'directory' }>;

/** A place inside a droplet: its host, or a compose service's container on it; how to reach it over SSH. */
export type DropletPlace = DropletAddress;

export interface BackupDeps {
  /** An S3 client for a destination (keys already resolved); default: path-style, bounded timeouts. */
  s3Client?: (access: SpacesAccess) => S3Client;
  /** Resolves `env:` / `file:` references on the worker; default: this process's environment. */
  resolveSecret?: SecretResolver;
  /** The Spaces endpoint for policies that name none (the local cloud's); env SPACES_ENDPOINT. */
  defaultEndpoint?: string;
  /**
   * How to run commands in a droplet (`in:` targets): over SSH, as `docker exec -i <service> ...`
   * when a service is named (src/backups/droplet-runner.ts). Without it such targets fail as Unsupported.
   */
  dropletRunner?: (place: DropletPlace) => CommandRunner | Promise<CommandRunner>;
  /** Where `connection` targets' tools run; default: spawned on this worker. */
  localRunner?: CommandRunner;
  fetch?: typeof fetch;
  /** Multipart tuning (tests use the 5 MiB minimum to get several parts from small dumps). */
  upload?: { partSize?: number; queueSize?: number };
  /** Signs new manifests, checks manifests before a restore; default: from this process's environment (backup-key.ts). */
  backupKeys?: BackupKeyring;
  /** Where a backup is held while it is verified, before a restore (default OPSFLOW_BACKUP_TMPDIR, else the OS's). */
  restoreTmpDir?: string;
}

export interface BackupOutcome {
  target: string;
  database?: string;
  key: string;
  compressedBytes: number;
  uncompressedBytes: number;
  sha256: string;
  durationMs: number;
  tables: number;
}

export interface BackupListing {
  key: string;
  target: string;
  database?: string;
  takenAt: string;
  verified: boolean;
  compressedBytes: number;
}

const isDatabaseTarget = (t: BackupTarget): t is DatabaseTarget => t.kind === 'postgresql' || t.kind === 'mysql' || t.kind === 'mariadb';

/** Heartbeat details repeated by the keep-alive until the next update. */
const lastDetails = new WeakMap<Context, unknown>();
function progress(details: unknown): void {
  const ctx = Context.current();
  lastDetails.set(ctx, details);
  ctx.heartbeat(details);
}

function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  // Finding a droplet target through the API: DigitalOcean* types, with the API's own retry delay.
  if (err instanceof DigitalOceanApiError) return toActivityFailure(err);
  const e =
    err instanceof BackupError
      ? err
      : err instanceof CommandFailed || (err as { $metadata?: unknown })?.$metadata
        ? asBackupError(err, 'backup step')
        : undefined;
  if (!e) return err;
  return ApplicationFailure.create({ type: e.type, message: e.message, nonRetryable: !e.retryable });
}

/** Runs an activity body with a 5 s keep-alive heartbeat and classified failures. */
async function step<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const keepAlive = setInterval(() => ctx.heartbeat(lastDetails.get(ctx)), 5000);
  try {
    return await body(ctx.cancellationSignal);
  } catch (err) {
    throw toFailure(err);
  } finally {
    clearInterval(keepAlive);
  }
}

function targetOf(policy: BackupPolicy, name: string): BackupTarget {
  const target = policy.targets.find((t) => t.name === name);
  if (!target) throw new BackupError('NotFound', `policy ${policy.name} has no target ${name}`, false);
  return target;
}

function databaseTargetOf(policy: BackupPolicy, name: string): DatabaseTarget {
  const target = targetOf(policy, name);
  if (!isDatabaseTarget(target)) throw new BackupError('Unsupported', `target ${name} is a ${target.kind}, not a database`, false);
  return target;
}

function compressionOf(policy: BackupPolicy): 'gzip' | 'none' {
  // The reason `schedules apply` gives too, for a policy that reached a run without it (started by hand).
  if (policy.compression === 'zstd') throw new BackupError('Unsupported', `compression: ${compressionProblem('zstd')}`, false);
  return policy.compression;
}

export function createBackupActivities(deps: BackupDeps = {}) {
  const resolve = deps.resolveSecret ?? secretResolver();
  const runLocally = deps.localRunner ?? localRunner();
  const keyring = deps.backupKeys ?? backupKeyringFromEnv();

  function withSpaces<T>(policy: BackupPolicy, use: (s: OpenSpaces) => Promise<T>): Promise<T> {
    return withPolicySpaces({ s3Client: deps.s3Client, defaultEndpoint: deps.defaultEndpoint, resolve }, policy, use);
  }

  async function dropletRunner(target: BackupTarget, place: DropletPlace): Promise<CommandRunner> {
    if (!deps.dropletRunner)
      throw new BackupError(
        'Unsupported',
        `target ${target.name} lives in droplet ${place.droplet} of ${place.environment}: this worker has no SSH runner for droplet targets yet`,
        false,
      );
    return deps.dropletRunner(place);
  }

  async function databaseAccess(target: DatabaseTarget): Promise<DatabaseAccess> {
    if (target.connection) {
      const { host, port, user, password } = target.connection;
      return { runner: runLocally, host, port, user, password: password ? await resolve(password) : undefined };
    }
    const place = target.in as NonNullable<DatabaseTarget['in']>;
    // Inside the official images the client tools connect over the local socket, as the target's
    // role; without one, PostgreSQL's default superuser `postgres`, and the client's default (root) otherwise.
    return {
      runner: await dropletRunner(target, place),
      user: place.user ?? (target.kind === 'postgresql' ? 'postgres' : undefined),
      password: place.password ? await resolve(place.password) : undefined,
    };
  }

  /** The manifest of `key`, authenticated; nothing in it is used before that. */
  async function readManifest(s3: S3Client, bucket: string, key: string): Promise<BackupManifest> {
    const raw = await getJson<unknown>(s3, bucket, manifestKeyOf(key));
    if (raw === undefined) throw new BackupError('NotFound', `no backup ${key}: its manifest ${manifestKeyOf(key)} does not exist`, false);
    return authenticateManifest(raw, keyring, key);
  }

  /** Whether `key`'s verification record is one this worker signed for it; a forged or unsigned one is named in the log and ignored. */
  async function verifiedByThisWorker(s3: S3Client, bucket: string, key: string): Promise<boolean> {
    const refusal = verificationRefusal(await getJson<unknown>(s3, bucket, verifiedKeyOf(key)), keyring, key);
    if (refusal) Context.current().log.warn(`${verifiedKeyOf(key)} is not counted as a verification: ${refusal}`);
    return refusal === undefined;
  }

  /** A backup an earlier attempt finished: only if this worker signed it; anything else is overwritten. */
  async function finishedBackup(s3: S3Client, bucket: string, key: string): Promise<BackupManifest | undefined> {
    return readManifest(s3, bucket, key).catch((err: unknown) => {
      if (
        err instanceof BackupError &&
        (err.type === STEP_FAILURE.NotFound ||
          err.type === STEP_FAILURE.BackupNotAuthentic ||
          err.type === STEP_FAILURE.BackupFormatRefused)
      )
        return undefined;
      throw err;
    });
  }

  /** The authenticated manifest of `key` and its object, downloaded whole and checked against it. */
  async function verifiedBackup(
    s3: S3Client,
    bucket: string,
    key: string,
    format: DumpFormat,
    signal: AbortSignal,
    phase: Record<string, unknown>,
  ): Promise<{ manifest: BackupManifest; object: VerifiedObject }> {
    const manifest = await readManifest(s3, bucket, key);
    if (manifest.format !== format)
      throw new BackupError('Unsupported', `${key} holds ${manifest.format}; this restore reads ${format}`, false);
    const object = await downloadVerified({
      s3,
      bucket,
      key,
      manifest,
      tmpDir: deps.restoreTmpDir ?? restoreTmpDirFromEnv(),
      signal,
      onProgress: (p) => progress({ phase: 'downloading', ...phase, ...p }),
    });
    return { manifest, object };
  }

  const outcomeOf = (m: BackupManifest, target: string, database?: string): BackupOutcome => ({
    target,
    database,
    key: m.key,
    compressedBytes: m.compressedBytes,
    uncompressedBytes: m.uncompressedBytes,
    sha256: m.sha256,
    durationMs: Date.parse(m.endedAt) - Date.parse(m.startedAt),
    tables: m.tables.length,
  });

  return {
    /** One database of a target, dumped and streamed to Spaces with its manifest. */
    async backupDatabase(input: { policy: BackupPolicy; target: string; database: string; takenAt: string }): Promise<BackupOutcome> {
      return step(async (signal) => {
        const { policy, database, takenAt } = input;
        const target = databaseTargetOf(policy, input.target);
        if (!target.databases.includes(database))
          throw new BackupError('NotFound', `target ${target.name} has no database ${database}`, false);
        const compression = compressionOf(policy);
        const signingKey = keyring.signingKey(); // before anything is dumped
        const engine = engineFor(target.kind);
        return withSpaces(policy, async ({ s3, bucket, prefix }) => {
          const key = backupKey({
            prefix,
            policy: policy.name,
            target: target.name,
            database,
            takenAt,
            compression,
            format: engine.dumpFormat,
          });
          const done = await finishedBackup(s3, bucket, key);
          if (done) return outcomeOf(done, target.name, database); // an earlier attempt finished
          const access = await databaseAccess(target);
          progress({ phase: 'reading table statistics', database });
          const prepared = await engine.prepareDump(access, database);
          try {
            const manifest = await streamBackupToSpaces({
              source: prepared.source,
              compression,
              s3,
              bucket,
              key,
              signal,
              signingKey,
              sizeHint: prepared.sizeHint,
              ...deps.upload,
              manifest: {
                format: prepared.format,
                policy: policy.name,
                target: target.name,
                kind: target.kind,
                database,
                serverVersion: prepared.serverVersion,
                toolVersion: prepared.toolVersion,
                takenAt,
                tables: prepared.tables,
              },
              onProgress: (p) => progress({ phase: 'dumping', database, ...p }),
            });
            return outcomeOf(manifest, target.name, database);
          } finally {
            await prepared.release();
          }
        });
      });
    },

    /** A directory in a droplet (media volume), archived with tar and streamed to Spaces. */
    async backupDirectory(input: { policy: BackupPolicy; target: string; takenAt: string }): Promise<BackupOutcome> {
      return step(async (signal) => {
        const { policy, takenAt } = input;
        const target = targetOf(policy, input.target);
        if (target.kind !== 'directory')
          throw new BackupError('Unsupported', `target ${target.name} is a ${target.kind}, not a directory`, false);
        const compression = compressionOf(policy);
        const signingKey = keyring.signingKey();
        return withSpaces(policy, async ({ s3, bucket, prefix }) => {
          const key = backupKey({ prefix, policy: policy.name, target: target.name, takenAt, compression, format: 'tar' });
          const done = await finishedBackup(s3, bucket, key);
          if (done) return outcomeOf(done, target.name);
          const dir = target as DirectoryTarget;
          const runner = await dropletRunner(target, dir.in);
          const toolVersion = firstLine(await runToCompletion(runner, { argv: ['tar', '--version'] }));
          const manifest = await streamBackupToSpaces({
            source: directorySource(runner, { path: dir.path, exclude: dir.exclude }),
            compression,
            s3,
            bucket,
            key,
            signal,
            signingKey,
            ...deps.upload,
            manifest: {
              format: 'tar',
              policy: policy.name,
              target: target.name,
              kind: 'directory',
              database: dir.path,
              serverVersion: '',
              toolVersion,
              takenAt,
              tables: [],
            },
            onProgress: (p) => progress({ phase: 'archiving', path: dir.path, ...p }),
          });
          return outcomeOf(manifest, target.name);
        });
      });
    },

    async readManifest(input: { policy: BackupPolicy; key: string }): Promise<BackupManifest> {
      return step(() => withSpaces(input.policy, ({ s3, bucket }) => readManifest(s3, bucket, input.key)));
    },

    /** Every complete backup of the policy (or of one target / database), newest first. */
    async listBackups(input: { policy: BackupPolicy; target?: string; database?: string }): Promise<BackupListing[]> {
      return step(() =>
        withSpaces(input.policy, async ({ s3, bucket, prefix }) => {
          const ownPrefix = policyPrefix(prefix, input.policy.name);
          const listPrefix = !input.target
            ? ownPrefix
            : input.database
              ? seriesPrefix(prefix, input.policy.name, input.target, input.database)
              : `${ownPrefix}${input.target}/`;
          const objects = await listAll(s3, bucket, listPrefix);
          const sizes = new Map(objects.map((o) => [o.Key as string, o.Size ?? 0]));
          const listings: BackupListing[] = [];
          for (const manifestKey of sizes.keys()) {
            if (!manifestKey.endsWith(MANIFEST_SUFFIX)) continue;
            const key = manifestKey.slice(0, -MANIFEST_SUFFIX.length);
            const takenAt = takenAtOf(key);
            // A manifest is written last, so with its object it marks a complete backup.
            if (!sizes.has(key) || !takenAt) continue;
            const [target = '', database = ''] = key.slice(ownPrefix.length).split('/');
            listings.push({
              key,
              target,
              database: database === 'archive' ? undefined : database,
              takenAt,
              verified: sizes.has(key + VERIFIED_SUFFIX),
              compressedBytes: sizes.get(key) ?? 0,
            });
          }
          // A record is there: it counts only if this worker signed it for this backup.
          for (const listing of listings.filter((l) => l.verified)) listing.verified = await verifiedByThisWorker(s3, bucket, listing.key);
          return listings.sort((a, b) => b.takenAt.localeCompare(a.takenAt));
        }),
      );
    },

    /** Deletes backups (object, manifest, verification record); only under the policy's own folder. */
    async deleteBackups(input: { policy: BackupPolicy; keys: string[] }): Promise<{ deleted: number }> {
      return step(() =>
        withSpaces(input.policy, async ({ s3, bucket, prefix }) => {
          const own = policyPrefix(prefix, input.policy.name);
          const foreign = input.keys.filter((k) => !k.startsWith(own));
          if (foreign.length) throw new BackupError('Unsupported', `refusing to delete keys outside ${own}: ${foreign.join(', ')}`, false);
          await deleteKeys(
            s3,
            bucket,
            input.keys.flatMap((k) => [manifestKeyOf(k), verifiedKeyOf(k), k]),
          );
          return { deleted: input.keys.length };
        }),
      );
    },

    /** Refuses (DatabaseExists) when the database exists and overwriting was not asked for. */
    async checkRestoreTarget(input: {
      policy: BackupPolicy;
      target: string;
      database: string;
      overwrite: boolean;
    }): Promise<{ exists: boolean }> {
      return step(async () => {
        const target = databaseTargetOf(input.policy, input.target);
        const exists = await engineFor(target.kind).exists(await databaseAccess(target), input.database);
        if (exists && !input.overwrite) {
          throw new BackupError(
            'DatabaseExists',
            `database ${input.database} already exists on target ${target.name}; restoring over it needs overwrite: true`,
            false,
          );
        }
        return { exists };
      });
    },

    /**
     * Restores a backup into `database`, created fresh. `replace` replaces a database of that name
     * (a scratch database, an approved overwrite, or this restore's own earlier attempt): where the
     * engine can swap atomically (PostgreSQL), only once the whole backup is restored beside it.
     * Nothing is dropped, created or fed before the manifest is authenticated and the whole object
     * matched it. On failure the half-restored database is dropped.
     */
    async restoreIntoDatabase(input: {
      policy: BackupPolicy;
      target: string;
      key: string;
      database: string;
      replace: boolean;
    }): Promise<{ key: string; database: string; bytesRestored: number; durationMs: number }> {
      return step(async (signal) => {
        const target = databaseTargetOf(input.policy, input.target);
        const engine = engineFor(target.kind);
        const access = await databaseAccess(target);
        return withSpaces(input.policy, async ({ s3, bucket }) => {
          const started = Date.now();
          const { manifest, object } = await verifiedBackup(s3, bucket, input.key, engine.dumpFormat, signal, { database: input.database });
          try {
            if (manifest.kind !== target.kind)
              throw new BackupError(
                'Unsupported',
                `${input.key} is a ${manifest.kind} backup; target ${target.name} is ${target.kind}`,
                false,
              );
            if (await engine.exists(access, input.database)) {
              if (!input.replace)
                throw new BackupError('DatabaseExists', `database ${input.database} already exists on target ${target.name}`, false);
              // Without an atomic swap the old database goes first; with one it stays until the swap.
              if (!engine.replaceWith) await engine.drop(access, input.database);
            }
            // A staging database (what an earlier attempt left of one is dropped) put in place at the end.
            const into = engine.replaceWith ? restoreStagingNames(input.database).staging : input.database;
            if (engine.replaceWith) await engine.drop(access, into);
            await engine.create(access, into);
            progress({ phase: 'restoring', database: input.database, bytes: object.bytes });
            const sink = await engine.startRestore(access, into);
            let bytesRestored: number;
            try {
              ({ bytesRestored } = await applyVerifiedObject({
                key: input.key,
                object,
                compression: manifest.compression,
                sink: sink.running,
                sinkLabel: sink,
                signal,
              }));
            } catch (err) {
              await engine.drop(access, into).catch(() => undefined);
              throw err;
            }
            await engine.replaceWith?.(access, into, input.database);
            return { key: input.key, database: input.database, bytesRestored, durationMs: Date.now() - started };
          } finally {
            await object.dispose();
          }
        });
      });
    },

    async tableStats(input: { policy: BackupPolicy; target: string; database: string }): Promise<TableStats[]> {
      return step(async () => {
        const target = databaseTargetOf(input.policy, input.target);
        return engineFor(target.kind).tableStats(await databaseAccess(target), input.database);
      });
    },

    async dropDatabase(input: { policy: BackupPolicy; target: string; database: string }): Promise<void> {
      return step(async () => {
        const target = databaseTargetOf(input.policy, input.target);
        await engineFor(target.kind).drop(await databaseAccess(target), input.database);
      });
    },

    /** A directory archive: its manifest authenticated, downloaded whole and checked, then read through by `tar -t`. */
    async verifyArchive(input: { policy: BackupPolicy; key: string }): Promise<{ bytes: number }> {
      return step((signal) =>
        withSpaces(input.policy, async ({ s3, bucket }) => {
          const { manifest, object } = await verifiedBackup(s3, bucket, input.key, 'tar', signal, { key: input.key });
          try {
            // --ignore-zeros: read to the end of the input, not only to the end-of-archive blocks; tar
            // otherwise stops inside the last record when its first read was short, and the writer sees EPIPE.
            const running = await runLocally.start({ argv: ['tar', '--ignore-zeros', '-tf', '-'] });
            await applyVerifiedObject({
              key: input.key,
              object,
              compression: manifest.compression,
              sink: running,
              sinkLabel: { command: 'tar', where: runLocally.where },
              signal,
            });
            return { bytes: object.bytes };
          } finally {
            await object.dispose();
          }
        }),
      );
    },

    async recordVerification(input: { policy: BackupPolicy; record: VerificationRecord }): Promise<void> {
      return step(() =>
        withSpaces(input.policy, ({ s3, bucket }) =>
          putJson(s3, bucket, verifiedKeyOf(input.record.key), signVerification(input.record, keyring.signingKey())),
        ),
      );
    },

    /** One message to the policy's Slack-compatible webhook, if it has one. */
    async postFailureNotice(input: { policy: Pick<BackupPolicy, 'name' | 'notify'>; text: string }): Promise<{ sent: boolean }> {
      return step(async () => {
        if (!input.policy.notify) return { sent: false };
        await postWebhook(await resolve(input.policy.notify.webhook), input.text, deps.fetch);
        return { sent: true };
      });
    },
  };
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;

/**
 * The worker's backup settings from its environment: SPACES_ENDPOINT; the backup key
 * (OPSFLOW_BACKUP_KEY or OPSFLOW_BACKUP_KEY_FILE) and OPSFLOW_BACKUP_TMPDIR; droplet targets reached over
 * SSH with the DigitalOcean account the worker uses (DIGITALOCEAN_TOKEN, else the local cloud), keys
 * from OPSFLOW_SSH_KEYS (default `deploy`) and host keys from OPSFLOW_KNOWN_HOSTS (~/.ssh/known_hosts).
 */
export function backupDepsFromEnv(env: NodeJS.ProcessEnv = process.env): BackupDeps {
  return {
    defaultEndpoint: env.SPACES_ENDPOINT || undefined,
    // Read at worker start: a malformed key or a key file others may read stops the worker, naming the setting.
    backupKeys: backupKeyringFromEnv(env),
    restoreTmpDir: restoreTmpDirFromEnv(env),
    resolveSecret: secretResolver(env),
    dropletRunner: dropletRunners({
      digitalOcean: digitalOceanClientFactory(env),
      privateKey: (name) => readPrivateKey(name, env),
      defaultKey: 'deploy',
      // The host keys provisioning pinned, from the environment's inventory; then known_hosts.
      pinnedHostKey: inventoryHostKey,
      knownHostsFile: knownHostsFileFromEnv(env),
    }),
  };
}
