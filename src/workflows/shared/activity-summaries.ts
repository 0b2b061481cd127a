// What the Web UI shows for each activity call: one line saying what it acts on ("create droplet
// stack-a-app (s-1vcpu-1gb, ubuntu-24-04-x64) in ams3"), built from the call's input. Secrets never
// appear: only names, paths, ids and counts; environment values and secret references are counted,
// not shown, and a command's environment is never read. Pure, so workflows use it.
import type { Activities } from '../../activities';
import type { KubernetesActivities } from '../../activities/kubernetes';
import type { ClusterBackupActivities } from '../../activities/kubernetes/cluster-backup';
import type { CloudProviderActivities, ServerId, ServerRef } from '../../providers/cloud-provider';
import { serverIdOf } from '../../providers/legacy-activity-names';
import type { BackupPolicy } from '../../specs/backup-policy';
import { backupKey, seriesPrefix } from '../../backups/keys';

type Input<F> = F extends (input: infer I, ...rest: never[]) => unknown ? I : never;
type Describers<A> = { [K in keyof A]-?: (input: Input<A[K]>) => string };

/** The Web UI truncates nothing, but a summary is one line: long lists are cut here. */
const MAX_SUMMARY = 200;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const list = (items: readonly string[]) => items.join(', ');
/** A host as the workflows name it: the spec's instance (host-steps passes it along) and its address. */
const onHost = (input: { host: string; port?: number; instance?: string }) =>
  input.instance ? `${input.instance} (${input.host})` : `${input.host}${input.port && input.port !== 22 ? `:${input.port}` : ''}`;
const bucketUrl = (policy: BackupPolicy, key: string) => `s3://${policy.destination.bucket}/${key}`;

const DUMP_TOOL: Record<string, string> = { postgresql: 'pg_dump', mysql: 'mysqldump', mariadb: 'mariadb-dump' };
const RESTORE_TOOL: Record<string, string> = { postgresql: 'pg_restore', mysql: 'mysql', mariadb: 'mariadb' };

function targetOf(policy: BackupPolicy, name: string) {
  return policy.targets.find((t) => t.name === name);
}

/** Where a database target's server is: a compose service on a droplet, or a host:port. */
function databaseLocation(policy: BackupPolicy, name: string): string {
  const target = targetOf(policy, name);
  if (!target || !('databases' in target)) return name;
  if (target.in) return `${name} (${target.kind} in ${target.in.environment}/${target.in.droplet}/${target.in.service})`;
  if (target.connection) return `${name} (${target.kind} at ${target.connection.host}:${target.connection.port})`;
  return name;
}

const kindOf = (policy: BackupPolicy, name: string) => targetOf(policy, name)?.kind ?? 'database';

/** A command as a person would read it: the program and its words, or a fixed script's label. */
function commandText(input: { argv?: string[]; label?: string }): string {
  return input.argv ? input.argv.join(' ') : (input.label ?? 'script');
}

export const MAIN_QUEUE_SUMMARIES: Describers<Activities> = {
  describeWorker: () => "report this worker's version, task queues and providers",
  claimEnvironment: ({ environment, request }) =>
    `claim environment ${environment} for ${request.holder.operation}${request.wait ? ' (waiting for the running operation to end)' : ''}`,
  workflowRunStatus: ({ workflowId }) => `check whether ${workflowId}, which holds the environment, still runs`,
  readOperationsAfter: ({ environment, runId }) => `read the operations environment ${environment} recorded after run ${runId}`,
  checkSecretReferences: ({ references }) =>
    `check the worker can resolve ${plural(Object.keys(references).length, 'secret')}: ${list(Object.keys(references))}`,
  waitForSsh: (input) => `wait for SSH on ${onHost(input)} as ${input.user} and pin its host key`,
  runRemoteCommand: (input) => `run ${commandText(input)} on ${onHost(input)}`,
  uploadFiles: (input) => `upload ${list(input.files.map((f) => f.path))} to ${onHost(input)}`,
  writeEnvFile: (input) =>
    `write ${input.path} on ${onHost(input)} (${plural(Object.keys(input.values).length, 'value')}, ${plural(Object.keys(input.secrets ?? {}).length, 'secret')} resolved on the worker)`,
  probeHealth: ({ url }) => `probe ${url} once`,
  measureMetric: ({ address, plan }) => `measure ${plan.name} once in Prometheus at ${address}`,
  setNginxWeights: ({ host, upstream, weights, stable, canary }) =>
    `nginx on ${host}: upstream ${upstream} canary ${weights.canary}% / stable ${weights.stable}% over ${plural(canary.length, 'canary server')} and ${plural(stable.length, 'stable server')}`,
  postRolloutNotice: ({ webhook }) => `post the rollout's escalation notice to the webhook ${webhook} names`,
  waitHealthy: ({ url, expectStatus, attempts }) =>
    `health check ${url}: expect ${[expectStatus ?? 200].flat().join(' or ')}, fail after ${plural(attempts, 'failed probe')} in a row`,
  backupDatabase: ({ policy, target, database, takenAt }) => {
    const kind = kindOf(policy, target);
    const key = backupKey({
      prefix: policy.destination.prefix,
      policy: policy.name,
      target,
      database,
      takenAt,
      compression: policy.compression === 'gzip' ? 'gzip' : 'none',
      format: kind === 'postgresql' ? 'postgresql-custom' : 'mysql-sql',
    });
    return `${DUMP_TOOL[kind] ?? 'dump'} ${database} of ${databaseLocation(policy, target)} to ${bucketUrl(policy, key)}`;
  },
  backupDirectory: ({ policy, target, takenAt }) => {
    const t = targetOf(policy, target);
    const where = t?.kind === 'directory' ? `${t.path} on ${t.in.environment}/${t.in.droplet}` : target;
    const key = backupKey({
      prefix: policy.destination.prefix,
      policy: policy.name,
      target,
      takenAt,
      compression: policy.compression === 'gzip' ? 'gzip' : 'none',
      format: 'tar',
    });
    return `tar ${where} to ${bucketUrl(policy, key)}`;
  },
  readManifest: ({ policy, key }) => `read the manifest of ${bucketUrl(policy, key)}`,
  listBackups: ({ policy, target, database }) =>
    `list backups in ${bucketUrl(policy, target ? seriesPrefix(policy.destination.prefix, policy.name, target, database) : `${policy.destination.prefix}${policy.name}/`)}`,
  deleteBackups: ({ policy, keys }) => `delete ${plural(keys.length, 'backup')} of ${policy.name} from s3://${policy.destination.bucket}`,
  checkRestoreTarget: ({ policy, target, database, overwrite }) =>
    `check database ${database} on ${databaseLocation(policy, target)} ${overwrite ? 'may be overwritten' : 'does not exist yet'}`,
  restoreIntoDatabase: ({ policy, target, key, database }) =>
    `${RESTORE_TOOL[kindOf(policy, target)] ?? 'restore'} ${bucketUrl(policy, key)} into ${database} on ${databaseLocation(policy, target)}`,
  tableStats: ({ policy, target, database }) => `count rows and checksum tables of ${database} on ${databaseLocation(policy, target)}`,
  dropDatabase: ({ policy, target, database }) => `drop database ${database} on ${databaseLocation(policy, target)}`,
  verifyArchive: ({ policy, key }) => `read ${bucketUrl(policy, key)} through tar -t`,
  recordVerification: ({ policy, record }) => `record that ${bucketUrl(policy, record.key)} was verified`,
  postFailureNotice: ({ policy }) => `post the failure notice of ${policy.name}`,
  ensureSiteLoadBalancer: ({ hostname, zone, sites }) =>
    `Cloudflare: load balancer ${hostname} in ${zone} with a pool per site (${list(sites.map((s) => `${s.name}: ${plural(s.origins.length, 'origin')}`))})`,
  removeSiteLoadBalancer: ({ hostname, zone, sites }) =>
    `Cloudflare: delete load balancer ${hostname} in ${zone}, its pools (${list(sites)}) and monitor`,
  readPoolHealth: ({ loadBalancer }) =>
    `Cloudflare: read pool health of ${list(Object.keys(loadBalancer.pools))} (${loadBalancer.hostname})`,
  observePoolHealth: ({ loadBalancer, site }) => `Cloudflare: is pool ${site} of ${loadBalancer.hostname} healthy (failover assessment)`,
  probeSiteFront: ({ site, url, host, requests }) =>
    `probe ${site}'s front ${host ? `${host} via ${url}` : url} from the worker (${plural(requests ?? 3, 'request')}; failover assessment)`,
  setTrafficSplit: ({ loadBalancer, split }) =>
    `Cloudflare: traffic of ${loadBalancer.hostname} to ${list(Object.entries(split).map(([site, p]) => `${site} ${p}%`))}`,
  addPoolOrigins: ({ loadBalancer, site, origins }) =>
    `Cloudflare: add ${list(origins.map((o) => `${o.name} (${o.address}:${o.port ?? 0})`))} to pool ${site} of ${loadBalancer.hostname}`,
  removePoolOrigins: ({ loadBalancer, site, origins }) =>
    `Cloudflare: remove ${list(origins.map((o) => o.name))} from pool ${site} of ${loadBalancer.hostname}`,
  sampleTraffic: ({ url, host, requests }) =>
    `send ${plural(requests, 'request')} to ${host ? `${host} via ${url}` : url} and count the sites that answer`,
  readReplication: ({ server, primary }) =>
    `read replication of ${server.name} (${server.host}:${server.port})${primary ? ` and how far it is behind ${primary.name}` : ''}`,
  observeReplicaView: ({ server, primary }) =>
    `does ${server.name} (${server.host}:${server.port}) still hear from ${primary.name} (failover assessment)`,
  fencePrimary: ({ server }) => `fence ${server.name} (${server.host}:${server.port}): read-only, client connections killed`,
  unfencePrimary: ({ server }) => `unfence ${server.name} (${server.host}:${server.port}): writable again`,
  promoteReplica: ({ server, maxLostTransactions, force }) =>
    `promote ${server.name} (${server.host}:${server.port}) once it applied all it received (RPO budget ${plural(maxLostTransactions, 'transaction')}${force ? ', forced' : ''})`,
  replicateFrom: ({ server, primary }) =>
    `make ${server.name} a read-only replica of ${primary.name} (${primary.host}:${primary.port}) by GTID`,
  reseedReplica: ({ server, primary, saveErrantTo }) =>
    `re-seed ${server.name} (${server.host}:${server.port}) from ${primary.name}: its databases saved under ${saveErrantTo}, then a copy of the primary's`,
  prepareReplicationServer: ({ server, serverId, replication }) =>
    `ready ${server.name} (${server.host}:${server.port}) for GTID replication: server_id ${serverId}, user ${replication.user}`,
  verifyWrite: ({ server }) => `write a check row on ${server.name} (${server.host}:${server.port}) and read it back`,
  stopReplication: ({ server }) => `stop ${server.name} (${server.host}:${server.port}) replicating; it stays read-only`,
  readRedisRole: ({ server, primary }) =>
    `read the role of Redis ${server.name} (${server.host}:${server.port})${primary ? ` and its offset behind ${primary.name}` : ''}`,
  fenceRedisPrimary: ({ server }) => `fence Redis ${server.name} (${server.host}:${server.port}): writes refused, clients cut`,
  unfenceRedisPrimary: ({ server, minReplicasToWrite }) =>
    `unfence Redis ${server.name} (${server.host}:${server.port}): min-replicas-to-write ${minReplicasToWrite}`,
  promoteRedisReplica: ({ server, maxLostBytes, force }) =>
    `promote Redis ${server.name} (${server.host}:${server.port}): REPLICAOF NO ONE${force ? ' (forced)' : `, at most ${maxLostBytes} byte(s) lost`}`,
  pointRedisAt: ({ server, primary }) =>
    primary
      ? `make Redis ${server.name} a replica of ${primary.name} (${primary.host}:${primary.port})`
      : `make Redis ${server.name} stand alone, fenced`,
  approveWhenWaiting: ({ workflowId, approve }) => `approve ${workflowId} as ${approve.by} once it waits for approval`,
};

export const CLOUD_SUMMARIES: Describers<CloudProviderActivities> = {
  ensureSshKey: ({ name }) => `register SSH key ${name} with the cloud account`,
  ensureNetwork: ({ name, region, ipRange }) => `create VPC ${name} (${ipRange}) in ${region}`,
  deleteNetwork: ({ id }) => `delete VPC ${id}`,
  ensureFirewall: ({ name, inbound }) => `create firewall ${name} (${plural(inbound.length, 'inbound rule')})`,
  deleteFirewall: ({ id }) => `delete firewall ${id}`,
  setFirewallInbound: ({ id, inbound }) =>
    `firewall ${id}: inbound exactly ${plural(inbound.length, 'rule')} (${list(inbound.map((r) => `${r.protocol} ${r.ports} from ${plural(r.sources.length, 'source')}`))})`,
  ensureServers: ({ names, size, image, region }) =>
    `create droplet${names.length === 1 ? '' : 's'} ${list(names)} (${size}, ${image}) in ${region}`,
  waitForServers: ({ servers }) =>
    `wait until droplet${servers.length === 1 ? '' : 's'} ${list(servers.map((s) => s.name ?? String(s.id)))} ${servers.length === 1 ? 'is' : 'are'} active`,
  deleteServersTagged: ({ tag }) => `delete every droplet tagged ${tag}`,
  readLoadBalancer: ({ loadBalancer }) => `read load balancer ${loadBalancer} and its droplets`,
  setLoadBalancerMembers: ({ loadBalancerId, members }) =>
    `load balancer ${loadBalancerId}: members exactly ${plural(members.length, 'droplet')} (${list(members.map(String))})`,
  ensureVolume: ({ name, sizeGb, filesystem, region }) => `create volume ${name} (${sizeGb} GB, ${filesystem}) in ${region}`,
  attachVolume: (input) => `attach volume ${input.volumeId} to droplet ${serverIdOf(input)}`,
  detachVolume: (input) => `detach volume ${input.volumeId} from droplet ${serverIdOf(input)}`,
  deleteVolume: ({ id }) => `delete volume ${id}`,
  ensureFloatingIp: ({ serverId }) => `assign a reserved IP to droplet ${serverId}`,
  releaseFloatingIp: ({ ip }) => `release reserved IP ${ip}`,
  listEnvironmentResources: ({ environment }) => `find everything environment ${environment} owns`,
  takeSnapshot: ({ target, policy }) =>
    `snapshot ${target.kind === 'droplet-snapshot' ? 'droplet' : 'volume'} ${target.environment}-${target.resource}${'powerOff' in target && target.powerOff ? ' (powered off)' : ''} for ${policy}`,
  listSnapshots: ({ policy, targets }) => `list snapshots of ${policy}: ${list(targets)}`,
  deleteSnapshots: ({ policy, snapshots }) =>
    `delete ${plural(snapshots.length, 'snapshot')} of ${policy}: ${list(snapshots.map((s) => s.name))}`,
};

/** A Kubernetes object as kubectl names it: "Deployment shop/web". */
const kubeObject = (o: { kind: string; namespace?: string; name: string }) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** Kubernetes activities: the cluster by id, the objects by kind, namespace and name (never the kubeconfig). */
export const KUBERNETES_SUMMARIES: Describers<KubernetesActivities> = {
  applyKubernetesManifests: ({ clusterId, manifests, force }) =>
    `server-side apply ${plural(manifests.length, 'object')} on cluster ${clusterId}${force ? ' (forcing conflicts)' : ''}: ${list(manifests.map((m) => kubeObject({ kind: m.kind, namespace: m.metadata?.namespace, name: m.metadata?.name })))}`,
  waitForDeploymentRollout: ({ clusterId, namespace, name }) =>
    `wait for the rollout of Deployment ${namespace}/${name} on cluster ${clusterId}`,
  readKubernetesPods: ({ clusterId, namespace, labelSelector }) =>
    `read pods in ${namespace}${labelSelector ? ` matching ${labelSelector}` : ''} on cluster ${clusterId}`,
  readKubernetesEvents: ({ clusterId, namespace, object }) =>
    `read events${object ? ` of ${object.kind} ${object.name}` : ''} in ${namespace} on cluster ${clusterId}`,
  scaleKubernetesWorkload: ({ clusterId, namespace, kind, name, replicas }) =>
    `scale ${kind} ${namespace}/${name} to ${plural(replicas, 'replica')} on cluster ${clusterId}`,
  patchKubernetesObject: ({ clusterId, object, patchType }) => `${patchType} patch ${kubeObject(object)} on cluster ${clusterId}`,
  deleteKubernetesObjects: ({ clusterId, objects }) => `delete ${list(objects.map(kubeObject))} on cluster ${clusterId}`,
  ensureKubernetesCluster: ({ name, region, node_pools }) =>
    `create Kubernetes cluster ${name} in ${region} (${list(node_pools.map((p) => `${p.name}: ${plural(p.count, 'node')} ${p.size}`))})`,
  waitForKubernetesCluster: ({ clusterId }) => `wait for Kubernetes cluster ${clusterId} to run`,
  deleteKubernetesCluster: ({ clusterId }) => `delete Kubernetes cluster ${clusterId}`,
  readKubernetesCanaryTarget: ({ cluster, namespace, stableService, route, canaryIngress }) =>
    `read the stable version behind Service ${namespace}/${stableService} and ${canaryIngress ? 'Ingress' : 'HTTPRoute'} ${namespace}/${route} on cluster ${cluster}`,
  applyKubernetesCanary: ({ clusterId, namespace, canaryDeployment, canaryService, replicas, images, track }) =>
    `server-side apply ${track ?? 'canary'} Deployment ${namespace}/${canaryDeployment} (${plural(replicas, 'replica')}, ${list(Object.values(images))}) and Service ${namespace}/${canaryService} on cluster ${clusterId}`,
  setHttpRouteWeights: ({ clusterId, namespace, route, weights }) =>
    `set HTTPRoute ${namespace}/${route} to stable ${weights.stable}% / canary ${weights.canary}% on cluster ${clusterId}`,
  setIngressCanaryWeights: ({ clusterId, namespace, ingress, canaryIngress, weights }) =>
    `set canary Ingress ${namespace}/${canaryIngress} (beside Ingress ${namespace}/${ingress}) to stable ${weights.stable}% / canary ${weights.canary}% on cluster ${clusterId}`,
  listKubernetesClustersTagged: ({ tag }) => `list the Kubernetes clusters opsflow made for ${tag}`,
  applyKubernetesSecrets: ({ clusterId, secrets }) =>
    `server-side apply ${plural(secrets.length, 'Secret')} from secret references on cluster ${clusterId}: ${list(secrets.map((s) => `${s.namespace}/${s.name} (${list(Object.keys(s.data))})`))}`,
};

/** Runs recorded before the provider seam call the old DigitalOcean names and shapes (providers/legacy-activity-names.ts). */
const LEGACY_CLOUD_SUMMARIES = {
  ensureVpc: CLOUD_SUMMARIES.ensureNetwork,
  deleteVpc: CLOUD_SUMMARIES.deleteNetwork,
  ensureDroplets: CLOUD_SUMMARIES.ensureServers,
  waitForDropletsActive: ({ droplets }: { droplets: ServerRef[] }) => CLOUD_SUMMARIES.waitForServers({ servers: droplets }),
  deleteDropletsByTag: CLOUD_SUMMARIES.deleteServersTagged,
  ensureReservedIp: ({ dropletId }: { dropletId: ServerId }) => CLOUD_SUMMARIES.ensureFloatingIp({ serverId: dropletId }),
  releaseReservedIp: CLOUD_SUMMARIES.releaseFloatingIp,
  findEnvironmentResources: CLOUD_SUMMARIES.listEnvironmentResources,
};

/** Cluster backups: the policy, the cluster, the namespaces and the bucket key; never an object's contents. */
export const CLUSTER_BACKUP_SUMMARIES: Describers<ClusterBackupActivities> = {
  exportClusterBackup: ({ policy }) =>
    `export ${policy.resources.kinds ? list(policy.resources.kinds) : 'every kind'} in ${list(policy.resources.namespaces)}${policy.resources.labelSelector ? ` matching ${policy.resources.labelSelector}` : ''} of cluster ${policy.cluster} to s3://${policy.destination.bucket}/${policy.destination.prefix}${policy.name}/ (ConfigMaps and Secrets encrypted)`,
  verifyClusterBackup: ({ policy, key }) =>
    `read back s3://${policy.destination.bucket}/${key}: every object its manifest lists, encrypted ones decrypting`,
  listClusterBackups: ({ policy }) => `list the backups of cluster ${policy.cluster} by ${policy.name}`,
  deleteClusterBackups: ({ policy, keys }) => `delete ${plural(keys.length, 'cluster backup')} of ${policy.name}: ${list(keys)}`,
  snapshotClusterVolumes: ({ policy }) =>
    `snapshot the DigitalOcean volumes of the bound claims in ${list(policy.resources.namespaces)} of cluster ${policy.cluster}`,
  restoreClusterObjects: ({ policy, key, namespaces, cluster }) =>
    `restore s3://${policy.destination.bucket}/${key} into cluster ${cluster ?? policy.cluster}: ${list(Object.entries(namespaces).map(([from, to]) => `${from} → ${to}`))}`,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ALL: Record<string, (input: any) => string> = {
  ...MAIN_QUEUE_SUMMARIES,
  ...CLOUD_SUMMARIES,
  ...KUBERNETES_SUMMARIES,
  ...CLUSTER_BACKUP_SUMMARIES,
  ...LEGACY_CLOUD_SUMMARIES,
};

/** Every activity name, today's and the old DigitalOcean ones, with a describer. */
export const DESCRIBED_ACTIVITIES: readonly string[] = Object.keys(ALL);

/**
 * The summary of one call of `activityType` with `input`. An activity without a describer (a new one,
 * or an old name) is named by its type; a describer that cannot read an odd input does the same.
 */
export function activitySummary(activityType: string, input: unknown): string {
  const describe = ALL[activityType];
  let text = activityType;
  if (describe) {
    try {
      text = describe(input ?? {});
    } catch {
      text = activityType;
    }
  }
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY - 1)}…` : line;
}
