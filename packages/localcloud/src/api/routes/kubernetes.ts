// DOKS: /v2/kubernetes/clusters (create, get, list, update, delete), their node pools, kubeconfig
// and credentials, and the options. Each cluster is a real control plane on this machine
// (src/kubernetes): creating one answers at once with state `provisioning`, and the state turns
// `running` when its API server is ready and its nodes are Ready.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { REGIONS, SIZES } from '../../catalog';
import type { CloudContext } from '../../context';
import type { KubernetesClusters } from '../../kubernetes/clusters';
import type { KubernetesCluster, KubernetesNode, KubernetesNodePool } from '../../kubernetes/doks-state';
import { ApiError, notFound, unprocessable } from '../errors';
import { body, list, now, param, query, requireRegion, tagNames, uuid } from '../route-helpers';
import { ensureDefaultVpc } from './vpcs';
import { KUBERNETES_VERSION, newPool, resourceName, subnet, updatePool, version, VERSION_SLUG } from './kubernetes-input';

const DEFAULT_CLUSTER_SUBNET = '10.244.0.0/16';
const DEFAULT_SERVICE_SUBNET = '10.245.0.0/16';
const CREDENTIALS_LIFETIME_S = 7 * 24 * 3600;

function findCluster(clusters: KubernetesClusters, request: FastifyRequest): KubernetesCluster {
  const cluster = clusters.find(param(request, 'cluster_id'));
  if (!cluster) throw notFound('kubernetes cluster');
  return cluster;
}

function findPool(cluster: KubernetesCluster, request: FastifyRequest): KubernetesNodePool {
  const pool = cluster.node_pools.find((p) => p.id === param(request, 'node_pool_id'));
  if (!pool) throw notFound('node pool');
  return pool;
}

function newNode(ctx: CloudContext, pool: KubernetesNodePool): KubernetesNode {
  const at = now();
  // DigitalOcean names nodes <pool>-<5 random characters>.
  const suffix = randomBytes(4).toString('hex').slice(0, 5);
  const dropletId = String(ctx.store.nextId());
  ctx.store.changed();
  return {
    id: uuid(),
    name: `${pool.name}-${suffix}`,
    status: { state: 'provisioning' },
    droplet_id: dropletId,
    created_at: at,
    updated_at: at,
  };
}

/** Adds or marks for removal nodes until the pool has `count` live ones (newest removed first). */
function resizePool(ctx: CloudContext, pool: KubernetesNodePool): void {
  const live = pool.nodes.filter((n) => n.status.state !== 'deleting');
  for (let i = live.length; i < pool.count; i++) pool.nodes.push(newNode(ctx, pool));
  for (const node of live.slice(pool.count).reverse()) node.status = { state: 'deleting' };
}

/** The plane behind a cluster, or a 404 saying why there is none yet. */
function runningPlane(clusters: KubernetesClusters, cluster: KubernetesCluster) {
  const plane = clusters.plane(cluster.id);
  if (!plane) {
    const why = cluster.status.message ? `: ${cluster.status.message}` : '';
    throw new ApiError(404, 'not_found', `The cluster's control plane is not running (state ${cluster.status.state}${why}).`);
  }
  return plane;
}

export function registerKubernetesRoutes(app: FastifyInstance, ctx: CloudContext, clusters: KubernetesClusters): void {
  app.get('/v2/kubernetes/options', async () => ({
    options: {
      regions: REGIONS.map((r) => ({ name: r.name, slug: r.slug })),
      versions: [{ slug: VERSION_SLUG, kubernetes_version: KUBERNETES_VERSION, supported_features: ['cluster-autoscaler'] }],
      sizes: SIZES.map((s) => ({ name: s.slug, slug: s.slug })),
    },
  }));

  app.get('/v2/kubernetes/clusters', async (request) => list(request, 'kubernetes_clusters', clusters.clusters));

  app.post('/v2/kubernetes/clusters', async (request, reply) => {
    const input = body(request);
    const name = resourceName(input.name, 'name');
    const region = requireRegion(ctx, input.region).slug;
    if (clusters.clusters.some((c) => c.name === name)) throw unprocessable(`a Kubernetes cluster named ${name} already exists`);
    if (!Array.isArray(input.node_pools) || input.node_pools.length === 0)
      throw unprocessable('node_pools must list at least one node pool');
    const pools = input.node_pools.map((p: Record<string, unknown>, i) => newPool(p, `node_pools[${i}]`));
    const vpc = input.vpc_uuid === undefined ? ensureDefaultVpc(ctx, region) : ctx.store.state.vpcs.find((v) => v.id === input.vpc_uuid);
    if (!vpc || vpc.region !== region) throw unprocessable(`vpc_uuid ${String(input.vpc_uuid)} is not a VPC in ${region}`);
    const id = uuid();
    const at = now();
    for (const pool of pools) resizePool(ctx, pool);
    const cluster: KubernetesCluster = {
      id,
      name,
      region,
      version: version(input.version),
      cluster_subnet: subnet(input.cluster_subnet, 'cluster_subnet', DEFAULT_CLUSTER_SUBNET),
      service_subnet: subnet(input.service_subnet, 'service_subnet', DEFAULT_SERVICE_SUBNET),
      vpc_uuid: vpc.id,
      ipv4: '',
      endpoint: '',
      // DigitalOcean tags every cluster with these two.
      tags: [...new Set(['k8s', `k8s:${id}`, ...tagNames(input.tags)])],
      node_pools: pools,
      maintenance_policy: { start_time: '00:00', duration: '4h0m0s', day: 'any' },
      auto_upgrade: input.auto_upgrade === true,
      surge_upgrade: input.surge_upgrade === true,
      ha: input.ha === true,
      registry_enabled: false,
      status: { state: 'provisioning', message: 'provisioning' },
      created_at: at,
      updated_at: at,
    };
    clusters.add(cluster);
    return reply.code(201).send({ kubernetes_cluster: cluster });
  });

  app.get('/v2/kubernetes/clusters/:cluster_id', async (request) => ({ kubernetes_cluster: findCluster(clusters, request) }));

  app.put('/v2/kubernetes/clusters/:cluster_id', async (request, reply) => {
    const cluster = findCluster(clusters, request);
    const input = body(request);
    const name = resourceName(input.name, 'name');
    if (clusters.clusters.some((c) => c.name === name && c.id !== cluster.id))
      throw unprocessable(`a Kubernetes cluster named ${name} already exists`);
    cluster.name = name;
    if (input.tags !== undefined) cluster.tags = [...new Set(['k8s', `k8s:${cluster.id}`, ...tagNames(input.tags)])];
    for (const flag of ['auto_upgrade', 'surge_upgrade', 'ha'] as const)
      if (input[flag] !== undefined) cluster[flag] = input[flag] === true;
    cluster.updated_at = now();
    clusters.save();
    return reply.code(202).send({ kubernetes_cluster: cluster });
  });

  app.delete('/v2/kubernetes/clusters/:cluster_id', async (request, reply) => {
    await clusters.destroy(findCluster(clusters, request));
    return reply.code(204).send();
  });

  app.get('/v2/kubernetes/clusters/:cluster_id/kubeconfig', async (request, reply) => {
    const cluster = findCluster(clusters, request);
    const kubeconfig = runningPlane(clusters, cluster).adminKubeconfig(`do-${cluster.region}-${cluster.name}`);
    return reply.type('application/yaml').send(kubeconfig);
  });

  app.get('/v2/kubernetes/clusters/:cluster_id/credentials', async (request) => {
    const plane = runningPlane(clusters, findCluster(clusters, request));
    const asked = Number(query(request).expiry_seconds ?? CREDENTIALS_LIFETIME_S);
    const lifetime = Number.isInteger(asked) && asked > 0 ? asked : CREDENTIALS_LIFETIME_S;
    return {
      server: plane.server,
      certificate_authority_data: Buffer.from(plane.caPem).toString('base64'),
      client_certificate_data: null,
      client_key_data: null,
      token: plane.adminToken,
      expires_at: new Date(Date.now() + lifetime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  });

  app.get('/v2/kubernetes/clusters/:cluster_id/node_pools', async (request) => ({ node_pools: findCluster(clusters, request).node_pools }));

  app.post('/v2/kubernetes/clusters/:cluster_id/node_pools', async (request, reply) => {
    const cluster = findCluster(clusters, request);
    const pool = newPool(body(request), 'node_pool');
    if (cluster.node_pools.some((p) => p.name === pool.name)) throw unprocessable(`the cluster already has a node pool named ${pool.name}`);
    resizePool(ctx, pool);
    cluster.node_pools.push(pool);
    clusters.save();
    clusters.syncNodes(cluster);
    return reply.code(201).send({ node_pool: pool });
  });

  app.get('/v2/kubernetes/clusters/:cluster_id/node_pools/:node_pool_id', async (request) => {
    return { node_pool: findPool(findCluster(clusters, request), request) };
  });

  app.put('/v2/kubernetes/clusters/:cluster_id/node_pools/:node_pool_id', async (request, reply) => {
    const cluster = findCluster(clusters, request);
    const pool = findPool(cluster, request);
    const updated = structuredClone(pool);
    updatePool(updated, body(request), 'node_pool');
    if (cluster.node_pools.some((p) => p.name === updated.name && p.id !== pool.id)) {
      throw unprocessable(`the cluster already has a node pool named ${updated.name}`);
    }
    Object.assign(pool, updated);
    resizePool(ctx, pool);
    clusters.save();
    clusters.syncNodes(cluster);
    return reply.code(202).send({ node_pool: pool });
  });

  app.delete('/v2/kubernetes/clusters/:cluster_id/node_pools/:node_pool_id', async (request, reply) => {
    const cluster = findCluster(clusters, request);
    const pool = findPool(cluster, request);
    cluster.node_pools = cluster.node_pools.filter((p) => p.id !== pool.id);
    clusters.save();
    clusters.syncNodes(cluster);
    return reply.code(204).send();
  });
}
