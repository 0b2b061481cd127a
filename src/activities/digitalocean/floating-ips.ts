// The floating IP is DigitalOcean's reserved IP, created assigned to its droplet. Reserved IPs
// carry no name or tag: one that is not assigned cannot be told from anyone else's, so an attempt
// first lets pending assignments (locked, unassigned IPs) finish, and an assignment that errored
// releases its IP before failing; should the worker die first, the retry finds that IP in the
// attempt's heartbeats and releases it.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CloudProviderActivities } from '../../providers/cloud-provider';
import { DEFAULT_POLL, resourcesOf, type DigitalOceanDeps } from './deps';
import { deleteIgnoringNotFound, digitalOceanStep, findOrUndefined, rememberedByEarlierAttempt, rememberForRetry } from './failures';
import { mustLookFirst } from './look-first';
import { cloudWaits } from './wait';
import { STEP_FAILURE } from '../../workflows/shared/failures';

/** The heartbeat memory key for the reserved IP an attempt created. */
const CREATED_RESERVED_IP = 'createdReservedIp';

type FloatingIpActivities = Pick<CloudProviderActivities, 'ensureFloatingIp' | 'releaseFloatingIp'>;

export function floatingIpActivities(deps: DigitalOceanDeps): FloatingIpActivities {
  const api = resourcesOf(deps);
  const { waitUntil, waitForAction } = cloudWaits(deps.pollMs ?? DEFAULT_POLL);
  return {
    async ensureFloatingIp(input) {
      return digitalOceanStep(async () => {
        const resources = api();
        const { reservedIps } = resources;
        // Only a retry can follow a create whose response was lost, so only a retry waits for
        // pending assignments (which may be other environments'): a first attempt lists once, and
        // not at all for a droplet of a fresh run (this run made it a moment ago: nothing points at it).
        const retry = Context.current().info.attempt > 1;
        const assigned = retry
          ? await waitUntil('pending reserved IP assignments', async () => {
              const ips = await reservedIps.list();
              const mine = ips.find((r) => r.droplet?.id === input.serverId);
              if (mine) return mine;
              return ips.some((r) => r.locked && !r.droplet) ? undefined : null;
            })
          : mustLookFirst(input)
            ? (await reservedIps.list()).find((r) => r.droplet?.id === input.serverId)
            : undefined;
        if (assigned) return { ip: assigned.ip };
        // An IP an earlier attempt made whose assignment errored, while that attempt's worker died
        // before releasing it: no listing can tell it is ours, its heartbeats can.
        const earlier = rememberedByEarlierAttempt<string>(CREATED_RESERVED_IP);
        if (earlier) {
          rememberForRetry(CREATED_RESERVED_IP, earlier);
          const found = await findOrUndefined(() => reservedIps.get(earlier));
          if (found && !found.droplet) await deleteIgnoringNotFound(() => reservedIps.delete(earlier));
        }
        const created = await reservedIps.createFor(input.serverId);
        rememberForRetry(CREATED_RESERVED_IP, created.ip);
        try {
          for (const actionId of created.actionIds) await waitForAction(resources, actionId, `assign reserved IP ${created.ip}`);
        } catch (err) {
          if (err instanceof ApplicationFailure && err.type === STEP_FAILURE.DigitalOceanActionErrored)
            await deleteIgnoringNotFound(() => reservedIps.delete(created.ip));
          throw err;
        }
        return { ip: created.ip };
      });
    },

    async releaseFloatingIp(input) {
      return digitalOceanStep(async () => {
        const resources = api();
        const found = await findOrUndefined(() => resources.reservedIps.get(input.ip));
        if (found?.droplet) {
          const action = await resources.reservedIps.unassign(input.ip);
          await waitForAction(resources, action.id, `unassign reserved IP ${input.ip}`);
        }
        return deleteIgnoringNotFound(() => resources.reservedIps.delete(input.ip));
      });
    },
  };
}
