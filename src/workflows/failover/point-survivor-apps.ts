// A failover's step between promotion and moving traffic: the survivor's app servers pointed at
// the promoted MySQL (and Redis), so the traffic about to arrive writes to the new primary. Undone
// on rollback by pointing them back at the old primary.
import type { FailoverSite } from '../../specs/failover';
import type { Saga } from '../shared/saga';
import { databaseValues, pointAppServers } from '../shared/point-apps';

/** Runs from this patch on point the survivor's app servers (when the input names them); older runs replay without. */
export const FAILOVER_POINT_APPS_PATCH = 'failover-point-apps';
export const POINT_APPS_STEP = "point the survivor's app servers at the new primary";

export async function pointSurvivorApps(
  spec: FailoverSite,
  saga: Saga,
  redis: { old: { host: string }; survivor: { host: string } } | undefined,
): Promise<void> {
  const apps = spec.apps!;
  const servers = apps.sites[spec.to]!;
  const survivor = spec.databases[spec.to]!;
  const old = spec.databases[spec.from]!;
  // Registered first: a host that took the new values before a later one failed is pointed back too.
  saga.addCompensation(`point ${spec.to}'s app servers back at ${old.name}`, () =>
    pointAppServers(servers, databaseValues(apps.variables, old.host, redis?.old.host)),
  );
  await pointAppServers(servers, databaseValues(apps.variables, survivor.host, redis?.survivor.host));
}
