// What opsflow calls the droplet and volume snapshots a backup policy takes. Pure (no Node
// modules): workflows use it too. Dots separate the parts because policy and target names cannot
// hold one, so one policy's prefix never matches another's:
//
//   opsflow.<policy>.<target>.<20260301T020000Z>
import { compactTime, isoFromCompact } from './keys';

/** Every snapshot of one policy starts with this. */
export const policySnapshotPrefix = (policy: string) => `opsflow.${policy}.`;

/** Every snapshot of one target of one policy starts with this. */
export const snapshotPrefix = (policy: string, target: string) => `${policySnapshotPrefix(policy)}${target}.`;

/** The run's start time in the name: a retried step looks for, and finds, the same snapshot. */
export const snapshotName = (policy: string, target: string, takenAt: string) => snapshotPrefix(policy, target) + compactTime(takenAt);

/** When the run that took it started, if `name` is one of this target's snapshots. */
export function takenAtOfSnapshot(name: string, policy: string, target: string): string | undefined {
  const prefix = snapshotPrefix(policy, target);
  return name.startsWith(prefix) ? isoFromCompact(name.slice(prefix.length)) : undefined;
}
