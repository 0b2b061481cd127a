// Verification records: retention trusts them to keep the newest verified backups, so only a
// record this worker signed, for that backup, unchanged, counts.
import { generateBackupKey } from '../../src/backups/backup-key';
import type { VerificationRecord } from '../../src/backups/keys';
import { signVerification, verificationRefusal } from '../../src/backups/verification-auth';
import { TEST_BACKUP_KEY, TEST_KEYRING, testKeyring } from '../helpers/backup-keys';

const backupKey = 'nightly/pg/app/20260301T020000Z.pgdump.gz';
const record: VerificationRecord = {
  key: backupKey,
  verifiedAt: '2026-03-01T02:10:00.000Z',
  restoredInto: 'scratch',
  tables: 4,
  rows: 1200,
};
const genuine = signVerification(record, TEST_KEYRING.signingKey());

test("this worker's own record counts, also after a rotation that keeps the old key for reading", () => {
  expect(verificationRefusal(JSON.parse(JSON.stringify(genuine)), TEST_KEYRING, backupKey)).toBeUndefined();
  const newKey = generateBackupKey();
  expect(verificationRefusal(genuine, testKeyring(newKey, TEST_BACKUP_KEY), backupKey)).toBeUndefined();
  expect(verificationRefusal(genuine, testKeyring(newKey), backupKey)).toMatch(/does not hold/);
});

test.each<[string, unknown, RegExp]>([
  ['unsigned (before records were signed, or by anyone with the Spaces keys)', record, /not signed/],
  ["the worker's key id with a made-up MAC", { ...record, keyId: genuine.keyId, mac: 'ab'.repeat(32) }, /signature does not match/],
  ['a MAC that is not hex', { ...genuine, mac: 'zz' }, /signature does not match/],
  ['signed with a key this worker does not hold', signVerification(record, testKeyring(generateBackupKey()).signingKey()), /does not hold/],
  [
    'a genuine record of another backup, copied beside this one',
    signVerification({ ...record, key: `${backupKey}.x` }, TEST_KEYRING.signingKey()),
    /signed for/,
  ],
  ['a field changed', { ...genuine, rows: 1 }, /signature does not match/],
  ['a field added', { ...genuine, note: 'trusted' }, /signature does not match/],
  ['not an object', 'verified', /not a JSON object/],
  ['null', null, /not a JSON object/],
])('refused: %s', (_what, forged, why) => {
  expect(verificationRefusal(forged, TEST_KEYRING, backupKey)).toMatch(why);
});
