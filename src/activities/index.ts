// The activity factories: every activity the worker registers, built from injected clients so
// tests and the worker wire the same code to different endpoints.
import { createBackupActivities, type BackupDeps } from './backups/backup-steps';
import { createCloudflareActivities, type CloudflareDeps } from './cloudflare/load-balancer';
import { createTrafficSampleActivities } from './cloudflare/traffic-sample';
import { createDatabaseFailoverActivities } from './database/replication';
import { createRedisFailoverActivities } from './database/redis';
import { createDigitalOceanActivities, type DigitalOceanDeps } from './digitalocean/provider';
import { createEnvironmentActivities } from './environment/claims';
import { createHttpHealthActivities, type HttpHealthDeps } from './http/health';
import { createSiteProbeActivities } from './http/site-probe';
import { createApprovalActivities } from './temporal/approve-when-waiting';
import { createLinodeProvider, type LinodeDeps } from './linode/provider';
import { createKubernetesActivities, type KubernetesDeps } from './kubernetes';
import { clusterBackupActivities } from './kubernetes/cluster-backup';
import { doksClusters, doksKubeconfig } from './kubernetes/doks-kubeconfig';
import { createPrometheusActivities } from './prometheus/measure-metric';
import { createRolloutActivities } from './rollout/nginx-weights';
import { createRolloutNoticeActivities } from './rollout/rollout-notice';
import { createSecretActivities, type SecretCheckDeps } from './secrets/check-secret-references';
import { createSshActivities, type SshActivityDeps } from './ssh/host-steps';
import { createWorkerInfoActivities, type WorkerInfoDeps } from './worker/worker-info';

export type ActivityDeps = WorkerInfoDeps & {
  backups?: BackupDeps;
  /** Without it, SSH activities fail with SshKeyUnavailable (a worker with no keys configured). */
  ssh?: SshActivityDeps;
  http?: HttpHealthDeps;
  /** Where the secrets preflight resolves references (default: the worker's process.env). */
  secrets?: SecretCheckDeps;
  /** Where Cloudflare tokens resolve (default: the worker's process.env and secrets folder). */
  cloudflare?: CloudflareDeps;
};

const NO_SSH_KEYS: SshActivityDeps = {
  privateKey: () => {
    throw new Error('this worker has no SSH keys: set OPSFLOW_SSH_KEYS=name=/path/to/private_key');
  },
};

/** Activities on the main task queue. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createWorkerInfoActivities(deps),
    ...createEnvironmentActivities(),
    ...createBackupActivities(deps.backups),
    ...createSshActivities(deps.ssh ?? NO_SSH_KEYS),
    ...createHttpHealthActivities(deps.http),
    ...createPrometheusActivities(),
    ...createRolloutActivities(deps.ssh ?? NO_SSH_KEYS),
    // A rollout's escalation notice: the webhook URL is a secret the worker resolves as a deploy's are.
    ...createRolloutNoticeActivities({ resolveSecret: deps.ssh?.resolveSecret }),
    // Without its own settings the preflight resolves as the deploy step will (tests' secret maps).
    ...createSecretActivities(deps.secrets ?? { resolve: deps.ssh?.resolveSecret }),
    // Stack E's front: the site-per-pool load balancer and where requests land.
    ...createCloudflareActivities(deps.cloudflare ?? { resolveSecret: deps.ssh?.resolveSecret }),
    ...createTrafficSampleActivities(),
    // The failover assessment's own observer: the worker probing a site's front.
    ...createSiteProbeActivities(),
    // Stack E's databases: replication, fence, promote (passwords are secret references).
    ...createDatabaseFailoverActivities({ resolveSecret: deps.ssh?.resolveSecret }),
    // ...and their Redis pair: fence, promote, follow.
    ...createRedisFailoverActivities({ resolveSecret: deps.ssh?.resolveSecret }),
    // A DR drill approving its own failover and failback (an Update through the worker's client).
    ...createApprovalActivities(),
  };
}

/**
 * DigitalOcean's provider activities (src/providers/cloud-provider.ts) run on its own task queue,
 * which the Temporal server rate-limits for every worker at once (the account allows 250 requests
 * a minute in all). So do the Kubernetes activities on its DOKS clusters: each fetches its
 * cluster's kubeconfig through the account's API, so the worker that holds the token serves them.
 */
export function createCloudActivities(deps: DigitalOceanDeps & { backups?: BackupDeps }) {
  const kubernetes: KubernetesDeps = {
    kubeconfig: doksKubeconfig(() => deps.digitalOcean()),
    clusters: doksClusters(() => deps.digitalOcean()),
    pollMs: deps.pollMs?.first,
  };
  return {
    ...createDigitalOceanActivities(deps),
    ...createKubernetesActivities(kubernetes),
    // Cluster backups read the cluster like the activities above and write to Spaces like database backups.
    ...clusterBackupActivities({ kubernetes, backups: deps.backups, digitalOcean: deps.digitalOcean }),
  };
}

/** Linode's provider activities, on `opsflow-linode`, with the same neutral names. */
export function createLinodeActivities(deps: LinodeDeps) {
  return createLinodeProvider(deps);
}

export type Activities = ReturnType<typeof createActivities>;
export type CloudActivities = ReturnType<typeof createCloudActivities>;
