// Backup signing keys for tests: made fresh per test process, never written anywhere.
import { backupKeyring, generateBackupKey, parseBackupKeys, type BackupKeyring } from '../../src/backups/backup-key';

export function testKeyring(...values: string[]): BackupKeyring {
  return backupKeyring(values.flatMap((v) => parseBackupKeys(v, 'test key')));
}

/** The key most tests sign and restore with (OPSFLOW_BACKUP_KEY's value). */
export const TEST_BACKUP_KEY = generateBackupKey();
export const TEST_KEYRING = testKeyring(TEST_BACKUP_KEY);
