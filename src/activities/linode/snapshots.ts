// Snapshots for backup policies are not offered on Linode yet: Linode's instance backups are a paid
// per-instance service with its own schedule (one manual snapshot slot per instance) and its
// volumes have no snapshots at all, so DigitalOcean's named, many-per-target snapshots do not map.
// Each step says so plainly instead of doing half of it; backups by dump (runBackups' database
// and directory targets over SSH) work on Linode hosts as on droplets.
import type { SnapshotActivities } from '../../providers/snapshots';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

const REFUSED =
  'snapshot targets are not supported on Linode: Linode volumes have no snapshots and instance backups allow one manual snapshot per instance; back up the databases or directories on its hosts instead (database and directory targets)';

export function snapshotActivities(): SnapshotActivities {
  const refuse = async (): Promise<never> => {
    throw failure(STEP_FAILURE.Unsupported, REFUSED);
  };
  return { takeSnapshot: refuse, listSnapshots: refuse, deleteSnapshots: refuse };
}
