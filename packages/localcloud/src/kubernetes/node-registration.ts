// A node pool's nodes as Node objects in the cluster's API server. kwok picks up every node with
// its annotation and plays its kubelet (Ready, heartbeats, pods); the labels are DOKS's own, so
// workloads can select a pool as they would on DigitalOcean.
import { findSize } from '../catalog';
import type { KubernetesNodePool } from './doks-state';
import type { KubeClient } from './kube-client';

export const KWOK_ANNOTATION = { 'kwok.x-k8s.io/node': 'fake' };

function nodeObject(pool: KubernetesNodePool, nodeName: string) {
  const size = findSize(pool.size);
  const resources = { cpu: String(size?.vcpus ?? 1), memory: `${size?.memory ?? 1024}Mi`, pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: nodeName,
      annotations: { ...KWOK_ANNOTATION },
      labels: {
        ...(pool.labels ?? {}),
        'kubernetes.io/hostname': nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': pool.size,
        'doks.digitalocean.com/node-pool': pool.name,
        'doks.digitalocean.com/node-pool-id': pool.id,
        type: 'kwok',
      },
    },
    spec: { taints: pool.taints.map(({ key, value, effect }) => ({ key, value, effect })) },
    status: { capacity: resources, allocatable: resources },
  };
}

/** Creates the node (an existing one, after a restart, is left as it is). */
export async function registerNode(client: KubeClient, pool: KubernetesNodePool, nodeName: string): Promise<void> {
  await client.expect('POST', '/api/v1/nodes', nodeObject(pool, nodeName), [201, 409]);
}

export async function removeNode(client: KubeClient, nodeName: string): Promise<void> {
  await client.expect('DELETE', `/api/v1/nodes/${encodeURIComponent(nodeName)}`, undefined, [200, 202, 404]);
}
