// Cluster backups on the real dev server, a DOKS cluster of the local cloud (a real control plane,
// pods that really run) and MinIO as Spaces: stack-D-like objects (Deployments, Services, a
// ConfigMap, a Secret, an HPA, a Gateway and an HTTPRoute, RBAC) are exported by backupCluster,
// restored by restoreClusterBackup into a new namespace, and every object there equals its source
// field by field (status and what the cluster generates excepted). The Secret's value is neither
// in the archive in clear nor in either workflow's history; a restore into a namespace that holds
// objects is refused naming it and what it holds.
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import type { BackupDeps } from '../../../src/activities/backups/backup-steps';
import { cleanObject, remapNamespace, type KubeJson } from '../../../src/backups/cluster/clean-object';
import { readSelectedObjects } from '../../../src/backups/cluster/read-resources';
import { KubernetesClient } from '../../../src/integrations/kubernetes/client';
import type { Manifest } from '../../../src/integrations/kubernetes/manifests';
import { parseClusterBackupPolicy, type ClusterBackupPolicy } from '../../../src/specs/cluster-backup-policy';
import type { BackupClusterResult } from '../../../src/workflows/kubernetes/backup-cluster';
import type { RestoreClusterBackupResult } from '../../../src/workflows/kubernetes/restore-cluster-backup';
import { TEST_KEYRING } from '../../helpers/backup-keys';
import { decodedText } from '../../helpers/history-text';
import { findKubePlane } from '../../helpers/kube-plane';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { startSpaces, type TestSpaces } from '../../helpers/spaces';
import { startTemporal, uniqueTaskQueue } from '../../helpers/temporal';

jest.setTimeout(15 * 60_000);

const plane = findKubePlane();
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const PASSWORD_B64 = Buffer.from(PASSWORD).toString('base64');
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let spaces: TestSpaces;
let workers: OpsflowWorkers;
let client: KubernetesClient;
let policy: ClusterBackupPolicy;
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
const EXPECTED = [...shop.map((m) => `${m.kind} ${m.metadata.name}`), 'Secret db-credentials', 'ServiceAccount default'].sort();

beforeAll(async () => {
  if (!plane.ok) throw new Error(`the Kubernetes plane is not built: ${plane.reason}`);
  await import('../../../src/integrations/kubernetes/client');
  env = await startTemporal();
  spaces = await startSpaces('cluster-backups');
  ({ cloud } = await startLocalCloud({
    sshHosts: false,
    kubernetes: { binDir: plane.binDir },
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
  }));
  const secrets: Record<string, string> = { SPACES_ACCESS: spaces.accessKey, SPACES_SECRET: spaces.secretKey };
  const backups: BackupDeps = {
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
    Deployment: 2,
    Gateway: 1,
    HTTPRoute: 1,
    HorizontalPodAutoscaler: 1,
    Namespace: 1,
    Role: 1,
    RoleBinding: 1,
    Secret: 1,
    Service: 2,
    ServiceAccount: 2,
  });
  expect(backup.backup!.encrypted).toBe(2);
  expect(backup.backup!.generatedSkipped).toBeGreaterThan(0);

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
