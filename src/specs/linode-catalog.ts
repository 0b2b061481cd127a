// Linode regions, plan types and images that a `cloud: linode` spec may name: Linode's own ids (as
// its API and the local cloud's catalogue list them), so a spec reads the same against either.
// Pure data, safe anywhere.

export const LINODE_REGION_NAMES: Record<string, string> = {
  'gb-lon': 'London 2, UK',
  'eu-west': 'London, UK',
  'de-fra-2': 'Frankfurt 2, DE',
  'eu-central': 'Frankfurt, DE',
  'us-east': 'Newark, NJ',
};

export const LINODE_TYPE_NAMES: Record<string, string> = {
  'g6-nanode-1': 'Nanode 1GB (1 vCPU, 25 GB disk, $5/month)',
  'g6-standard-1': 'Linode 2GB (1 vCPU, 50 GB disk, $12/month)',
  'g6-standard-2': 'Linode 4GB (2 vCPU, 80 GB disk, $24/month)',
  'g6-standard-4': 'Linode 8GB (4 vCPU, 160 GB disk, $48/month)',
  'g6-dedicated-2': 'Dedicated 4GB (2 vCPU, 80 GB disk, $36/month)',
};

export const LINODE_IMAGE_IDS = ['linode/debian12', 'linode/ubuntu24.04', 'linode/ubuntu22.04'] as [string, ...string[]];
export const LINODE_REGION_IDS = Object.keys(LINODE_REGION_NAMES) as [string, ...string[]];
export const LINODE_TYPE_IDS = Object.keys(LINODE_TYPE_NAMES) as [string, ...string[]];
