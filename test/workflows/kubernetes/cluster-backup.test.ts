// Cluster backups on the real dev server, a DOKS cluster of the local cloud (a real control plane,
// pods that really run) and MinIO as Spaces: stack-D-like objects (Deployments, Services, a
// ConfigMap, a Secret, an HPA, a Gateway and an HTTPRoute, RBAC) are exported by backupCluster,
// restored by restoreClusterBackup into a new namespace, and every object there equals its source
// field by field (status and what the cluster generates excepted). The Secret's value is neither
// in the archive in clear nor in either workflow's history; a restore into a namespace that holds
// objects is refused naming it and what it holds.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { createActivities } from '../../../src/activities';
import type { BackupDeps } from '../../../src/activities/backups/backup-steps';
import { clusterBackupActivities } from '../../../src/activities/kubernetes/cluster-backup';
import { doksClusters, doksKubeconfig } from '../../../src/activities/kubernetes/doks-kubeconfig';
import { DigitalOceanClient } from '../../../src/integrations/digitalocean/client';
import { scheduleOptions } from '../../../src/client/schedules';
import { parseBackupPolicy } from '../../../src/specs/backup-policy';
import type { RunBackupsResult } from '../../../src/workflows/backups/run-backups';
import type { RestoreBackupResult } from '../../../src/workflows/backups/restore-backup';
import { cleanObject, remapNamespace, type KubeJson } from '../../../src/backups/cluster/clean-object';
import { readSelectedObjects } from '../../../src/backups/cluster/read-resources';
import { KubernetesClient } from '../../../src/integrations/kubernetes/client';
import type { Manifest } from '../../../src/integrations/kubernetes/manifests';
import { parseClusterBackupPolicy, type ClusterBackupPolicy } from '../../../src/specs/cluster-backup-policy';
import type { BackupClusterResult } from '../../../src/workflows/kubernetes/backup-cluster';
import type { RestoreClusterBackupResult } from '../../../src/workflows/kubernetes/restore-cluster-backup';
import { TEST_KEYRING } from '../../helpers/backup-keys';
import { decodedText } from '../../helpers/history-text';
import type { ContractClient } from '../../helpers/do-api';
import { findKubePlane } from '../../helpers/kube-plane';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { startSpaces, type TestSpaces } from '../../helpers/spaces';
import { startTemporal, uniqueTaskQueue, withWorker, workflowBundlePath } from '../../helpers/temporal';
import { until } from '../../helpers/until';

jest.setTimeout(15 * 60_000);
const execFileAsync = promisify(execFile);

const plane = findKubePlane();
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const PASSWORD_B64 = Buffer.from(PASSWORD).toString('base64');
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let spaces: TestSpaces;
let workers: OpsflowWorkers;
let client: KubernetesClient;
let policy: ClusterBackupPolicy;
let api: ContractClient;
/** The DigitalOcean volume behind PersistentVolumeClaim shop/data (as DigitalOcean's CSI driver makes it). */
let volumeId: string;
let backups: BackupDeps;
const taskQueue = uniqueTaskQueue('cluster-backup');

const ns = 'shop';
const shop: Manifest[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: ns }, data: { LOG_LEVEL: 'info', FEATURE_X: 'on' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'read-pods', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'app-reads-pods', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-pods' },
    subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: ns }],
  },
  ...['web', 'api'].flatMap((name): Manifest[] => [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels: { app: name, tier: 'shop' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            serviceAccountName: 'app',
            containers: [
              {
                name: 'web',
                image: `registry.example/shop-${name}:1.0.0`,
                ports: [{ containerPort: 8080 }],
                envFrom: [{ configMapRef: { name: 'app-config' } }],
                env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } }],
                readinessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ]),
  // A PostgreSQL per service, as stack D: the real server, its password from the Secret.
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'orders-db', namespace: ns, labels: { app: 'orders-db' } },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: 'orders-db' } },
      template: {
        metadata: { labels: { app: 'orders-db' } },
        spec: {
          containers: [
            {
              name: 'postgres',
              image: 'postgres:16',
              ports: [{ name: 'postgres', containerPort: 5432 }],
              env: [
                { name: 'POSTGRES_DB', value: 'orders' },
                { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } },
              ],
              readinessProbe: { tcpSocket: { port: 'postgres' }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'orders-db', namespace: ns },
    spec: { selector: { app: 'orders-db' }, ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres' }] },
  },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: ns },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'public', namespace: ns },
    spec: { gatewayClassName: 'nginx', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: ns },
    spec: {
      parentRefs: [{ name: 'public', namespace: ns }],
      hostnames: ['web.shop.example'],
      rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
    },
  },
];

/** What the test expects to be backed up and restored: every object it wrote, plus the namespace's own `default` ServiceAccount. */
const EXPECTED = [
  ...shop.map((m) => `${m.kind} ${m.metadata.name}`),
  'Secret db-credentials',
  'PersistentVolumeClaim data',
  'ServiceAccount default',
].sort();

beforeAll(async () => {
  if (!plane.ok) throw new Error(`the Kubernetes plane is not built: ${plane.reason}`);
  await import('../../../src/integrations/kubernetes/client');
  env = await startTemporal();
  spaces = await startSpaces('cluster-backups');
  ({ cloud, api } = await startLocalCloud({
    sshHosts: false,
    kubernetes: { binDir: plane.binDir },
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
  }));
  const secrets: Record<string, string> = { SPACES_ACCESS: spaces.accessKey, SPACES_SECRET: spaces.secretKey, ORDERS_DB: PASSWORD };
  backups = {
    backupKeys: TEST_KEYRING,
    resolveSecret: async (ref) => {
      const value = secrets[ref.replace(/^env:/, '')];
      if (value === undefined) throw new Error(`no test secret for ${ref}`);
      return value;
    },
  };
  workers = await startOpsflowWorkers(env, cloud, {}, undefined, backups);
  policy = parseClusterBackupPolicy({
    name: 'shop-cluster',
    kind: 'cluster',
    environment: 'stack-d',
    cluster: 'shop',
    resources: { namespaces: [ns] },
    destination: {
      bucket: spaces.bucket,
      prefix: 'clusters/',
      endpoint: spaces.endpoint,
      accessKey: 'env:SPACES_ACCESS',
      secretKey: 'env:SPACES_SECRET',
    },
    retention: { keepDays: 30, keepWeekly: 4, minVerified: 1 },
    schedule: { cron: '0 2 * * *' },
    volumeSnapshots: true,
  });

  // The cluster, with its namespace, through provisionCluster; then the objects, and the Secret (whose value no workflow sees).
  const provisioned = await workers.withWorkflowWorker(taskQueue, () =>
    env.client.workflow.execute('provisionCluster', {
      taskQueue,
      workflowId: `provision-${taskQueue}`,
      args: [
        {
          environment: 'stack-d',
          cluster: { name: 'shop', region: 'fra1', version: '1.34.3-do.0', nodePools: [{ name: 'pool', size: 's-2vcpu-4gb', count: 3 }] },
          manifests: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: 'shop' } } }],
        },
      ],
    }),
  );
  const kubeconfig = await (
    await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${(provisioned as { clusterId: string }).clusterId}/kubeconfig`, {
      headers: { Authorization: `Bearer ${cloud.token}` },
    })
  ).text();
  client = KubernetesClient.fromKubeconfig(kubeconfig, 'the test');
  await client.apply(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-credentials', namespace: ns },
      type: 'Opaque',
      stringData: { password: PASSWORD },
    },
    { force: false },
  );
  for (const manifest of shop) await client.apply(manifest, { force: false });
  // The service-account controller makes each namespace's `default` ServiceAccount after the
  // namespace: waited for, so the backup's count of ServiceAccounts does not depend on its pace.
  // A claim bound to a DigitalOcean volume, as DigitalOcean's CSI driver leaves them: the PersistentVolume names the volume's id.
  const made = await api.call<{ volume: { id: string } }>('POST', '/v2/volumes', {
    name: 'pvc-data',
    region: 'fra1',
    size_gigabytes: 1,
    filesystem_type: 'ext4',
  });
  volumeId = made.body.volume.id;
  await client.apply(
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pvc-data' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'do-block-storage',
        csi: { driver: 'dobs.csi.digitalocean.com', volumeHandle: volumeId, fsType: 'ext4' },
        claimRef: { namespace: ns, name: 'data' },
      },
    },
    { force: false },
  );
  await client.apply(
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: ns },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'do-block-storage',
        volumeName: 'pvc-data',
        resources: { requests: { storage: '1Gi' } },
      },
    },
    { force: false },
  );
  await until('claim shop/data bound', async () =>
    (await client.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: 'data' }))?.status?.phase === 'Bound'
      ? true
      : undefined,
  );
  await until('the default ServiceAccount of shop', () =>
    client.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: ns, name: 'default' }),
  );
}, 3_600_000);

afterAll(async () => {
  await workers?.stop();
  await cloud?.stop();
  await spaces?.stop();
  await env?.teardown();
});

/** Every object of a namespace as a backup keeps it, moved to `as` so two namespaces compare, by kind and name. */
async function objectsOf(namespace: string, as: string): Promise<Map<string, KubeJson>> {
  const { objects } = await readSelectedObjects(client, { namespaces: [namespace] });
  return new Map(objects.map((o) => [`${o.kind} ${o.name}`, cleanObject(remapNamespace(o.object, namespace, as))]));
}

/** The address of the Ready pod of `app` in `namespace` (pods run on this machine's addresses). */
function readyPodIp(namespace: string, app: string): Promise<string> {
  return until(`a Ready ${app} pod in ${namespace}`, async () => {
    const pods = await client.list('v1', 'Pod', namespace, { labelSelector: `app=${app}` });
    const ready = pods.items.find((p) =>
      p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
    );
    return ready?.status?.podIP as string | undefined;
  });
}

/** psql against the pod's PostgreSQL as postgres, with the Secret's password. */
async function psql(host: string, database: string, sql: string): Promise<string> {
  const { stdout } = await execFileAsync('psql', ['-h', host, '-U', 'postgres', '-d', database, '-Atc', sql], {
    env: { ...process.env, PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '10' },
  });
  return stdout.trim();
}

async function historyText(workflowId: string): Promise<string> {
  return decodedText(await env.client.workflow.getHandle(workflowId).fetchHistory());
}

test('a cluster backup restored into a new namespace holds every object, equal field by field; the Secret never in clear', async () => {
  const backupId = `backup-${taskQueue}`;
  const backup: BackupClusterResult = await workers.withWorkflowWorker(taskQueue, () =>
    env.client.workflow.execute('backupCluster', {
      taskQueue,
      workflowId: backupId,
      args: [{ policy, retry: { maximumAttempts: 2, initialInterval: '1s' } }],
    }),
  );
  expect(backup.failures).toEqual([]);
  expect(backup.verified).toBe(true);
  // Velero's layout, ConfigMaps and Secrets encrypted; the namespace itself; nothing the cluster made (pods, ReplicaSets, tokens, kube-root-ca.crt).
  expect(backup.backup!.kinds).toEqual({
    ConfigMap: 1,
    Deployment: 3,
    Gateway: 1,
    HTTPRoute: 1,
    HorizontalPodAutoscaler: 1,
    Namespace: 1,
    PersistentVolumeClaim: 1,
    Role: 1,
    RoleBinding: 1,
    Secret: 1,
    Service: 3,
    ServiceAccount: 2,
  });
  expect(backup.backup!.encrypted).toBe(2);
  // The claim's DigitalOcean volume snapshotted through the API, named after the policy, the claim and the run.
  const snapshotName = `opsflow.shop-cluster.shop-data.${backup.takenAt.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}`;
  expect(backup.volumes).toEqual({
    taken: [
      { namespace: 'shop', claim: 'data', volumeId, snapshotId: expect.any(String), name: snapshotName, sizeGigabytes: expect.any(Number) },
    ],
    skipped: [],
  });
  const snapshots = await api.call<{ snapshots: { id: string; name: string }[] }>('GET', `/v2/volumes/${volumeId}/snapshots`);
  expect(snapshots.body.snapshots.map((x) => [String(x.id), x.name])).toEqual([[backup.volumes!.taken[0]!.snapshotId, snapshotName]]);

  const archive = gunzipSync(
    Buffer.from(
      await (await spaces.s3.send(new GetObjectCommand({ Bucket: spaces.bucket, Key: backup.backup!.key }))).Body!.transformToByteArray(),
    ),
  ).toString('latin1');
  for (const path of [
    'metadata/version',
    'resources/deployments.apps/namespaces/shop/web.json',
    'resources/services/namespaces/shop/api.json',
    'resources/horizontalpodautoscalers.autoscaling/namespaces/shop/web.json',
    'resources/httproutes.gateway.networking.k8s.io/namespaces/shop/web.json',
    'resources/secrets/namespaces/shop/db-credentials.json',
    'resources/namespaces/cluster/shop.json',
  ])
    expect(archive).toContain(path);
  expect(archive).not.toContain(PASSWORD);
  expect(archive).not.toContain(PASSWORD_B64);
  expect(archive).not.toContain('FEATURE_X'); // the ConfigMap is encrypted too
  expect(archive).toContain('registry.example/shop-web:1.0.0'); // a Deployment is not

  // The export retried after its upload finished (its answer lost) returns that backup; it exports nothing again.
  const account = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  const kubernetes = { kubeconfig: doksKubeconfig(() => account), clusters: doksClusters(() => account) };
  const retried = await new MockActivityEnvironment().run(clusterBackupActivities({ kubernetes, backups }).exportClusterBackup, {
    policy,
    takenAt: backup.takenAt,
  });
  const { generatedSkipped, ...firstOutcome } = backup.backup!;
  expect(generatedSkipped).toBeGreaterThan(0);
  expect(retried).toEqual(firstOutcome);

  const restoreId = `restore-${taskQueue}`;
  const restored: RestoreClusterBackupResult = await workers.withWorkflowWorker(taskQueue, () =>
    env.client.workflow.execute('restoreClusterBackup', {
      taskQueue,
      workflowId: restoreId,
      args: [{ policy, namespaces: { shop: 'shop-restored' }, retry: { maximumAttempts: 1 } }],
    }),
  );
  expect(restored.key).toBe(backup.backup!.key);
  expect(restored.created).toEqual(['shop-restored']);

  const source = await objectsOf(ns, 'shop-restored');
  const copy = await objectsOf('shop-restored', 'shop-restored');
  expect([...source.keys()].sort()).toEqual(EXPECTED);
  expect([...copy.keys()].sort()).toEqual(EXPECTED);
  for (const [name, object] of source) expect({ name, object: copy.get(name) }).toEqual({ name, object });
  // Read independently of the comparison's own cleaning: the values themselves arrived.
  const secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'shop-restored', name: 'db-credentials' });
  expect(Buffer.from(String((secret!.data as Record<string, string>).password), 'base64').toString()).toBe(PASSWORD);
  const binding = await client.get({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    namespace: 'shop-restored',
    name: 'app-reads-pods',
  });
  expect(binding!.subjects).toEqual([{ kind: 'ServiceAccount', name: 'app', namespace: 'shop-restored' }]);
  const hpa = await client.get({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: 'shop-restored', name: 'web' });
  expect([hpa!.spec.minReplicas, hpa!.spec.maxReplicas]).toEqual([2, 5]);
  // The restored Secret is the one the restored PostgreSQL starts with: it logs in with the password.
  expect(await psql(await readyPodIp('shop-restored', 'orders-db'), 'postgres', 'SELECT 1')).toBe('1');
  const namespace = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'shop-restored' });
  expect(namespace!.metadata.labels).toMatchObject({ team: 'shop', 'kubernetes.io/metadata.name': 'shop-restored' });

  for (const id of [backupId, restoreId]) {
    const text = await historyText(id);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(PASSWORD_B64);
  }
});

test('a restore into a namespace that already holds objects is refused, naming it and what it holds', async () => {
  await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'taken' } }, { force: false });
  await client.apply(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'occupant', namespace: 'taken' }, data: { a: 'b' } },
    { force: false },
  );
  const refused = await workers
    .withWorkflowWorker(taskQueue, () =>
      env.client.workflow.execute('restoreClusterBackup', {
        taskQueue,
        workflowId: `restore-taken-${taskQueue}`,
        args: [{ policy, namespaces: { shop: 'taken' }, retry: { maximumAttempts: 1 } }],
      }),
    )
    .catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(WorkflowFailedError);
  const cause = (refused as WorkflowFailedError).cause as { cause?: { type?: string; message?: string } };
  expect(cause.cause?.type).toBe('RestoreTargetNotEmpty');
  expect(cause.cause?.message).toContain('namespace taken already exists and holds 1 object(s) (ConfigMap taken/occupant)');
  // Nothing of the backup was applied there.
  expect(await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'taken', name: 'web' })).toBeUndefined();
});

test("the cluster policy's Schedule, triggered once, runs backupCluster to the end and keeps both backups", async () => {
  const options = scheduleOptions(policy, 'cluster-backup-test');
  const handle = await env.client.schedule.create({
    ...options,
    scheduleId: `${options.scheduleId}-${taskQueue}`,
    // The schedule as `opsflow schedules apply` makes it, on this test's queue.
    action: { ...options.action, taskQueue, workflowId: `scheduled-${taskQueue}` },
  });
  try {
    const result = await workers.withWorkflowWorker(taskQueue, async () => {
      await handle.trigger();
      const started = await until('the triggered run', async () => (await handle.describe()).info.recentActions[0]?.action.workflow);
      return env.client.workflow.getHandle(started.workflowId, started.firstExecutionRunId).result() as Promise<BackupClusterResult>;
    });
    expect(result.failures).toEqual([]);
    expect(result.verified).toBe(true);
    // The first test's backup and this one, both within keepDays.
    expect(result.retention).toEqual({ kept: 2, removed: [] });
    // ...and both runs' snapshots of the claim's volume.
    expect(result.snapshotRetention).toEqual({ kept: 2, removed: [] });
  } finally {
    await handle.delete();
  }
});

test('the PostgreSQL in a pod is dumped by connection to its pod and restored equal', async () => {
  const host = await readyPodIp(ns, 'orders-db');
  await psql(
    host,
    'orders',
    "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
  );
  const digest = (database: string) =>
    psql(host, database, "SELECT count(*) || ':' || md5(string_agg(id || '=' || item, ',' ORDER BY id)) FROM orders");
  const databasePolicy = parseBackupPolicy({
    name: 'shop-databases',
    targets: [
      {
        name: 'orders-db',
        kind: 'postgresql',
        databases: ['orders'],
        connection: { host, port: 5432, user: 'postgres', password: 'env:ORDERS_DB' },
      },
    ],
    destination: policy.destination,
    retention: { keepDays: 30, minVerified: 1 },
    schedule: { every: '6h' },
  });
  const queue = uniqueTaskQueue('pod-database');
  const activities = createActivities({ opsflowVersion: 'test', providers: [], backups });
  const dumped: RunBackupsResult = await withWorker(env, queue, activities, () =>
    env.client.workflow.execute('runBackups', {
      taskQueue: queue,
      workflowId: `backup-db-${queue}`,
      args: [{ policy: databasePolicy, retry: { maximumAttempts: 2, initialInterval: '1s' } }],
    }),
  );
  expect(dumped.results).toEqual([expect.objectContaining({ target: 'orders-db', database: 'orders', ok: true, verified: true })]);
  const restored: RestoreBackupResult = await withWorker(env, queue, activities, () =>
    env.client.workflow.execute('restoreBackup', {
      taskQueue: queue,
      workflowId: `restore-db-${queue}`,
      args: [{ policy: databasePolicy, target: 'orders-db', intoDatabase: 'orders_restored', retry: { maximumAttempts: 1 } }],
    }),
  );
  expect(restored.matchesManifest).toBe(true);
  expect(await digest('orders_restored')).toBe(await digest('orders'));
  expect(await digest('orders')).toMatch(/^500:/);
  const history = await historyText(`backup-db-${queue}`);
  expect(history).not.toContain(PASSWORD);
});

test('the runs above replay against the current workflow code (rule 8) and hold no secret (rule 6)', async () => {
  // File names as test/replay replays them; OPSFLOW_RECORD_HISTORIES=1 records the runs there.
  const runs: [string, string][] = [
    [`backup-${taskQueue}`, 'cluster-backup-run-volumes'],
    [`restore-${taskQueue}`, 'cluster-backup-restore'],
    [`restore-taken-${taskQueue}`, 'cluster-backup-restore-refused'],
  ];
  for (const [workflowId, file] of runs) {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, history, file)).resolves.toBeUndefined();
    const text = decodedText(history);
    for (const secret of [PASSWORD, PASSWORD_B64, spaces.secretKey, spaces.accessKey]) expect(text.includes(secret)).toBe(false);
    if (process.env.OPSFLOW_RECORD_HISTORIES === '1')
      writeFileSync(path.join(__dirname, '..', '..', 'replay', `${file}.json`), historyToJSON(history));
  }
});
