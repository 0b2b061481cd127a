// What the backup tests that break a run midway (chaos on the dev server, the production tier on
// PostgreSQL) share: a source database on the machine's PostgreSQL big enough that its dump is
// uploaded in several parts, a restore target with other contents, the policy backing it up to
// Spaces, the worker's environment for it, and the key a run's dump is written to.
import { backupKey } from '../../src/backups/keys';
import { parseBackupPolicy, type BackupPolicy } from '../../src/specs/backup-policy';
import { psql } from './databases';
import type { TestSpaces } from './spaces';

/** Every row of every table, in order, as one digest per table: equal digests, equal contents. */
export const contents = (database: string) =>
  psql(
    database,
    "SELECT 'bulk', md5(string_agg(id || ':' || md5(payload), ',' ORDER BY id)) FROM bulk UNION ALL SELECT 'notes', md5(string_agg(id || ':' || note, ',' ORDER BY id)) FROM notes;",
  );

/** Creates `database` with about 24 MB of incompressible bytes: a dump of several 8 MiB parts, however well gzip does. */
export async function createBackupSource(database: string): Promise<void> {
  await psql('postgres', `CREATE DATABASE "${database}";`);
  await psql(
    database,
    `CREATE TABLE bulk (id int PRIMARY KEY, payload bytea);
INSERT INTO bulk SELECT g, decode(string_agg(md5(g::text || '-' || i::text || random()::text), ''), 'hex') FROM generate_series(1, 1500) g, generate_series(1, 1000) i GROUP BY g;
CREATE TABLE notes (id int PRIMARY KEY, note text);
INSERT INTO notes SELECT g, 'source note ' || g FROM generate_series(1, 1000) g;`,
  );
}

/** Creates `database` with the source's tables and other contents: a restore overwrites it. */
export async function createRestoreTarget(database: string): Promise<void> {
  await psql('postgres', `CREATE DATABASE "${database}";`);
  await psql(
    database,
    `CREATE TABLE bulk (id int PRIMARY KEY, payload bytea); INSERT INTO bulk VALUES (1, 'old');
CREATE TABLE notes (id int PRIMARY KEY, note text); INSERT INTO notes VALUES (1, 'old note');`,
  );
}

/** A policy backing up `database` (target `pg`, the machine's PostgreSQL) to `spaces` under `prefix`. */
export function backupPolicyOf(name: string, spaces: TestSpaces, database: string, prefix: string): BackupPolicy {
  return parseBackupPolicy({
    name,
    targets: [{ name: 'pg', kind: 'postgresql', databases: [database], connection: { host: '127.0.0.1', port: 5432, user: 'postgres' } }],
    destination: {
      bucket: spaces.bucket,
      prefix,
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_SPACES_ACCESS_KEY',
      secretKey: 'env:OPSFLOW_SECRET_SPACES_SECRET_KEY',
    },
    retention: { keepDays: 30, minVerified: 1 },
    schedule: { every: '1h' },
  });
}

/** What the worker needs for such a policy: the signing key and the Spaces keys its references name. */
export function backupWorkerEnv(spaces: TestSpaces, signingKey: string): NodeJS.ProcessEnv {
  return {
    OPSFLOW_BACKUP_KEY: signingKey,
    OPSFLOW_SECRET_SPACES_ACCESS_KEY: spaces.accessKey,
    OPSFLOW_SECRET_SPACES_SECRET_KEY: spaces.secretKey,
  };
}

/** The key the dump of `database` taken at `takenAt` (a backupDatabase attempt's input) is uploaded to. */
export function dumpKeyOf(policy: BackupPolicy, database: string, takenAt: string): string {
  return backupKey({
    prefix: policy.destination.prefix,
    policy: policy.name,
    target: 'pg',
    database,
    takenAt,
    compression: 'gzip',
    format: 'postgresql-custom',
  });
}
