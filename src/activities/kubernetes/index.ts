// The Kubernetes activities: apply, wait for a rollout, read pods and events, scale, patch and
// delete, on the cluster a provider names by id. The provider supplies the kubeconfig (for
// DigitalOcean, doks-kubeconfig.ts) and registers these on its own task queue with its other
// activities: each one fetches the kubeconfig through the provider's API first.
import { applyManifestsActivity } from './apply-manifests';
import { applySecretsActivity } from './apply-secrets';
import { canaryReleaseActivities } from './canary-release';
import { changeObjectActivities } from './change-objects';
import { clusterLifecycleActivities } from './cluster-lifecycle';
import type { KubernetesDeps } from './deps';
import { readClusterActivities } from './read-cluster';
import { waitForRolloutActivity } from './wait-for-rollout';

export type { KubernetesDeps } from './deps';

export function createKubernetesActivities(deps: KubernetesDeps) {
  return {
    applyKubernetesManifests: applyManifestsActivity(deps),
    applyKubernetesSecrets: applySecretsActivity(deps),
    waitForDeploymentRollout: waitForRolloutActivity(deps),
    ...readClusterActivities(deps),
    ...changeObjectActivities(deps),
    ...clusterLifecycleActivities(deps),
    // A canary rollout's Kubernetes side (rolloutRelease with traffic.httpRoute).
    ...canaryReleaseActivities(deps),
  };
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
