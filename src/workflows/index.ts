// Every workflow the opsflow worker runs. The worker bundles this file.
export { checkWorker } from './check-worker';
export { provisionEnvironment } from './provision-environment';
export { destroyEnvironment } from './destroy-environment';
export { runBackups } from './run-backups';
export { verifyBackup } from './verify-backup';
export { applyRetention } from './apply-retention';
export { restoreBackup } from './restore-backup';
export { deployRelease } from './deploy-release';
