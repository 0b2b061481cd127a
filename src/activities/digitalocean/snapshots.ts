// Droplet and volume snapshots for backup policies, through the DigitalOcean API (on its rate-
// limited task queue like every other call to it). A snapshot's name is deterministic
// (src/backups/snapshot-names.ts): a step retried after a lost response or a dead worker finds the
// snapshot its earlier attempt made instead of taking a second one. With `powerOff` the droplet is
// shut down for its snapshot and started again whatever happens, by this attempt or, if its worker
// died, by the next one (the stopped droplet rides in the attempt's heartbeats). Retention lists
// and deletes only snapshots whose name carries the policy's own prefix.
import { ApplicationFailure } from '@temporalio/activity';
import { policySnapshotPrefix, snapshotName, takenAtOfSnapshot } from '../../backups/snapshot-names';
import type { BackupTarget } from '../../specs/backup-policy';
import type { DigitalOceanClient } from '../../integrations/digitalocean/client';
import { deleteIgnoringNotFound, digitalOceanStep, findOrUndefined, heartbeatWith, rememberedByEarlierAttempt, rememberForRetry } from './failures';
import { cloudWaits, type ApiAction } from './wait';
import type { DigitalOceanDeps } from './cloud-steps';

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
  status: string;
  locked: boolean;
}

/** The heartbeat memory key for a droplet an attempt shut down for its snapshot. */
const POWERED_OFF = 'poweredOffDroplet';

const resourceTypeOf = (target: SnapshotTarget): ResourceType => (target.kind === 'droplet-snapshot' ? 'droplet' : 'volume');

function onlyOne<T extends { id: string | number }>(found: T[], what: string): T {
  if (found.length === 0) throw ApplicationFailure.nonRetryable(`no ${what} in the account (the target's environment and resource name it)`, 'SnapshotSourceNotFound');
  if (found.length > 1) throw ApplicationFailure.nonRetryable(`${found.length} of ${what} (ids ${found.map((x) => x.id).join(', ')}); cannot tell which one to snapshot`, 'SnapshotSourceAmbiguous');
  return found[0] as T;
}

export function createSnapshotActivities(deps: DigitalOceanDeps) {
  // A droplet snapshot takes minutes (about one per GB on DigitalOcean): polled gently.
  const { waitUntil, waitForAction } = cloudWaits(deps.snapshotPollMs ?? { first: 10_000, max: 30_000 });

  async function dropletAction(client: DigitalOceanClient, dropletId: number, body: { type: string; name?: string }, what: string): Promise<void> {
    const { action } = await client.request<{ action: ApiAction }>('POST', `/droplets/${dropletId}/actions`, { body });
    await waitForAction(client, action.id, what);
  }

  /** A clean shutdown; if the droplet cannot do one (no ACPI in its image), its power is cut. */
  async function shutDown(client: DigitalOceanClient, dropletId: number, resourceName: string): Promise<void> {
    try {
      await dropletAction(client, dropletId, { type: 'shutdown' }, `shut down droplet ${resourceName}`);
    } catch (err) {
      if (!(err instanceof ApplicationFailure && err.type === 'DigitalOceanActionErrored')) throw err;
      await dropletAction(client, dropletId, { type: 'power_off' }, `power off droplet ${resourceName}`);
    }
  }

  async function powerOn(client: DigitalOceanClient, dropletId: number, resourceName: string): Promise<void> {
    const found = await findOrUndefined(() => client.request<{ droplet: ApiDroplet }>('GET', `/droplets/${dropletId}`));
    if (found?.droplet.status === 'off') await dropletAction(client, dropletId, { type: 'power_on' }, `power on droplet ${resourceName}`);
  }

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

        // A droplet an earlier attempt shut down for its snapshot: that attempt may have died before
        // starting it again, so this one must (and says so in its own heartbeats first).
        let stoppedByUs = rememberedByEarlierAttempt<number>(POWERED_OFF);
        if (stoppedByUs) rememberForRetry(POWERED_OFF, stoppedByUs);
        try {
          const existing = await find();
          if (existing) return taken(existing);

          if (resourceType === 'volume') {
            // `name` narrows the listing; the exact match is checked here (names repeat across regions).
            const volume = onlyOne((await client.listAll<{ id: string; name: string }>('/volumes', 'volumes', { name: resourceName })).filter((v) => v.name === resourceName), `volume named ${resourceName}`);
            heartbeatWith({ snapshot: name, of: resourceName });
            const { snapshot } = await client.request<{ snapshot: ApiSnapshot }>('POST', `/volumes/${volume.id}/snapshots`, { body: { name } });
            return taken(snapshot);
          }

          let droplet = onlyOne((await client.listAll<ApiDroplet>('/droplets', 'droplets', { name: resourceName })).filter((d) => d.name === resourceName), `droplet named ${resourceName}`);
          if (droplet.locked) {
            // An earlier attempt's snapshot (or another change) is under way: let it finish, then look again.
            droplet = await waitUntil(`droplet ${resourceName} to finish its pending event`, async () => {
              const { droplet: now } = await client.request<{ droplet: ApiDroplet }>('GET', `/droplets/${droplet.id}`);
              return now.locked ? undefined : now;
            }, { pauseFirst: true });
            const after = await find();
            if (after) return taken(after);
          }
          if (target.powerOff && droplet.status === 'active') {
            rememberForRetry(POWERED_OFF, (stoppedByUs = droplet.id));
            await shutDown(client, droplet.id, resourceName);
          }
          await dropletAction(client, droplet.id, { type: 'snapshot', name }, `snapshot ${name} of droplet ${resourceName}`);
          const made = await find();
          if (!made) throw ApplicationFailure.retryable(`snapshot ${name} of droplet ${resourceName}: the action completed but the snapshot is not listed yet`, 'SnapshotNotListed');
          return taken(made);
        } finally {
          // Whatever happened, a droplet this step stopped runs again before the step ends.
          if (stoppedByUs) {
            await powerOn(client, stoppedByUs, resourceName);
            rememberForRetry(POWERED_OFF, undefined);
          }
        }
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