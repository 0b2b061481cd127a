// Every workflow the opsflow worker runs. The worker bundles this file.
export { checkWorker } from './shared/check-worker';
export { provisionEnvironment } from './environment/provision-environment';
export { destroyEnvironment } from './environment/destroy-environment';
export { environmentEntity } from './environment/environment-entity';
export { runBackups } from './backups/run-backups';
export { verifyBackup } from './backups/verify-backup';
export { applyRetention } from './backups/apply-retention';
export { restoreBackup } from './backups/restore-backup';
export { deployRelease } from './release/deploy-release';
export { rolloutRelease } from './release/rollout-release';
export { failoverSite } from './failover/failover-site';
export { failbackSite } from './failover/failback-site';
export { drMonitor } from './failover/dr-monitor';
export { drDrill } from './failover/dr-drill';
export { provisionCluster } from './kubernetes/provision-cluster';
export { backupCluster } from './kubernetes/backup-cluster';
export { restoreClusterBackup } from './kubernetes/restore-cluster-backup';
