// DOKS: a cluster's kubeconfig comes from the DigitalOcean API (GET /v2/kubernetes/clusters/{id}/kubeconfig)
// through the account's client, so its pacing and classified errors apply. The YAML stays in memory.
import type { DigitalOceanClient } from '../../integrations/digitalocean/client';
import { digitalOceanResources } from '../../integrations/digitalocean/resources';

export function doksKubeconfig(digitalOcean: () => DigitalOceanClient): (clusterId: string) => Promise<string> {
  return (clusterId) => digitalOceanResources(digitalOcean()).kubernetesClusters.kubeconfig(clusterId);
}

/** The account's DOKS cluster API (create, list, get, delete), for the cluster lifecycle activities. */
export function doksClusters(digitalOcean: () => DigitalOceanClient) {
  return () => digitalOceanResources(digitalOcean()).kubernetesClusters;
}
