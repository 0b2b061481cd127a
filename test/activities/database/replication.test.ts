// Database failover primitives on a real MariaDB pair started by the test (its own ports and
// folders): GTID replication carries the application's writes; a lag held open by construction
// (the replica's SQL thread stopped, then its IO thread) is reported exactly in transactions; the
// fence makes the old primary refuse the application and cuts its open connection; promotion
// waits until the replica applied everything, loses nothing when it can, refuses beyond the RPO
// budget and, forced with a reason, reports exactly what was lost; the old primary follows the new
// one, and one holding lost transactions is refused as errant, then re-seeded from a copy of the
// new primary (its own databases saved to a file first) and following it again.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createConnection } from 'mysql2/promise';
import { readFileSync, statSync } from 'node:fs';
import { createDatabaseFailoverActivities } from '../../../src/activities/database/replication';
import { secretResolver } from '../../../src/backups/secrets';
import { parseGtidPosition, covers } from '../../../src/integrations/mysql/gtid';
import { appWrite, orderCount, PASSWORDS, startMariadb, stopAllMariadb, type MariadbServer } from '../../helpers/mariadb-servers';
import { tempDir } from '../../helpers/temp';

afterAll(() => stopAllMariadb());

const db = createDatabaseFailoverActivities({ resolveSecret: secretResolver({ ...PASSWORDS }) });
const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;
const replication = { user: 'repl', password: 'env:OPSFLOW_SECRET_DB_REPL' };

async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(error)}`);
  return error;
}

/** Polls (an event, not a time): until the replica's status satisfies `done`. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let polls = 0; !(await check()); polls++) {
    if (polls > 1500) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const primaryPosition = async (server: MariadbServer) => (await server.sql('SELECT @@global.gtid_binlog_pos')).trim();
const receivedAll = (replica: MariadbServer, primary: MariadbServer) =>
  until(`${replica.name} received all of ${primary.name}`, async () => {
    const report = await run(() => db.readReplication({ server: replica.admin }));
    return covers(parseGtidPosition(report.replica?.received), parseGtidPosition(await primaryPosition(primary)));
  });

let fra: MariadbServer;
let lon: MariadbServer;

test('replication, lag measured exactly, fence, promotion with nothing lost, the old primary following the new', async () => {
  [fra, lon] = await Promise.all([startMariadb('fra1-db', 11), startMariadb('london-db', 12)]);
  await fra.sql('CREATE DATABASE shop; CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB;');
  await run(() => db.replicateFrom({ server: lon.admin, primary: fra.admin, replication }));
  for (let i = 0; i < 20; i++) await appWrite(fra, `order ${i}`);
  await until(
    'london applied all 20 orders',
    async () => (await run(() => db.readReplication({ server: lon.admin, primary: fra.admin }))).behindPrimary?.transactions === 0,
  );
  expect(await orderCount(lon)).toBe(20);
  const caughtUp = await run(() => db.readReplication({ server: lon.admin, primary: fra.admin }));
  expect(caughtUp).toMatchObject({ role: 'replica', readOnly: true, unappliedTransactions: 0, behindPrimary: { transactions: 0 } });
  expect(caughtUp.replica).toMatchObject({ ioRunning: 'Yes', sqlRunning: 'Yes', primaryPort: fra.port });
  expect((await run(() => db.readReplication({ server: fra.admin }))).role).toBe('primary');

  // The lag held open: london receives but does not apply 7 more orders.
  await lon.sql('STOP SLAVE SQL_THREAD');
  for (let i = 0; i < 7; i++) await appWrite(fra, `late ${i}`);
  await receivedAll(lon, fra);
  const lagging = await run(() => db.readReplication({ server: lon.admin, primary: fra.admin }));
  expect(lagging).toMatchObject({ unappliedTransactions: 7, behindPrimary: { transactions: 7 } });
  expect(lagging.replica!.secondsBehind).toBeNull();

  // Fence: the application's open connection is cut, a new one's write refused; replicas still read.
  const appConnection = await createConnection({
    host: '127.0.0.1',
    port: fra.port,
    user: 'app',
    password: PASSWORDS.OPSFLOW_SECRET_DB_APP,
    database: 'shop',
  });
  await appConnection.query('SELECT 1');
  const fenced = await run(() => db.fencePrimary({ server: fra.admin }));
  expect(fenced).toMatchObject({
    server: 'fra1-db',
    readOnly: true,
    superReadOnly: 'not available',
    finalPosition: await primaryPosition(fra),
  });
  expect(fenced.killedConnections).toBeGreaterThanOrEqual(1);
  await expect(appConnection.query('SELECT 1')).rejects.toThrow();
  appConnection.destroy();
  await expect(appWrite(fra, 'after fence')).rejects.toThrow(/read-only/);
  const fencedAgain = await run(() => db.fencePrimary({ server: fra.admin }));
  expect(fencedAgain.finalPosition).toBe(fenced.finalPosition);

  // Promotion: london applies the 7 it held, loses nothing, becomes writable.
  const promoted = await run(() =>
    db.promoteReplica({ server: lon.admin, primaryFinalPosition: fenced.finalPosition, maxLostTransactions: 0 }),
  );
  expect(promoted).toMatchObject({ server: 'london-db', promoted: true, rpo: { lostTransactions: 0, unappliedTransactions: 0 } });
  expect(await orderCount(lon)).toBe(27);
  // A retried attempt changes nothing and reports the same loss.
  const retried = await run(() =>
    db.promoteReplica({ server: lon.admin, primaryFinalPosition: fenced.finalPosition, maxLostTransactions: 0 }),
  );
  expect(retried).toMatchObject({ promoted: false, rpo: { lostTransactions: 0 } });
  await appWrite(lon, 'on the new primary');
  expect(await orderCount(lon)).toBe(28);
  expect((await run(() => db.readReplication({ server: lon.admin }))).role).toBe('primary');

  // Failback's first half: the old primary follows the new one, read-only, and receives its writes.
  await run(() =>
    db.replicateFrom({ server: fra.admin, primary: lon.admin, replication, appliedAtPromotion: promoted.appliedAtPromotion }),
  );
  await until(
    'fra1 applied the new primary’s write',
    async () => (await run(() => db.readReplication({ server: fra.admin, primary: lon.admin }))).behindPrimary?.transactions === 0,
  );
  expect(await orderCount(fra)).toBe(28);
  expect((await run(() => db.readReplication({ server: fra.admin }))).role).toBe('replica');
  await expect(appWrite(fra, 'still fenced')).rejects.toThrow(/read-only/);
  const check = await run(() => db.verifyWrite({ server: lon.admin, id: 'failover-test-1' }));
  expect(check).toMatchObject({ server: 'london-db', wrote: 'failover-test-1' });
});

test('a replica that never received the last writes: the loss counted exactly, refused over budget, forced with a reason', async () => {
  // london is the primary now and fra1 its replica (the test above). fra1 stops receiving.
  await fra.sql('STOP SLAVE IO_THREAD');
  for (let i = 0; i < 5; i++) await appWrite(lon, `unreplicated ${i}`);
  const behind = await run(() => db.readReplication({ server: fra.admin, primary: lon.admin }));
  expect(behind).toMatchObject({ unappliedTransactions: 0, behindPrimary: { transactions: 5 } });
  const fenced = await run(() => db.fencePrimary({ server: lon.admin }));

  const refused = await failureOf(
    run(() => db.promoteReplica({ server: fra.admin, primaryFinalPosition: fenced.finalPosition, maxLostTransactions: 2 })),
  );
  expect(refused.type).toBe('RpoBudgetExceeded');
  expect(refused.message).toContain('fra1-db lacks 5 transaction(s) of the old primary; the RPO budget is 2: not promoted');
  // Refused: still a read-only replica.
  expect((await run(() => db.readReplication({ server: fra.admin }))).role).toBe('replica');
  await expect(appWrite(fra, 'refused')).rejects.toThrow(/read-only/);
  expect(
    (await failureOf(run(() => db.promoteReplica({ server: fra.admin, maxLostTransactions: 0, force: { reason: ' ' } })))).message,
  ).toBe('force: a forced promotion needs a reason');

  const forced = await run(() =>
    db.promoteReplica({
      server: fra.admin,
      primaryFinalPosition: fenced.finalPosition,
      maxLostTransactions: 2,
      force: { reason: 'london burned down' },
    }),
  );
  expect(forced).toMatchObject({ promoted: true, rpo: { lostTransactions: 5 }, forced: { reason: 'london burned down' } });
  await appWrite(fra, 'after forced promotion');

  // The old primary holds the 5 lost transactions: following the new primary is refused.
  const errant = await failureOf(
    run(() => db.replicateFrom({ server: lon.admin, primary: fra.admin, replication, appliedAtPromotion: forced.appliedAtPromotion })),
  );
  expect(errant.type).toBe('ErrantTransactions');
  expect(errant.message).toContain('london-db holds 5 transaction(s) the new primary never had');

  // Re-seeded instead: its databases saved first (the 5 unreplicated orders are only there), then a
  // copy of the new primary, its binlog reset, following the primary from where the copy was taken.
  const saveTo = tempDir('errant-saves');
  const reseeded = await run(() => db.reseedReplica({ server: lon.admin, primary: fra.admin, saveErrantTo: saveTo }));
  expect(reseeded).toMatchObject({ server: 'london-db', primary: 'fra1-db', dropped: [] });
  expect(reseeded.copied).toEqual(expect.arrayContaining(['shop']));
  const saved = readFileSync(reseeded.savedTo, 'utf8');
  for (let i = 0; i < 5; i++) expect(saved).toContain(`unreplicated ${i}`);
  expect(statSync(reseeded.savedTo).mode & 0o777).toBe(0o600);
  expect(saved).not.toContain(PASSWORDS.OPSFLOW_SECRET_DB_ADMIN);
  const follows = await run(() => db.replicateFrom({ server: lon.admin, primary: fra.admin, replication }));
  expect(follows.startedFrom).toBe(reseeded.copiedAt);
  await appWrite(fra, 'after the re-seed');
  await until(
    'london-db applied the write after its re-seed',
    async () => (await run(() => db.readReplication({ server: lon.admin, primary: fra.admin }))).behindPrimary?.transactions === 0,
  );
  // Exactly the primary's orders: the unreplicated ones are gone from it (kept in the saved file).
  expect(await orderCount(lon)).toBe(await orderCount(fra));
  expect((await lon.sql("SELECT COUNT(*) FROM shop.orders WHERE note LIKE 'unreplicated%'")).trim()).toBe('0');
  expect((await run(() => db.readReplication({ server: lon.admin }))).role).toBe('replica');

  // Re-seeded again with no write after the copy, then switched over to: its binlog is empty (the
  // copy is loaded unlogged), yet fra1, following it, holds nothing it lacks: the copy's position
  // (its gtid_slave_pos, a GTID fra1's binlog holds) covers fra1's history up to there.
  const again = await run(() => db.reseedReplica({ server: lon.admin, primary: fra.admin, saveErrantTo: saveTo }));
  await run(() => db.replicateFrom({ server: lon.admin, primary: fra.admin, replication }));
  expect((await lon.sql('SELECT @@global.gtid_binlog_state')).trim()).toBe('');
  const fencedFra = await run(() => db.fencePrimary({ server: fra.admin }));
  expect(fencedFra.finalPosition).toBe(again.copiedAt);
  const back = await run(() =>
    db.promoteReplica({ server: lon.admin, primaryFinalPosition: fencedFra.finalPosition, maxLostTransactions: 0 }),
  );
  expect(back.rpo.lostTransactions).toBe(0);
  const fraFollows = await run(() =>
    db.replicateFrom({ server: fra.admin, primary: lon.admin, replication, appliedAtPromotion: back.appliedAtPromotion }),
  );
  expect(fraFollows.startedFrom).toBe(fencedFra.finalPosition);

  // A server that is down: named, retryable.
  await lon.stop();
  const down = await failureOf(run(() => db.readReplication({ server: lon.admin })));
  expect([down.type, down.nonRetryable]).toEqual(['DatabaseUnreachable', false]);
  const wrongPassword = await failureOf(run(() => db.readReplication({ server: { ...fra.admin, password: 'env:OPSFLOW_SECRET_DB_APP' } })));
  expect(wrongPassword.type).toBe('DatabaseRefused');
  expect(wrongPassword.message).not.toContain(PASSWORDS.OPSFLOW_SECRET_DB_APP);
});
