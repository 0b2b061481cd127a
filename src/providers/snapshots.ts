// Snapshots of servers and volumes for backup policies, in the neutral vocabulary. Pure types.
import type { BackupTarget } from '../specs/backup-policy';

export type SnapshotTarget = Extract<BackupTarget, { kind: 'droplet-snapshot' | 'volume-snapshot' }>;
export type SnapshotResourceType = 'droplet' | 'volume';

export interface TakenSnapshot {
  id: string;
  name: string;
  resourceType: SnapshotResourceType;
  resourceId: string;
  /** The server or volume, `<environment>-<resource>`. */
  resourceName: string;
  sizeGigabytes: number;
  createdAt: string;
  durationMs: number;
}

export interface SnapshotListing {
  id: string;
  name: string;
  target: string;
  takenAt: string;
  resourceType: SnapshotResourceType;
  sizeGigabytes: number;
}

export interface SnapshotActivities {
  /** A snapshot of the target's server or volume, named for the run; the existing one if it was taken already. */
  takeSnapshot(input: { policy: string; target: SnapshotTarget; takenAt: string }): Promise<TakenSnapshot>;
  /** Every snapshot of the policy's snapshot targets, newest first. */
  listSnapshots(input: { policy: string; targets: string[] }): Promise<SnapshotListing[]>;
  /** Deletes snapshots by id, each only if it still carries the name retention chose it by. */
  deleteSnapshots(input: { policy: string; snapshots: { id: string; name: string }[] }): Promise<{ deleted: number }>;
}
