// Droplet and volume snapshots for backup policies, through the DigitalOcean API (on its rate-
// limited task queue like every other call to it). A snapshot's name is deterministic
// (src/backups/snapshot-names.ts): a step retried after a lost response or a dead worker finds the
// snapshot its earlier attempt made instead of taking a second one. With `powerOff` the droplet is
// shut down for its snapshot and started again whatever happens, by this attempt or, if its worker
// died, by the next one (the stopped droplet rides in the attempt's heartbeats). Retention lists
// and deletes only snapshots whose name carries the policy's own prefix.
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { resourceName as environmentResourceName } from '../../names/resource-names';
import { policySnapshotPrefix, snapshotName, takenAtOfSnapshot } from '../../backups/snapshot-names';
import type { ApiSnapshot } from '../../integrations/digitalocean/resources';
import type { SnapshotActivities, SnapshotListing, SnapshotResourceType, SnapshotTarget, TakenSnapshot } from '../../providers/snapshots';
import { resourcesOf, type DigitalOceanDeps } from './deps';
import { dropletPower } from './droplet-power';
import {
  deleteIgnoringNotFound,
  digitalOceanStep,
  findOrUndefined,
  heartbeatWith,
  rememberedByEarlierAttempt,
  rememberForRetry,
} from './failures';
import { cloudWaits } from './wait';

export type { SnapshotTarget, TakenSnapshot, SnapshotListing } from '../../providers/snapshots';

/** The heartbeat memory key for a droplet an attempt shut down for its snapshot. */
const POWERED_OFF = 'poweredOffDroplet';

const resourceTypeOf = (target: SnapshotTarget): SnapshotResourceType => (target.kind === 'droplet-snapshot' ? 'droplet' : 'volume');

function onlyOne<T extends { id: string | number }>(found: T[], what: string): T {
  if (found.length === 0)
    throw failure(STEP_FAILURE.SnapshotSourceNotFound, `no ${what} in the account (the target's environment and resource name it)`);
  if (found.length > 1)
    throw failure(
      STEP_FAILURE.SnapshotSourceAmbiguous,
      `${found.length} of ${what} (ids ${found.map((x) => x.id).join(', ')}); cannot tell which one to snapshot`,
    );
  return found[0] as T;
}

export function createSnapshotActivities(deps: DigitalOceanDeps): SnapshotActivities {
  const api = resourcesOf(deps);
  // A droplet snapshot takes minutes (about one per GB on DigitalOcean): polled gently.
  const { waitUntil, waitForAction } = cloudWaits(deps.snapshotPollMs ?? { first: 10_000, max: 30_000 });
  const power = dropletPower(waitForAction);

  return {
    async takeSnapshot(input) {
      return digitalOceanStep(async () => {
        const started = Date.now();
        const resources = api();
        const { target } = input;
        const name = snapshotName(input.policy, target.name, input.takenAt);
        const resourceType = resourceTypeOf(target);
        const resourceName = environmentResourceName(target.environment, target.resource);
        const find = async () => (await resources.snapshots.list({ resource_type: resourceType })).find((s) => s.name === name);
        const taken = (s: ApiSnapshot): TakenSnapshot => ({
          id: String(s.id),
          name,
          resourceType,
          resourceId: String(s.resource_id),
          resourceName,
          sizeGigabytes: s.size_gigabytes,
          createdAt: s.created_at,
          durationMs: Date.now() - started,
        });

        // A droplet an earlier attempt shut down for its snapshot: that attempt may have died before
        // starting it again, so this one must (and says so in its own heartbeats first).
        let stoppedByUs = rememberedByEarlierAttempt<number>(POWERED_OFF);
        if (stoppedByUs) rememberForRetry(POWERED_OFF, stoppedByUs);
        try {
          const existing = await find();
          if (existing) return taken(existing);

          if (resourceType === 'volume') {
            // `name` narrows the listing; the exact match is checked here (names repeat across regions).
            const volume = onlyOne(
              (await resources.volumes.list({ name: resourceName })).filter((v) => v.name === resourceName),
              `volume named ${resourceName}`,
            );
            heartbeatWith({ snapshot: name, of: resourceName });
            return taken(await resources.volumes.snapshot(volume.id, name));
          }

          let droplet = onlyOne(
            (await resources.droplets.list({ name: resourceName })).filter((d) => d.name === resourceName),
            `droplet named ${resourceName}`,
          );
          if (droplet.locked) {
            // An earlier attempt's snapshot (or another change) is under way: let it finish, then look again.
            const id = droplet.id;
            droplet = await waitUntil(
              `droplet ${resourceName} to finish its pending event`,
              async () => {
                const now = await resources.droplets.get(id);
                return now.locked ? undefined : now;
              },
              { pauseFirst: true },
            );
            const after = await find();
            if (after) return taken(after);
          }
          if (target.powerOff && droplet.status === 'active') {
            rememberForRetry(POWERED_OFF, (stoppedByUs = droplet.id));
            await power.shutDown(resources, droplet.id, resourceName);
          }
          await power.act(resources, droplet.id, { type: 'snapshot', name }, `snapshot ${name} of droplet ${resourceName}`);
          const made = await find();
          if (!made)
            throw failure(
              STEP_FAILURE.SnapshotNotListed,
              `snapshot ${name} of droplet ${resourceName}: the action completed but the snapshot is not listed yet`,
              { retryable: true },
            );
          return taken(made);
        } finally {
          // Whatever happened, a droplet this step stopped runs again before the step ends.
          if (stoppedByUs) {
            await power.powerOn(resources, stoppedByUs, resourceName);
            rememberForRetry(POWERED_OFF, undefined);
          }
        }
      });
    },

    async listSnapshots(input) {
      return digitalOceanStep(async () => {
        const all = await api().snapshots.list();
        const listings: SnapshotListing[] = [];
        for (const s of all) {
          for (const target of input.targets) {
            const takenAt = takenAtOfSnapshot(s.name, input.policy, target);
            if (takenAt)
              listings.push({
                id: String(s.id),
                name: s.name,
                target,
                takenAt,
                resourceType: s.resource_type,
                sizeGigabytes: s.size_gigabytes,
              });
          }
        }
        return listings.sort((a, b) => b.takenAt.localeCompare(a.takenAt));
      });
    },

    /**
     * Deletes snapshots by id, each only if it still carries the name retention chose it by and
     * that name is the policy's own: an id never reaches someone else's image.
     */
    async deleteSnapshots(input) {
      const own = policySnapshotPrefix(input.policy);
      const foreign = input.snapshots.filter((s) => !s.name.startsWith(own));
      if (foreign.length)
        throw failure(STEP_FAILURE.Unsupported, `refusing to delete snapshots not named ${own}*: ${foreign.map((s) => s.name).join(', ')}`);
      return digitalOceanStep(async () => {
        const { snapshots } = api();
        let deleted = 0;
        for (const s of input.snapshots) {
          const found = await findOrUndefined(() => snapshots.get(s.id));
          if (!found) continue;
          if (found.name !== s.name)
            throw failure(STEP_FAILURE.SnapshotChanged, `snapshot ${s.id} is now named ${found.name}, not ${s.name}; not deleting it`);
          if ((await deleteIgnoringNotFound(() => snapshots.delete(s.id))) === 'deleted') deleted++;
          heartbeatWith({ deleted, of: input.snapshots.length });
        }
        return { deleted };
      });
    },
  };
}
