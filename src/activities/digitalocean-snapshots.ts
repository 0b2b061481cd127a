// Droplet and volume snapshots for backup policies, through the DigitalOcean API (on its rate-
// limited task queue like every other call to it). A snapshot's name is deterministic
// (src/backups/snapshot-names.ts): a step retried after a lost response or a dead worker finds the
// snapshot its earlier attempt made instead of taking a second one. Retention lists and deletes
// only snapshots whose name carries the policy's own prefix.
import { ApplicationFailure } from '@temporalio/activity';
import { policySnapshotPrefix, snapshotName, takenAtOfSnapshot } from '../backups/snapshot-names';
import type { BackupTarget } from '../specs/backup-policy';
import { deleteIgnoringNotFound, digitalOceanStep, findOrUndefined, heartbeatWith } from './digitalocean-failures';
import { cloudWaits, type ApiAction } from './digitalocean-wait';
import type { DigitalOceanDeps } from './digitalocean';

export type SnapshotTarget = Extract<BackupTarget, { kind: 'droplet-snapshot' | 'volume-snapshot' }>;
type ResourceType = 'droplet' | 'volume';

export interface TakenSnapshot {
  id: string;
  name: string;
  resourceType: ResourceType;
  resourceId: string;
  /** The droplet or volume, `<environment>-<resource>`. */
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
  resourceType: ResourceType;
  sizeGigabytes: number;
}

interface ApiSnapshot {
  id: string | number;
  name: string;
  resource_id: string;
  resource_type: ResourceType;
  size_gigabytes: number;
  created_at: string;
}

interface ApiDroplet {
  id: number;
  name: string;
  locked: boolean;
}

const resourceTypeOf = (target: SnapshotTarget): ResourceType => (target.kind === 'droplet-snapshot' ? 'droplet' : 'volume');

function onlyOne<T extends { id: string | number }>(found: T[], what: string): T {
  if (found.length === 0) throw ApplicationFailure.nonRetryable(`no ${what} in the account (the target's environment and resource name it)`, 'SnapshotSourceNotFound');
  if (found.length > 1) throw ApplicationFailure.nonRetryable(`${found.length} of ${what} (ids ${found.map((x) => x.id).join(', ')}); cannot tell which one to snapshot`, 'SnapshotSourceAmbiguous');
  return found[0] as T;
}

export function createSnapshotActivities(deps: DigitalOceanDeps) {
  // A droplet snapshot takes minutes (about one per GB on DigitalOcean): polled gently.
  const { waitUntil, waitForAction } = cloudWaits(deps.snapshotPollMs ?? { first: 10_000, max: 30_000 });

  return {
    /** A snapshot of the target's droplet or volume, named for the run; the existing one if it was taken already. */
    async takeSnapshot(input: { policy: string; target: SnapshotTarget; takenAt: string }): Promise<TakenSnapshot> {
      return digitalOceanStep(async () => {
        const started = Date.now();
        const client = deps.digitalOcean();
        const { target } = input;
        const name = snapshotName(input.policy, target.name, input.takenAt);
        const resourceType = resourceTypeOf(target);
        const resourceName = `${target.environment}-${target.resource}`;
        const find = async () => (await client.listAll<ApiSnapshot>('/snapshots', 'snapshots', { resource_type: resourceType })).find((s) => s.name === name);
        const taken = (s: ApiSnapshot): TakenSnapshot => ({
          id: String(s.id), name, resourceType, resourceId: String(s.resource_id), resourceName, sizeGigabytes: s.size_gigabytes, createdAt: s.created_at, durationMs: Date.now() - started,
        });

        const existing = await find();
        if (existing) return taken(existing);

        if (resourceType === 'volume') {
          // `name` narrows the listing; the exact match is checked here (names repeat across regions).
          const volume = onlyOne((await client.listAll<{ id: string; name: string }>('/volumes', 'volumes', { name: resourceName })).filter((v) => v.name === resourceName), `volume named ${resourceName}`);
          heartbeatWith({ snapshot: name, of: resourceName });
          const { snapshot } = await client.request<{ snapshot: ApiSnapshot }>('POST', `/volumes/${volume.id}/snapshots`, { body: { name } });
          return taken(snapshot);
        }

        const droplet = onlyOne((await client.listAll<ApiDroplet>('/droplets', 'droplets', { name: resourceName })).filter((d) => d.name === resourceName), `droplet named ${resourceName}`);
        if (droplet.locked) {
          // An earlier attempt's snapshot (or another change) is under way: let it finish, then look again.
          await waitUntil(`droplet ${resourceName} to finish its pending event`, async () => ((await client.request<{ droplet: ApiDroplet }>('GET', `/droplets/${droplet.id}`)).droplet.locked ? undefined : true), { pauseFirst: true });
          const after = await find();
          if (after) return taken(after);
        }
        const { action } = await client.request<{ action: ApiAction }>('POST', `/droplets/${droplet.id}/actions`, { body: { type: 'snapshot', name } });
        await waitForAction(client, action.id, `snapshot ${name} of droplet ${resourceName}`);
        const made = await find();
        if (!made) throw ApplicationFailure.retryable(`snapshot ${name} of droplet ${resourceName}: the action completed but the snapshot is not listed yet`, 'SnapshotNotListed');
        return taken(made);
      });
    },

    /** Every snapshot of the policy's snapshot targets, newest first. */
    async listSnapshots(input: { policy: string; targets: string[] }): Promise<SnapshotListing[]> {
      return digitalOceanStep(async () => {
        const all = await deps.digitalOcean().listAll<ApiSnapshot>('/snapshots', 'snapshots');
        const listings: SnapshotListing[] = [];
        for (const s of all) {
          for (const target of input.targets) {
            const takenAt = takenAtOfSnapshot(s.name, input.policy, target);
            if (takenAt) listings.push({ id: String(s.id), name: s.name, target, takenAt, resourceType: s.resource_type, sizeGigabytes: s.size_gigabytes });
          }
        }
        return listings.sort((a, b) => b.takenAt.localeCompare(a.takenAt));
      });
    },

    /**
     * Deletes snapshots by id, each only if it still carries the name retention chose it by and
     * that name is the policy's own: an id never reaches someone else's image.
     */
    async deleteSnapshots(input: { policy: string; snapshots: { id: string; name: string }[] }): Promise<{ deleted: number }> {
      const own = policySnapshotPrefix(input.policy);
      const foreign = input.snapshots.filter((s) => !s.name.startsWith(own));
      if (foreign.length) throw ApplicationFailure.nonRetryable(`refusing to delete snapshots not named ${own}*: ${foreign.map((s) => s.name).join(', ')}`, 'Unsupported');
      return digitalOceanStep(async () => {
        const client = deps.digitalOcean();
        let deleted = 0;
        for (const s of input.snapshots) {
          const found = await findOrUndefined(() => client.request<{ snapshot: ApiSnapshot }>('GET', `/snapshots/${s.id}`));
          if (!found) continue;
          if (found.snapshot.name !== s.name) throw ApplicationFailure.nonRetryable(`snapshot ${s.id} is now named ${found.snapshot.name}, not ${s.name}; not deleting it`, 'SnapshotChanged');
          if ((await deleteIgnoringNotFound(() => client.request('DELETE', `/snapshots/${s.id}`))) === 'deleted') deleted++;
          heartbeatWith({ deleted, of: input.snapshots.length });
        }
        return { deleted };
      });
    },
  };
}

export type SnapshotActivities = ReturnType<typeof createSnapshotActivities>;