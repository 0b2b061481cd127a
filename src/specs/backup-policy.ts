// The backup policy spec: what to back up (databases in a droplet's containers or by connection,
// directories as archives, droplet and volume snapshots), where to (Spaces), how long to keep it,
// how to verify it, when to run, and whom to tell when it fails.
import { z } from 'zod';
import { environmentName } from './environment-name';
import { absolutePath, dnsLabel, parseSpec, secretRef, specJsonSchema } from './common';
import { cloudEndpoint } from './endpoint-url';
import { notOneOfError, whenAnObject } from './messages';
import { timeZoneProblem } from './time-zone';

// `when: whenAnObject` on the refinements below: each is said even when another field of its object
// is wrong, so one error lists every problem instead of the second showing after the first is fixed.

const inDroplet = z.strictObject({
  /** Droplet instance of an environment, such as `platform` in stack-b. */
  environment: environmentName,
  droplet: z.string().min(1),
  /** Compose service the database runs in. */
  service: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a compose service name'),
  /** The droplet's SSH port (default 22). */
  sshPort: z.number().int().min(1).max(65535).optional(),
  /** Name of a key in the worker's OPSFLOW_SSH_KEYS to log in as root with (default: the worker's `deploy`). */
  sshKey: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'must name a key from OPSFLOW_SSH_KEYS, not hold the key itself')
    .optional(),
  /** The droplet's host key fingerprint; without it the worker's known_hosts file (OPSFLOW_KNOWN_HOSTS) must know the droplet. */
  hostKey: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint (SHA256:...)')
    .optional(),
});

/** A database in a droplet's container, and the role its dumps and restores run as. */
const databaseInDroplet = inDroplet.extend({
  /**
   * The database role dumps and restores connect as, over the container's local socket. Default:
   * `postgres` for PostgreSQL (the official image's superuser unless POSTGRES_USER renames it),
   * the client's own default (root) for MySQL and MariaDB.
   */
  user: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, 'must be a database role name')
    .optional(),
  /** The role's password as a secret reference, for servers that ask for one on the local socket. */
  password: secretRef.optional(),
});

const byConnection = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1),
  password: secretRef.optional(),
});

const databaseTarget = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes'),
    kind: z.enum(['postgresql', 'mysql', 'mariadb']),
    databases: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$-]*$/, 'must be a database name')).min(1),
    in: databaseInDroplet.optional(),
    connection: byConnection.optional(),
  })
  .refine((t) => (t.in === undefined) !== (t.connection === undefined), {
    message: 'give exactly one of `in` (a droplet container) or `connection`',
    path: ['in'],
    when: whenAnObject,
  });

const directoryTarget = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes'),
  kind: z.literal('directory'),
  path: absolutePath,
  in: inDroplet.omit({ service: true }),
  exclude: z.array(z.string()).default([]),
});

const snapshotTarget = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes'),
    kind: z.enum(['droplet-snapshot', 'volume-snapshot']),
    environment: environmentName,
    /** Droplet instance or volume name within the environment. */
    resource: z.string().min(1),
    /**
     * Shut the droplet down for its snapshot and start it again afterwards, as DigitalOcean
     * advises for a consistent disk (the droplet is down meanwhile). Default: snapshot it running.
     */
    powerOff: z.boolean().default(false),
  })
  .refine((t) => !(t.powerOff && t.kind === 'volume-snapshot'), {
    message: 'powerOff applies to droplet snapshots only',
    path: ['powerOff'],
    when: whenAnObject,
  });

// By kind, so a mistake is reported on the field itself rather than as "invalid input" for the target.
const target = z.discriminatedUnion('kind', [databaseTarget, directoryTarget, snapshotTarget]);

export const retention = z.strictObject({
  /** Keep every backup this many days. */
  keepDays: z.number().int().min(1).max(3650),
  /** Additionally keep the newest backup of each of the last N ISO weeks. */
  keepWeekly: z.number().int().min(0).max(520).default(0),
  /** Additionally keep the newest backup of each of the last N months. */
  keepMonthly: z.number().int().min(0).max(240).default(0),
  /** Never delete the newest N verified backups, whatever their age: a run of failures never prunes the last good copy. */
  minVerified: z.number().int().min(1).max(100).default(3),
});

export const schedule = z
  .strictObject({
    cron: z
      .string()
      .regex(/^(\S+\s+){4}\S+$/, 'must be a 5-field cron expression such as "0 2 * * *"')
      .optional(),
    every: z
      .string()
      .regex(/^\d+(m|h|d)$/, 'must be an interval such as 6h or 30m')
      .optional(),
    timeZone: z
      .string()
      .superRefine((name, ctx) => {
        const problem = timeZoneProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('UTC'),
    overlap: z.enum(['skip', 'buffer-one', 'cancel-other', 'allow-all']).default('skip'),
    catchupWindow: z
      .string()
      .regex(/^\d+(m|h|d)$/, 'must be a duration such as 1h')
      .default('1h'),
    jitter: z
      .string()
      .regex(/^\d+(s|m)$/, 'must be a duration such as 5m')
      .default('0s'),
  })
  .refine((s) => (s.cron === undefined) !== (s.every === undefined), {
    message: 'give exactly one of cron or every',
    path: ['cron'],
    when: whenAnObject,
  });

/** A folder in the bucket: relative, without `.` or `..` parts, so it cannot climb out of its place. */
export const keyPrefix = z
  .string()
  .regex(/^[A-Za-z0-9!_.*'()/-]*$/, 'must be a plain key prefix')
  .refine((p) => !p.startsWith('/'), 'must not start with /')
  .refine(
    (p) => !p.split('/').some((part, i, parts) => part === '..' || part === '.' || (part === '' && i < parts.length - 1)),
    'must not contain .., . or // parts',
  );

/** A Spaces (S3) bucket name: 3-63 lowercase letters, digits, dots and dashes. */
export const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name');

/** Where backups go: a Spaces (S3) bucket and folder; the keys are secret references. */
export const destination = z.strictObject({
  bucket: bucketName,
  prefix: keyPrefix.default(''),
  /** Spaces endpoint, such as https://fra1.digitaloceanspaces.com; default: the local cloud's. */
  endpoint: cloudEndpoint.optional(),
  region: z.string().default('us-east-1'),
  accessKey: secretRef,
  secretKey: secretRef,
});

const backupPolicyShape = z.strictObject({
  name: dnsLabel,
  targets: z.array(target).min(1),
  destination,
  compression: z.enum(['gzip', 'zstd', 'none'], { error: notOneOfError('a compression', ['gzip', 'zstd', 'none']) }).default('gzip'),
  parallelism: z.number().int().min(1).max(16).default(2),
  retention,
  verify: z.strictObject({ restore: z.boolean().default(true) }).default({ restore: true }),
  schedule,
  notify: z.strictObject({ webhook: secretRef }).optional(),
});

export type BackupPolicy = z.infer<typeof backupPolicyShape>;
export type BackupTarget = BackupPolicy['targets'][number];
export type RetentionRules = BackupPolicy['retention'];

// Descriptions and examples for editors (`opsflow schema backup-policy`); the checks stay above.
const FIELD_DOCS: Record<string, { description: string; examples?: unknown[] }> = {
  name: { description: 'Policy name: part of every backup key and of its schedule id', examples: ['stack-b-nightly'] },
  targets: {
    description: 'What to back up: databases (in a droplet container or by connection), directories, droplet and volume snapshots',
    examples: [
      [
        {
          name: 'postgres',
          kind: 'postgresql',
          databases: ['app'],
          in: { environment: 'stack-b', droplet: 'platform', service: 'postgres' },
        },
      ],
    ],
  },
  destination: {
    description: 'The Spaces (S3) bucket backups go to; keys are secret references',
    examples: [
      {
        bucket: 'acme-backups',
        prefix: 'nightly/',
        accessKey: 'env:OPSFLOW_SECRET_SPACES_ACCESS_KEY',
        secretKey: 'env:OPSFLOW_SECRET_SPACES_SECRET_KEY',
      },
    ],
  },
  compression: {
    description: 'Compression of dumps and archives (zstd is refused when applied: the backup steps write gzip or none)',
    examples: ['gzip'],
  },
  parallelism: { description: 'Targets backed up at once', examples: [2] },
  retention: {
    description: 'How long backups are kept; the newest verified ones are never pruned',
    examples: [{ keepDays: 7, keepWeekly: 4, keepMonthly: 6 }],
  },
  verify: { description: 'Restore each backup into a scratch database and compare it with its manifest', examples: [{ restore: true }] },
  schedule: {
    description: 'When it runs: a 5-field cron in a time zone, or an interval',
    examples: [{ cron: '0 2 * * *', timeZone: 'Europe/Berlin' }, { every: '6h' }],
  },
  notify: {
    description: 'A webhook (secret reference) told when a run fails',
    examples: [{ webhook: 'env:OPSFLOW_SECRET_BACKUP_WEBHOOK' }],
  },
};
const documentedShape = backupPolicyShape.extend(
  Object.fromEntries(
    Object.entries(backupPolicyShape.shape).map(([key, field]) => [key, FIELD_DOCS[key] ? field.meta(FIELD_DOCS[key]) : field]),
  ) as typeof backupPolicyShape.shape,
);

export const backupPolicySchema = documentedShape.superRefine(
  (policy, ctx) => {
    // Runs even when fields failed (`when`): targets may then be anything but a list of objects.
    if (!Array.isArray(policy.targets)) return;
    const names = new Set<string>();
    policy.targets.forEach((t, i) => {
      if (typeof t?.name !== 'string') return;
      if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `target name ${t.name} is used twice` });
      names.add(t.name);
    });
  },
  { when: whenAnObject },
);

export function parseBackupPolicy(input: unknown): BackupPolicy {
  return parseSpec('backup policy', backupPolicySchema, input);
}

export function backupPolicyJsonSchema(): unknown {
  return specJsonSchema(documentedShape);
}
