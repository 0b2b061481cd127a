// What the failover tests share: the activities a failover runs, wired as the worker's
// createActivities wires them (secrets from the test's own table), an activity run outside a
// workflow, and the replication user both MariaDB servers know.
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCloudflareActivities } from '../../src/activities/cloudflare/load-balancer';
import { createTrafficSampleActivities } from '../../src/activities/cloudflare/traffic-sample';
import { createDatabaseFailoverActivities } from '../../src/activities/database/replication';
import { createEnvironmentActivities } from '../../src/activities/environment/claims';
import { createSiteProbeActivities } from '../../src/activities/http/site-probe';
import { secretResolver } from '../../src/backups/secrets';

export const REPLICATION = { user: 'repl', password: 'env:OPSFLOW_SECRET_DB_REPL' };

export function failoverActivities(secrets: Record<string, string>) {
  return {
    ...createEnvironmentActivities(),
    ...createCloudflareActivities({ resolveSecret: secretResolver(secrets) }),
    ...createTrafficSampleActivities(),
    ...createSiteProbeActivities(),
    ...createDatabaseFailoverActivities({ resolveSecret: secretResolver(secrets) }),
  };
}

/** Runs an activity function outside a workflow, with an activity context. */
export const runActivity = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;
