// MariaDB for real: a seeded database dumped through gzip into the real S3 server, restored into a
// fresh database, and every table compared (row counts and CHECKSUM TABLE) with the manifest.
import { mariadb } from '../../src/backups/mariadb';
import { downloadVerified } from '../../src/backups/download-verified';
import { applyVerifiedObject } from '../../src/backups/restore-from-spaces';
import { streamBackupToSpaces } from '../../src/backups/stream-to-spaces';
import { MARIADB, dropMariadb, mariadbQuery, seedMariadb, uniqueDbName } from '../helpers/databases';
import { TEST_KEYRING } from '../helpers/backup-keys';
import { startSpaces, type TestSpaces } from '../helpers/spaces';

let spaces: TestSpaces;
const source = uniqueDbName('mdbsrc');
const made: string[] = [source];

beforeAll(async () => {
  spaces = await startSpaces();
  await seedMariadb(source, 100_000);
}, 10 * 60_000);

afterAll(async () => {
  await dropMariadb(...made);
  await spaces?.stop();
});

test('seeded tables are dumped to Spaces, restored into a fresh database and compare equal', async () => {
  const key = 'mariadb/roundtrip.sql.gz';
  const prepared = await mariadb.prepareDump(MARIADB, source);
  const manifest = await streamBackupToSpaces({
    source: prepared.source,
    compression: 'gzip',
    s3: spaces.s3,
    bucket: spaces.bucket,
    key,
    partSize: 5 * 1024 * 1024,
    signingKey: TEST_KEYRING.signingKey(),
    manifest: {
      format: prepared.format,
      policy: 'test',
      target: 'mdb',
      kind: 'mariadb',
      database: source,
      serverVersion: prepared.serverVersion,
      toolVersion: prepared.toolVersion,
      takenAt: new Date().toISOString(),
      tables: prepared.tables,
    },
  });
  await prepared.release();
  expect(manifest.tables.map((t) => [t.table, t.rows])).toEqual([
    ['bulk', 100_000],
    ['customers', 500],
    ['empty_table', 0],
    ['order lines', 3000],
  ]);
  expect(manifest.tables.every((t) => /^\d+$/.test(t.checksum))).toBe(true);
  expect(manifest.serverVersion).toMatch(/MariaDB/);
  expect(manifest.toolVersion).toMatch(/mariadb-dump|Distrib/);

  const into = uniqueDbName('mdbrestored');
  made.push(into);
  expect(await mariadb.exists(MARIADB, into)).toBe(false);
  await mariadb.create(MARIADB, into);
  expect(await mariadb.exists(MARIADB, into)).toBe(true);
  const sink = await mariadb.startRestore(MARIADB, into);
  const object = await downloadVerified({ s3: spaces.s3, bucket: spaces.bucket, key, manifest });
  const restored = await applyVerifiedObject({ key, object, compression: 'gzip', sink: sink.running, sinkLabel: sink }).finally(() =>
    object.dispose(),
  );
  expect(restored.bytesRestored).toBe(manifest.uncompressedBytes);
  expect(await mariadb.tableStats(MARIADB, into)).toEqual(manifest.tables);
  expect((await mariadbQuery(into, 'SELECT COUNT(*) FROM big_customers;')).trim()).toBe('420');
  expect((await mariadbQuery(into, 'SELECT name FROM customers WHERE id = 7;')).trim()).toBe('customer 7 – ünïcødé ✓');

  await mariadb.drop(MARIADB, into);
  expect(await mariadb.exists(MARIADB, into)).toBe(false);
});
