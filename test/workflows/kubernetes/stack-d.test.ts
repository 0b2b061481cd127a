// Stack D as a user brings it up (issue 16): `opsflow provision examples/stack-d.yaml` on a real
// Temporal dev server against the local cloud's DOKS (a real control plane, pods that really run,
// the cluster's nginx ingress). The real kubectl, with the kubeconfig from the API, lists the six
// services' Deployments, their databases' and RabbitMQ's Ready (a message through RabbitMQ with
// the password the worker put in its Secret); the Gateway answers each service's host name from that service's pods; then
// `opsflow destroy stack-d` deletes the cluster with the environment: the API lists none and no
// process of it is left.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../../src/paths';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { ContractClient } from '../../helpers/do-api';
import { findKubePlane } from '../../helpers/kube-plane';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { processesUsing } from '../../helpers/processes';
import { tempDir } from '../../helpers/temp';
import { startTemporal } from '../../helpers/temporal';
import { until } from '../../helpers/until';
import { captureCliOutput, opsflow as runCli, pointCliAt } from '../../helpers/in-process-cli';
import { decodedText } from '../../helpers/history-text';
import amqp from 'amqplib';
import { provisionWorkflowId } from '../../../src/names/workflow-ids';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
jest.setTimeout(15 * 60_000);
const run = promisify(execFile);

const STACK_D = path.join(PROJECT_ROOT, 'examples', 'stack-d.yaml');
const SERVICES = { frontend: 3, auth: 2, catalog: 2, orders: 2, payments: 2, notifications: 2 };
const DATABASES = ['auth', 'catalog', 'orders', 'payments', 'notifications'];
/** The database passwords the worker resolves (OPSFLOW_SECRET_STACK_D_<SERVICE>_DB), never in history. */
const PASSWORDS = Object.fromEntries(DATABASES.map((s) => [s, `pw-${s}-${process.pid}-7f3a`]));
/** RabbitMQ's password (OPSFLOW_SECRET_STACK_D_RABBITMQ), resolved on the worker too. */
const RABBITMQ_PASSWORD = `pw-rabbitmq-${process.pid}-51c2`;

const plane = findKubePlane();
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let api: ContractClient;
let stateDir: string;
let workers: OpsflowWorkers;
captureCliOutput();

/** `opsflow <args>`: what it printed, or the error it ended with. */
async function opsflow(...args: string[]): Promise<string> {
  const { out, error } = await runCli(...args);
  if (error) throw new Error(error);
  return out;
}

beforeAll(async () => {
  if (!plane.ok) throw new Error(`the Kubernetes plane is not built: ${plane.reason}`);
  await import('../../../src/integrations/kubernetes/client'); // compiled by jest here, not in a test's time
  env = await startTemporal();
  ({ cloud, api, stateDir } = await startLocalCloud({
    sshHosts: false,
    kubernetes: { binDir: plane.binDir },
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
  }));
  workers = await startOpsflowWorkers(env, cloud);
  for (const [service, password] of Object.entries(PASSWORDS)) process.env[`OPSFLOW_SECRET_STACK_D_${service.toUpperCase()}_DB`] = password;
  process.env.OPSFLOW_SECRET_STACK_D_RABBITMQ = RABBITMQ_PASSWORD;
  pointCliAt(env);
}, 3_600_000);

afterAll(async () => {
  for (const service of DATABASES) delete process.env[`OPSFLOW_SECRET_STACK_D_${service.toUpperCase()}_DB`];
  delete process.env.OPSFLOW_SECRET_STACK_D_RABBITMQ;
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
});

/** Status and the pod that answered, for a request to the Gateway with this Host. */
function askGateway(address: string, host: string): Promise<{ status: number; servedBy: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port: 80, path: '/', headers: { host }, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, servedBy: String(res.headers['x-served-by'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

test('opsflow provision brings stack D up: six services, their databases and RabbitMQ Ready, passwords only on the worker, each service answering through the Gateway; opsflow destroy removes the cluster', async () => {
  await workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const printed = await opsflow('provision', STACK_D);
    expect(printed).toMatch(/Deployments rolled out \(14\): .*monitoring\/prometheus/);
    const clusterId = /cluster (\S+) running/.exec(printed)![1]!;

    const kubeconfig = path.join(tempDir('stack-d'), 'kubeconfig');
    const response = await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${clusterId}/kubeconfig`, {
      headers: { Authorization: `Bearer ${cloud.token}` },
    });
    expect(response.status).toBe(200);
    writeFileSync(kubeconfig, await response.text(), { mode: 0o600 });
    const kubectl = (...args: string[]) =>
      run(path.join(plane.ok ? plane.binDir : '', 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 });

    const { stdout } = await kubectl('get', 'deployments', '-n', 'shop', '-o', 'json');
    const deployments = (JSON.parse(stdout) as Body).items as Body[];
    expect(Object.fromEntries(deployments.map((d) => [d.metadata.name, d.status.readyReplicas]))).toEqual({
      ...SERVICES,
      ...Object.fromEntries(DATABASES.map((s) => [`${s}-db`, 1])),
      redis: 1,
      rabbitmq: 1,
    });
    // Each service's PostgreSQL takes its own password from the Secret the worker made, and keeps rows.
    const pods = JSON.parse((await kubectl('get', 'pods', '-n', 'shop', '-l', 'app=orders-db', '-o', 'json')).stdout) as Body;
    const ordersDb = (pods.items as Body[])[0]!.status.podIP as string;
    const psql = (sql: string, password: string) =>
      run('psql', ['-h', ordersDb, '-U', 'postgres', '-d', 'orders', '-Atc', sql], {
        env: { PATH: process.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
      });
    await psql('CREATE TABLE t (id int); INSERT INTO t VALUES (1)', PASSWORDS.orders!);
    expect((await psql('SELECT count(*) FROM t', PASSWORDS.orders!)).stdout.trim()).toBe('1');
    await expect(psql('SELECT 1', PASSWORDS.auth!)).rejects.toThrow(/password authentication failed/);
    // RabbitMQ's node takes the password the worker put in the Secret `messaging`: a message goes through.
    const rabbitmqPod = JSON.parse((await kubectl('get', 'pods', '-n', 'shop', '-l', 'app=rabbitmq', '-o', 'json')).stdout) as Body;
    const connection = await amqp.connect({
      hostname: (rabbitmqPod.items as Body[])[0]!.status.podIP as string,
      username: 'shop',
      password: RABBITMQ_PASSWORD,
    });
    try {
      const channel = await connection.createChannel();
      await channel.assertQueue('order-events');
      channel.sendToQueue('order-events', Buffer.from('placed'));
      const message = await until('the message queued', async () => (await channel.get('order-events', { noAck: true })) || undefined);
      expect(message.content.toString()).toBe('placed');
    } finally {
      await connection.close();
    }
    // Prometheus found the services' 13 pods through the API server (its service account) and scrapes them.
    const prometheusPod = JSON.parse(
      (await kubectl('get', 'pods', '-n', 'monitoring', '-l', 'app=prometheus', '-o', 'json')).stdout,
    ) as Body;
    const prometheus = `http://${(prometheusPod.items as Body[])[0]!.status.podIP}:9090`;
    const up = await until(
      'Prometheus scraping the 13 service pods',
      async () => {
        const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent('up{job="shop-pods"} == 1')}`);
        const result = ((await response.json()) as Body).data.result as Body[];
        return result.length === 13 ? result : undefined;
      },
      180_000,
    );
    expect(new Set(up.map((r) => r.metric.app))).toEqual(new Set(Object.keys(SERVICES)));
    // The passwords are nowhere in the run's history; their references are.
    const history = decodedText(await env.client.workflow.getHandle(provisionWorkflowId('stack-d')).fetchHistory());
    expect(history).toContain('env:OPSFLOW_SECRET_STACK_D_ORDERS_DB');
    for (const password of [...Object.values(PASSWORDS), RABBITMQ_PASSWORD]) expect(history).not.toContain(password);
    const hpas = JSON.parse((await kubectl('get', 'hpa', '-n', 'shop', '-o', 'json')).stdout) as Body;
    expect((hpas.items as Body[]).map((h) => h.metadata.name).sort()).toEqual(Object.keys(SERVICES).sort());

    const gateway = await until('the Gateway programmed', async () => {
      const { stdout: text } = await kubectl('get', 'gateway', 'public', '-n', 'shop', '-o', 'json');
      return (JSON.parse(text) as Body).status?.addresses?.[0]?.value as string | undefined;
    });
    for (const service of Object.keys(SERVICES)) {
      const answer = await until(`${service} answering through the Gateway`, async () => {
        const reply = await askGateway(gateway, `${service}.shop.example`);
        return reply.status === 200 ? reply : undefined;
      });
      expect(answer.servedBy).toMatch(new RegExp(`^${service}-`));
    }
    expect((await askGateway(gateway, 'nobody.shop.example')).status).toBe(404);

    expect(await opsflow('env', 'show', 'stack-d')).toMatch(new RegExp(`resources: Kubernetes cluster stack-d \\(${clusterId}\\)`));
    const destroyed = await opsflow('destroy', 'stack-d', '--yes');
    expect(destroyed).toMatch(new RegExp(`- Kubernetes cluster stack-d \\(${clusterId}\\) with its node pools`));
    expect(destroyed).toMatch(/Removed 0 droplet\(s\), .*, 1 Kubernetes cluster\(s\)\./);
    const clusters = (await api.call<Body>('GET', '/v2/kubernetes/clusters')).body.kubernetes_clusters as Body[];
    expect(clusters).toEqual([]);
    expect(await processesUsing(stateDir)).toEqual([]);
  });
});

test('a spec whose manifest holds Secret values is refused on the client, naming the file, and starts nothing', async () => {
  const dir = tempDir('stack-d-secret');
  writeFileSync(
    path.join(dir, 'app.yaml'),
    'apiVersion: v1\nkind: Secret\nmetadata: { name: db, namespace: shop }\nstringData: { password: hunter2 }\n',
  );
  writeFileSync(
    path.join(dir, 'stack.yaml'),
    'name: stack-d2\nregion: fra1\nkubernetes:\n  version: 1.34.3-do.0\n  nodePools: [{ name: apps, size: s-2vcpu-4gb, count: 1 }]\n  manifests: [app.yaml]\n',
  );
  await expect(opsflow('provision', path.join(dir, 'stack.yaml'))).rejects.toThrow(
    /kubernetes\.manifests\[0\]: app\.yaml document 1 \(Secret db\): a Secret's data would be stored in workflow history/,
  );
  const clusters = (await api.call<Body>('GET', '/v2/kubernetes/clusters')).body.kubernetes_clusters as Body[];
  expect(clusters.map((c) => c.name)).not.toContain('stack-d2');
});
