// The activity factories: every activity the worker registers, built from injected clients so
// tests and the worker wire the same code to different endpoints.
import { createBackupActivities, type BackupDeps } from './backups';
import { createDigitalOceanActivities, type DigitalOceanDeps } from './digitalocean';
import { createWorkerInfoActivities, type WorkerInfoDeps } from './worker-info';

export type ActivityDeps = WorkerInfoDeps & { backups?: BackupDeps };

/** Activities on the main task queue. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createWorkerInfoActivities(deps),
    ...createBackupActivities(deps.backups),
  };
}

/**
 * DigitalOcean activities run on their own task queue, which the Temporal server rate-limits for
 * every worker at once (the account allows 250 requests a minute in all).
 */
export function createCloudActivities(deps: DigitalOceanDeps) {
  return createDigitalOceanActivities(deps);
}

export type Activities = ReturnType<typeof createActivities>;
export type CloudActivities = ReturnType<typeof createCloudActivities>;
