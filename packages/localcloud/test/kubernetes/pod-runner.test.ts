// A DOKS cluster's pods really run: the pod runner starts each pod's app containers as sandboxed
// processes on an address of this machine, Ready only once their readiness probe answers, so the
// real controller-manager's EndpointSlices list addresses that answer /health and /metrics. Scaled
// down, the removed pods' processes are gone; an `-err5` image answers exactly 5 of every 100
// requests with 500; PostgreSQL and Redis images run the real servers (a password from a Secret,
// rows written and read back; a missing Secret waited for); RabbitMQ and MariaDB/MySQL images run
// the real servers too (a message published and consumed through the Service's endpoint, rows kept
// across a container restart, no process of the pod's uid left once deleted); an image that cannot
// run shows why and is never Ready; a crashing one restarts with back-off; 20 idle pods on 3 nodes are measured; deleting the cluster leaves no
// process. Skipped, saying why, only on a machine without the control plane binaries.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import net from 'node:net';
import type { LocalCloud } from '../../src';
import { rabbitmqNodeName } from '../../src/kubernetes/pod-runner/pod-rabbitmq';
import type { ContractClient } from '../../../../test/helpers/do-api';
import { findKubePlane } from '../../../../test/helpers/kube-plane';
import { startLocalCloud } from '../../../../test/helpers/localcloud';
import { processesUsing } from '../../../../test/helpers/processes';
import { tempDir } from '../../../../test/helpers/temp';
import { until } from '../../../../test/helpers/until';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const run = promisify(execFile);

const plane = findKubePlane();
if (!plane.ok) console.warn(`pod runner test skipped: ${plane.reason}`);
const tier = plane.ok ? describe : describe.skip;

const deployment = (name: string, image: string, replicas: number, extra: Body = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'shop' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'app',
            image,
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 1 },
            ...extra,
          },
        ],
      },
    },
  },
});
const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
});
/** A Service in front of a server's port, by the container port's name. */
const serverService = (name: string, portName: string, port: number) => ({
  ...service(name),
  spec: { selector: { app: name }, ports: [{ name: portName, port, targetPort: portName }] },
});

/** One GET on a connection of its own (no pooled connection reused). */
function freshGet(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

/** Counts answers by status code. */
async function hit(url: string, times: number): Promise<Record<number, number>> {
  const codes: Record<number, number> = {};
  for (let i = 0; i < times; i++) {
    const response = await fetch(url);
    await response.text();
    codes[response.status] = (codes[response.status] ?? 0) + 1;
  }
  return codes;
}

/** `http_requests_total{version,code}` from a /metrics text. */
function requestCounts(metrics: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of metrics.matchAll(/^http_requests_total\{version="([^"]+)",code="(\d+)"\} (\d+)$/gm))
    counts[`${match[1]} ${match[2]}`] = Number(match[3]);
  return counts;
}

/**
 * Whether a pod's app answers at address:port. Only its own answer counts (it names the pod in
 * x-served-by): with the cloud stopped its pod addresses are no longer local, and a connection
 * to one leaves by the machine's default route, where a proxy may answer anything.
 */
async function answers(address: string, port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://${address}:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    await response.text();
    return response.headers.get('x-served-by') !== null;
  } catch {
    return false;
  }
}

function memoryOf(pids: number[]): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    try {
      rss += Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      pss += Number(/^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return { rss, pss };
}

const MiB = 2 ** 20;

/** Processes running as a host uid (a pod's: its servers do not name the pod's folder on their command line). */
function processesOfUid(uid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) === uid;
      } catch {
        return false; // exited while listed
      }
    })
    .map(Number);
}

/** The names the machine's epmd holds, with their distribution ports (epmd's NAMES request). */
function epmdNames(): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect({ host: '127.0.0.1', port: 4369 }, () => socket.write(Buffer.from([0, 1, 110])));
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    // 4 bytes of epmd's own port, then `name <name> at port <port>` lines.
    socket.on('end', () => resolve(new Map([...text.slice(4).matchAll(/^name (\S+) at port (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]))));
  });
}

tier(`pods of a DOKS cluster really run${plane.ok ? '' : ` (skipped: ${plane.reason})`}`, () => {
  let cloud: LocalCloud;
  let api: ContractClient;
  let stateDir: string;
  let clusterId: string;
  let clusterDir: string;
  let kubeconfig: string;
  let cloudStopped = false;
  const work = tempDir('pod-runner');
  const figures: string[] = [];

  async function kubectl(...args: string[]): Promise<string> {
    // HOME: kubectl keeps its discovery cache in ~/.kube; without one it would write into the checkout.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
    const { stdout } = await run(path.join(plane.ok ? plane.binDir : '', 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { env });
    return stdout;
  }
  async function apply(...objects: Body[]): Promise<void> {
    const file = path.join(work, `manifest-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    await kubectl('apply', '-f', file);
  }
  const getJson = async (...args: string[]): Promise<Body> => JSON.parse(await kubectl('get', '-o', 'json', ...args));
  const pods = async (app: string): Promise<Body[]> => (await getJson('pods', '-n', 'shop', '-l', `app=${app}`)).items;
  /** Ready addresses of the Service's EndpointSlices. */
  const readyEndpoints = async (name: string): Promise<string[]> =>
    (await getJson('endpointslices', '-n', 'shop', '-l', `kubernetes.io/service-name=${name}`)).items
      .flatMap((slice: Body) => slice.endpoints ?? [])
      .filter((endpoint: Body) => endpoint.conditions?.ready === true)
      .flatMap((endpoint: Body) => endpoint.addresses as string[])
      .sort();
  const podDir = (pod: Body) => path.join(clusterDir, 'pods', pod.metadata.uid);

  beforeAll(async () => {
    ({ cloud, api, stateDir } = await startLocalCloud({
      sshHosts: false,
      kubernetes: { binDir: plane.ok ? plane.binDir : '' },
      rateLimit: { perMinute: 100_000, perHour: 100_000 },
    }));
    const version = (await api.call<Body>('GET', '/v2/kubernetes/options')).body.options.versions[0].slug;
    const createdAt = Date.now();
    const created = await api.call<Body>('POST', '/v2/kubernetes/clusters', {
      name: 'pods',
      region: 'fra1',
      version,
      node_pools: [{ name: 'pool-a', size: 's-2vcpu-4gb', count: 3 }],
    });
    expect(created.status).toBe(201);
    clusterId = created.body.kubernetes_cluster.id;
    clusterDir = path.join(stateDir, 'kubernetes', clusterId);
    await until(
      'the cluster running',
      async () => {
        const cluster = (await api.call<Body>('GET', `/v2/kubernetes/clusters/${clusterId}`)).body.kubernetes_cluster;
        if (cluster.status.state === 'error') throw new Error(`cluster failed: ${cluster.status.message}`);
        return cluster.status.state === 'running' ? cluster : undefined;
      },
      300_000,
    );
    figures.push(`cluster running ${Date.now() - createdAt} ms after create`);
    const response = await fetch(`${cloud.apiUrl}/v2/kubernetes/clusters/${clusterId}/kubeconfig`, {
      headers: { Authorization: `Bearer ${cloud.token}` },
    });
    kubeconfig = path.join(work, 'kubeconfig.yaml');
    writeFileSync(kubeconfig, await response.text(), { mode: 0o600 });
    await kubectl('create', 'namespace', 'shop');
  }, 600_000);

  afterAll(async () => {
    if (figures.length) process.stderr.write(`pod runner figures: ${figures.join('; ')}\n`);
    if (!cloudStopped) await cloud?.stop();
  });

  test('a Deployment behind a Service: 3 ready endpoints that answer, counted; scaled to 1, two processes gone', async () => {
    const appliedAt = Date.now();
    await apply(deployment('web', 'registry.example/web:1.0.0', 3), service('web'));
    const addresses = await until('3 ready endpoints', async () => {
      const ready = await readyEndpoints('web');
      return ready.length === 3 ? ready : undefined;
    });
    figures.push(`3 endpoints ready ${Date.now() - appliedAt} ms after apply`);

    // The endpoints are the pods' own addresses, each a different pod on a node of the pool.
    const running = await pods('web');
    expect(running.map((p) => p.status.podIP).sort()).toEqual(addresses);
    for (const pod of running) {
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.conditions.find((c: Body) => c.type === 'Ready').status).toBe('True');
      const [container] = pod.status.containerStatuses;
      expect(container).toMatchObject({ name: 'app', ready: true, started: true, restartCount: 0 });
      expect(container.state.running.startedAt).toBeDefined();
      expect(pod.status.hostIP).toBe('127.0.0.1');
      expect(processesUsing(podDir(pod)).length).toBe(3); // bwrap, its pid namespace's init and the app
    }

    // Each address answers /health, then counts what it served in /metrics, by version and code.
    for (const address of addresses) {
      const health = await fetch(`http://${address}:8080/health`);
      expect(health.status).toBe(200);
      expect(await health.text()).toBe('ok\n');
      const pod = running.find((p) => p.status.podIP === address)!;
      expect(health.headers.get('x-served-by')).toBe(pod.metadata.name);
      expect(await hit(`http://${address}:8080/orders`, 25)).toEqual({ 200: 25 });
      const counts = requestCounts(await (await fetch(`http://${address}:8080/metrics`)).text());
      // The 25 requests, the /health above and the readiness probes (every second): all 200s.
      expect(counts['1.0.0 200']).toBeGreaterThanOrEqual(26);
      expect(Object.keys(counts)).toEqual(['1.0.0 200']);
    }

    // Scaled to 1: the two pods removed are gone with their processes, and their addresses answer no more.
    await kubectl('scale', '-n', 'shop', 'deployment/web', '--replicas=1');
    await until('one pod left', async () => ((await pods('web')).length === 1 ? true : undefined));
    const [kept] = await pods('web');
    const removed = running.filter((p) => p.metadata.uid !== kept!.metadata.uid);
    expect(removed).toHaveLength(2);
    for (const pod of removed) {
      expect(processesUsing(podDir(pod))).toEqual([]);
      expect(existsSync(podDir(pod))).toBe(false);
      expect(await answers(pod.status.podIP, 8080)).toBe(false);
    }
    expect(processesUsing(podDir(kept!)).length).toBeGreaterThanOrEqual(2);
    expect(await readyEndpoints('web')).toEqual([kept!.status.podIP]);
    expect(await answers(kept!.status.podIP, 8080)).toBe(true);
  }, 300_000);

  test('an -err5 image answers exactly 5 of every 100 requests with 500, and counts them', async () => {
    await apply(deployment('errs', 'registry.example/web:2.1.0-err5', 2), service('errs'));
    const addresses = await until('2 ready endpoints', async () => {
      const ready = await readyEndpoints('errs');
      return ready.length === 2 ? ready : undefined;
    });
    // By construction: the 20th, 40th, ... application request of each pod fails (never /health,
    // which the readiness probe keeps passing), so 100 requests to each pod give exactly 5 500s.
    for (const address of addresses) {
      expect(await hit(`http://${address}:8080/checkout`, 100)).toEqual({ 200: 95, 500: 5 });
      const counts = requestCounts(await (await fetch(`http://${address}:8080/metrics`)).text());
      expect(counts['2.1.0-err5 500']).toBe(5);
      expect(counts['2.1.0-err5 200']).toBeGreaterThanOrEqual(95);
    }
    // Still ready: errors on the application's requests do not fail its health.
    expect(await readyEndpoints('errs')).toEqual(addresses);
  }, 300_000);

  test('the local cloud restarted: its pods run again on the addresses they had', async () => {
    const before = [...(await pods('web')), ...(await pods('errs'))];
    expect(before).toHaveLength(3);
    // A cloud without droplet hosts remembers no host network: it is given the same one again.
    const hostNetwork = cloud.hostNetworkChoice.network;
    await cloud.stop();
    expect(processesUsing(clusterDir)).toEqual([]);
    for (const pod of before) expect(await answers(pod.status.podIP, 8080)).toBe(false);
    ({ cloud, api } = await startLocalCloud({
      stateDir,
      hostNetwork,
      sshHosts: false,
      kubernetes: { binDir: plane.ok ? plane.binDir : '' },
      rateLimit: { perMinute: 100_000, perHour: 100_000 },
    }));
    const restartedAt = Date.now();
    await until(
      'the cluster running again',
      async () => {
        const cluster = (await api.call<Body>('GET', `/v2/kubernetes/clusters/${clusterId}`)).body.kubernetes_cluster;
        return cluster.status.state === 'running' ? cluster : undefined;
      },
      300_000,
    );
    // Ready with a restart counted: the status the runner wrote since, not the one from before.
    const after = await until(
      'the same 3 pods ready again, their containers started again',
      async () => {
        const now = [...(await pods('web')), ...(await pods('errs'))];
        const again = now.filter(
          (p) =>
            p.status.containerStatuses?.[0]?.restartCount === 1 &&
            p.status.conditions?.some((c: Body) => c.type === 'Ready' && c.status === 'True'),
        );
        return again.length === 3 ? again : undefined;
      },
      300_000,
    );
    figures.push(`pods ready again ${Date.now() - restartedAt} ms after the cloud restarted`);
    for (const pod of before) {
      const again = after.find((p) => p.metadata.uid === pod.metadata.uid)!;
      expect(again.status.podIP).toBe(pod.status.podIP);
      // A new connection: fetch's pool may still hold one to the app that ran before the restart.
      const health = await freshGet(`http://${pod.status.podIP}:8080/health`);
      expect(health.status).toBe(200);
      expect(health.headers['x-served-by']).toBe(pod.metadata.name);
    }
    expect((await readyEndpoints('web')).length).toBe(1);
    expect((await readyEndpoints('errs')).length).toBe(2);
  }, 420_000);

  test('images that cannot run show why and are never ready; a crashing one restarts with back-off', async () => {
    await apply(
      deployment('ghost', 'registry.example/ghost:3.0.0-missing', 1),
      service('ghost'),
      // No root password: it fails as the official image does, and restarts with back-off.
      deployment('db', 'mariadb:11', 1),
      deployment('broken', 'registry.example/web:1.0-crashing', 1),
    );
    const waiting = async (app: string, reasons: string[]) =>
      until(`${app}'s container waiting with ${reasons.join(' or ')}`, async () => {
        const [pod] = await pods(app);
        const state = pod?.status?.containerStatuses?.[0]?.state;
        return state?.waiting && reasons.includes(state.waiting.reason) ? pod : undefined;
      });
    const ghost = await waiting('ghost', ['ErrImagePull', 'ImagePullBackOff']);
    expect(ghost.status.containerStatuses[0].state.waiting.message).toContain('registry.example/ghost:3.0.0-missing');
    expect(ghost.status.containerStatuses[0].ready).toBe(false);
    expect(ghost.status.conditions.find((c: Body) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    expect(processesUsing(podDir(ghost))).toEqual([]);
    const ghostBackOff = await waiting('ghost', ['ImagePullBackOff']);
    expect(ghostBackOff.status.containerStatuses[0].state.waiting.message).toContain(
      'Back-off pulling image "registry.example/ghost:3.0.0-missing"',
    );
    expect(await readyEndpoints('ghost')).toEqual([]);

    const db = await waiting('db', ['CrashLoopBackOff']);
    expect(db.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(db.status.containerStatuses[0].lastState.terminated.message).toContain('password option is not specified');

    const broken = await waiting('broken', ['CrashLoopBackOff']);
    const status = broken.status.containerStatuses[0];
    expect(status.restartCount).toBeGreaterThanOrEqual(1);
    expect(status.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(status.lastState.terminated.message).toContain('crashes on start');

    // The kubelet's events say the same.
    const events = (await getJson('events', '-n', 'shop')).items as Body[];
    const reasons = new Set(events.map((e) => e.reason));
    for (const reason of ['Started', 'Failed', 'BackOff']) expect(reasons).toContain(reason);

    await kubectl('delete', '-n', 'shop', 'deployment/ghost', 'deployment/db', 'deployment/broken', 'deployment/errs', '--wait=true');
    await until('only web left', async () => ((await getJson('pods', '-n', 'shop')).items.length === 1 ? true : undefined));
  }, 300_000);

  test('PostgreSQL and Redis images run the real servers on their pods: a password from a Secret, data written and read back', async () => {
    const server = (name: string, image: string, port: number, env: Body[] = []) =>
      deployment(name, image, 1, {
        ports: [{ name: 'db', containerPort: port }],
        env,
        readinessProbe: { tcpSocket: { port: 'db' }, periodSeconds: 1 },
      });
    await kubectl('create', 'secret', 'generic', 'orders-db', '-n', 'shop', '--from-literal=password=s3cret-pw');
    await apply(
      server('orders-db', 'postgres:16', 5432, [
        { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'orders-db', key: 'password' } } },
        { name: 'POSTGRES_DB', value: 'orders' },
      ]),
      server('cache', 'redis:7', 6379),
      server('nopass-db', 'postgres:16', 5432, [
        { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'absent', key: 'password' } } },
      ]),
    );
    const readyPod = (app: string) =>
      until(`${app} Ready`, async () => {
        const [pod] = await pods(app);
        return pod?.status?.containerStatuses?.[0]?.ready ? pod : undefined;
      });
    const db = await readyPod('orders-db');
    const psql = (sql: string, password = 's3cret-pw') =>
      run('psql', ['-h', db.status.podIP, '-U', 'postgres', '-d', 'orders', '-Atc', sql], {
        env: { PATH: process.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
      });
    await psql('CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, $$tea$$), (2, $$cake$$)');
    expect((await psql('SELECT current_database(), count(*) FROM orders')).stdout.trim()).toBe('orders|2');
    await expect(psql('SELECT 1', 'wrong-password')).rejects.toThrow(/password authentication failed/);
    // The server is the pod's process, confined in its sandbox.
    expect(processesUsing(podDir(db)).length).toBeGreaterThanOrEqual(1);

    const cache = await readyPod('cache');
    const redis = (...args: string[]) => run('redis-cli', ['-h', cache.status.podIP, '-p', '6379', ...args]);
    expect((await redis('SET', 'greeting', 'hello')).stdout.trim()).toBe('OK');
    expect((await redis('GET', 'greeting')).stdout.trim()).toBe('hello');

    // A Secret that is not there: the container waits, and the pod says which.
    const refused = await until('nopass-db waiting for its Secret', async () => {
      const [pod] = await pods('nopass-db');
      return pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' ? pod : undefined;
    });
    expect(refused.status.containerStatuses[0].state.waiting.message).toContain('secret "absent" not found');
    // Once the Secret exists the container starts, as the kubelet retries it: Ready, with that password.
    await kubectl('create', 'secret', 'generic', 'absent', '-n', 'shop', '--from-literal=password=late-pw');
    const late = await readyPod('nopass-db');
    const lateLogin = await run('psql', ['-h', late.status.podIP, '-U', 'postgres', '-Atc', 'SELECT 1'], {
      env: { PATH: process.env.PATH, PGPASSWORD: 'late-pw', PGCONNECT_TIMEOUT: '10' },
    });
    expect(lateLogin.stdout.trim()).toBe('1');

    await kubectl('delete', '-n', 'shop', 'deployment/orders-db', 'deployment/cache', 'deployment/nopass-db', '--wait=true');
    await until('the database pods gone', async () =>
      (await pods('orders-db')).length + (await pods('cache')).length === 0 ? true : undefined,
    );
    expect(processesUsing(podDir(db))).toEqual([]);
  }, 300_000);

  test('a RabbitMQ image runs a real node: credentials from a Secret, a message published and consumed through its Service, nothing left once deleted', async () => {
    // Characters that would end a quoted string or a config line, had the password been pasted anywhere.
    const password = `q"u'e\\ue ${'#'}1`;
    await kubectl(
      'create',
      'secret',
      'generic',
      'queue-credentials',
      '-n',
      'shop',
      '--from-literal=username=shop',
      `--from-literal=password=${password}`,
    );
    await apply(
      deployment('queue', 'rabbitmq:3.13-management', 1, {
        ports: [{ name: 'amqp', containerPort: 5672 }],
        env: [
          { name: 'RABBITMQ_DEFAULT_USER', valueFrom: { secretKeyRef: { name: 'queue-credentials', key: 'username' } } },
          { name: 'RABBITMQ_DEFAULT_PASS', valueFrom: { secretKeyRef: { name: 'queue-credentials', key: 'password' } } },
        ],
        readinessProbe: { tcpSocket: { port: 'amqp' }, periodSeconds: 1 },
      }),
      serverService('queue', 'amqp', 5672),
    );
    const appliedAt = Date.now();
    const [endpoint] = await until('the queue Service with a ready endpoint', async () => {
      const ready = await readyEndpoints('queue');
      return ready.length === 1 ? ready : undefined;
    });
    figures.push(`rabbitmq endpoint ready ${Date.now() - appliedAt} ms after apply`);
    const pod = (await pods('queue'))[0]!;
    expect(pod.status.podIP).toBe(endpoint);

    const connect = (pass: string) =>
      amqp.connect({ hostname: endpoint, port: 5672, username: 'shop', password: pass, vhost: '/' }, { timeout: 10_000 });
    const connection = await connect(password);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue('orders', { durable: true });
      channel.sendToQueue('orders', Buffer.from('order 42'), { persistent: true });
      await channel.waitForConfirms();
      const message = await channel.get('orders', { noAck: true });
      expect(message && message.content.toString()).toBe('order 42');
      expect(await channel.get('orders', { noAck: true })).toBe(false);
    } finally {
      await connection.close();
    }
    await expect(connect('wrong-password')).rejects.toThrow(/ACCESS_REFUSED|403/);
    // guest is not the default user once RABBITMQ_DEFAULT_USER says another.
    await expect(amqp.connect({ hostname: endpoint, port: 5672, username: 'guest', password: 'guest' })).rejects.toThrow(
      /ACCESS_REFUSED|403/,
    );

    // The node is the pod's own, registered on the machine's epmd under its name, and answers its tools with the pod's cookie.
    const node = rabbitmqNodeName({ uid: pod.metadata.uid });
    const names = await epmdNames();
    const [nodeShort] = node.split('@');
    expect(names.get(nodeShort!)).toBeGreaterThan(0);
    expect(names.get(nodeShort!)).not.toBe(25672); // not the machine's node's port
    const home = path.join(work, 'rabbitmq-home');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    copyFileSync(path.join(podDir(pod), 'root', 'var', 'lib', 'rabbitmq', '.erlang.cookie'), path.join(home, '.erlang.cookie'));
    const rabbitmqTool = (tool: string, ...args: string[]) =>
      run(`/usr/lib/rabbitmq/bin/${tool}`, ['-n', node, '-q', ...args], { env: { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' } });
    expect((await rabbitmqTool('rabbitmq-diagnostics', 'check_running')).stdout).toContain(`${node} is fully booted and running`);
    expect((await rabbitmqTool('rabbitmqctl', 'list_queues', 'name', 'messages')).stdout).toMatch(/^orders\s+0$/m);

    // Its processes run as the pod's uid; one idle node's memory.
    const uid = statSync(path.join(podDir(pod), 'root')).uid;
    const own = processesOfUid(uid);
    expect(own.some((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'beam.smp')).toBe(true);
    const memory = memoryOf(own);
    figures.push(`one idle rabbitmq pod: ${Math.round(memory.rss / MiB)} MiB RSS (${Math.round(memory.pss / MiB)} MiB PSS)`);

    const deletedAt = Date.now();
    await kubectl('delete', '-n', 'shop', 'deployment/queue', '--wait=true');
    await until('the queue pod gone', async () => ((await pods('queue')).length === 0 ? true : undefined));
    figures.push(`rabbitmq pod gone ${Date.now() - deletedAt} ms after delete`);
    expect(processesOfUid(uid)).toEqual([]);
    expect((await epmdNames()).has(nodeShort!)).toBe(false);
  }, 300_000);

  test('MariaDB and MySQL images run real mariadbd: the official env from a Secret, rows kept across a container restart', async () => {
    await kubectl('create', 'secret', 'generic', 'catalog-db', '-n', 'shop', "--from-literal=root=r00t'pw", '--from-literal=app=app-pw');
    const database = (name: string, image: string, env: Body[]) =>
      deployment(name, image, 1, {
        ports: [{ name: 'mysql', containerPort: 3306 }],
        env,
        readinessProbe: { tcpSocket: { port: 'mysql' }, periodSeconds: 1 },
      });
    const secret = (key: string) => ({ secretKeyRef: { name: 'catalog-db', key } });
    await apply(
      database('catalog-db', 'mariadb:11', [
        { name: 'MARIADB_ROOT_PASSWORD', valueFrom: secret('root') },
        { name: 'MARIADB_DATABASE', value: 'catalog' },
        { name: 'MARIADB_USER', value: 'catalog' },
        { name: 'MARIADB_PASSWORD', valueFrom: secret('app') },
      ]),
      serverService('catalog-db', 'mysql', 3306),
      database('legacy-db', 'mysql:8.0', [
        { name: 'MYSQL_ROOT_PASSWORD', valueFrom: secret('root') },
        { name: 'MYSQL_DATABASE', value: 'legacy' },
      ]),
      serverService('legacy-db', 'mysql', 3306),
    );
    const readyEndpoint = (app: string) =>
      until(`${app} with a ready endpoint`, async () => {
        const ready = await readyEndpoints(app);
        return ready.length === 1 ? ready[0] : undefined;
      });
    const endpoint = await readyEndpoint('catalog-db');
    // The password through the client's environment, never its command line.
    const sql = (host: string, user: string, pass: string, db: string, statement: string) =>
      run('mariadb', ['--no-defaults', '-h', host, '-P', '3306', '-u', user, '--connect-timeout=10', '-N', '-B', '-e', statement, db], {
        env: { PATH: process.env.PATH, MYSQL_PWD: pass },
      });
    await sql(
      endpoint,
      'catalog',
      'app-pw',
      'catalog',
      "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'tea'), (2, 'cake')",
    );
    expect((await sql(endpoint, 'catalog', 'app-pw', 'catalog', 'SELECT count(*) FROM items')).stdout.trim()).toBe('2');
    expect((await sql(endpoint, 'root', "r00t'pw", 'mysql', 'SELECT @@version')).stdout).toContain('MariaDB');
    await expect(sql(endpoint, 'catalog', 'wrong', 'catalog', 'SELECT 1')).rejects.toThrow(/Access denied/);
    // The user has its database only.
    await expect(sql(endpoint, 'catalog', 'app-pw', 'mysql', 'SELECT 1')).rejects.toThrow(/Access denied/);

    const legacy = await readyEndpoint('legacy-db');
    expect((await sql(legacy, 'root', "r00t'pw", 'legacy', 'SELECT database()')).stdout.trim()).toBe('legacy');

    // The server killed: the container restarts on the same data, not initialised again.
    const pod = (await pods('catalog-db'))[0]!;
    const uid = statSync(path.join(podDir(pod), 'root')).uid;
    const server = processesOfUid(uid).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'mariadbd');
    expect(server).toBeDefined();
    process.kill(server!, 'SIGKILL');
    const restarted = await until(
      'catalog-db restarted and ready',
      async () => {
        const [current] = await pods('catalog-db');
        const status = current?.status?.containerStatuses?.[0];
        return status?.restartCount === 1 && status.ready ? current : undefined;
      },
      120_000,
    );
    expect(restarted.metadata.uid).toBe(pod.metadata.uid);
    expect((await sql(endpoint, 'catalog', 'app-pw', 'catalog', 'SELECT name FROM items ORDER BY id')).stdout.trim().split('\n')).toEqual([
      'tea',
      'cake',
    ]);
    const memory = memoryOf(processesOfUid(uid));
    figures.push(`one mariadb pod with a table: ${Math.round(memory.rss / MiB)} MiB RSS (${Math.round(memory.pss / MiB)} MiB PSS)`);

    await kubectl('delete', '-n', 'shop', 'deployment/catalog-db', 'deployment/legacy-db', '--wait=true');
    await until('the database pods gone', async () =>
      (await pods('catalog-db')).length + (await pods('legacy-db')).length === 0 ? true : undefined,
    );
    expect(processesOfUid(uid)).toEqual([]);
  }, 300_000);

  test('a prom/prometheus pod discovers the pods through the API server with its service account and scrapes them', async () => {
    const config = [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: pods',
      '    kubernetes_sd_configs: [{ role: pod, namespaces: { names: [shop] } }]',
      '    relabel_configs:',
      '      - { source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true", action: keep }',
      '      - { source_labels: [__meta_kubernetes_pod_name], target_label: pod }',
      '      - { source_labels: [__meta_kubernetes_pod_label_app], target_label: app }',
    ].join('\n');
    const scraped: Body = deployment('scraped', 'registry.example/scraped:1.4.0', 2);
    scraped.spec.template.metadata.annotations = { 'prometheus.io/scrape': 'true' };
    const prometheus = deployment('prometheus', 'prom/prometheus:v2.53.0', 1, {
      args: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus'],
      ports: [{ name: 'http', containerPort: 9090 }],
      volumeMounts: [{ name: 'config', mountPath: '/etc/prometheus' }],
      readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 1 },
    });
    Object.assign(prometheus.spec.template.spec, {
      serviceAccountName: 'prometheus',
      volumes: [{ name: 'config', configMap: { name: 'prometheus' } }],
    });
    await apply(
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'prometheus', namespace: 'shop' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'prometheus', namespace: 'shop' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'prometheus', namespace: 'shop' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'prometheus' },
        subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'shop' }],
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'prometheus', namespace: 'shop' }, data: { 'prometheus.yml': config } },
      scraped,
      prometheus,
    );
    const [server] = await until('Prometheus ready', async () => {
      const found = await pods('prometheus');
      return found[0]?.status?.containerStatuses?.[0]?.ready ? found : undefined;
    }).catch(async (err) => {
      const [pod] = await pods('prometheus');
      const log = pod ? path.join(podDir(pod), 'app.log') : '';
      throw new Error(
        `${err.message}: ${JSON.stringify(pod?.status)}\n${log && existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : 'no log'}`,
      );
    });
    const query = async (promql: string): Promise<Body[]> => {
      const response = await fetch(`http://${server!.status.podIP}:9090/api/v1/query?query=${encodeURIComponent(promql)}`);
      return ((await response.json()) as Body).data.result as Body[];
    };
    // Both pods found by discovery (only the annotated ones) and scraped: up == 1 for each.
    const up = await until('2 scraped pods up', async () => {
      const result = await query('up{job="pods"} == 1');
      return result.length === 2 ? result : undefined;
    });
    const scrapedPods = (await pods('scraped')).map((p) => p.metadata.name).sort();
    expect(up.map((r) => r.metric.pod).sort()).toEqual(scrapedPods);
    expect(new Set(up.map((r) => r.metric.app))).toEqual(new Set(['scraped']));
    // Scaled to 3, the new pod is discovered from the API server's watch.
    await kubectl('scale', '-n', 'shop', 'deployment/scraped', '--replicas=3');
    await until('3 scraped pods up', async () => ((await query('up{job="pods"} == 1')).length === 3 ? true : undefined));
    // The token the API server's projected volume asks for is the pod's own, readable by its uid alone.
    const access = server!.spec.volumes.find((v: Body) => v.name.startsWith('kube-api-access-')).name as string;
    const token = statSync(path.join(podDir(server!), 'volumes', 'app', access, 'token'));
    expect([token.mode & 0o777, token.uid]).toEqual([0o400, statSync(path.join(podDir(server!), 'root')).uid]);
    await kubectl('delete', '-n', 'shop', 'deployment/scraped', 'deployment/prometheus', '--wait=true');
  }, 300_000);

  test('3 nodes and 20 idle pods: memory of the plane, kwok and the pods', async () => {
    const scaledAt = Date.now();
    await kubectl('scale', '-n', 'shop', 'deployment/web', '--replicas=20');
    await until(
      '20 ready endpoints',
      async () => {
        const ready = await readyEndpoints('web');
        return ready.length === 20 ? ready : undefined;
      },
      300_000,
    );
    figures.push(`scaled 1 -> 20 ready in ${Date.now() - scaledAt} ms`);
    const nodes = new Set((await pods('web')).map((p) => p.spec.nodeName));
    expect(nodes.size).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 15_000)); // idle
    const planePids = cloud.kubernetes.plane(clusterId)!.pids();
    const podPids = await cloud.kubernetes.podRunner(clusterId)!.pids();
    expect(podPids.length).toBe(60); // bwrap, its pid namespace's init and the app, per pod
    const planeMemory = memoryOf(planePids);
    const podMemory = memoryOf(podPids);
    const total = { rss: planeMemory.rss + podMemory.rss, pss: planeMemory.pss + podMemory.pss };
    figures.push(
      `3 nodes, 20 idle pods: plane and kwok ${Math.round(planeMemory.rss / MiB)} MiB RSS (${Math.round(planeMemory.pss / MiB)} MiB PSS), ` +
        `20 pods ${Math.round(podMemory.rss / MiB)} MiB RSS (${Math.round(podMemory.pss / MiB)} MiB PSS), ` +
        `total ${Math.round(total.rss / MiB)} MiB RSS, ${Math.round(total.pss / MiB)} MiB PSS`,
    );
    // PSS counts pages shared between processes (node's own code, mapped by every pod) once in all;
    // a sum of RSS counts them once per process.
    expect(total.pss).toBeLessThan(1.5 * 1024 * MiB);
  }, 420_000);

  test('deleting the cluster leaves no process and no address behind', async () => {
    const addresses = (await pods('web')).map((p) => p.status.podIP as string);
    expect(processesUsing(clusterDir).length).toBeGreaterThan(60);
    expect((await api.call('DELETE', `/v2/kubernetes/clusters/${clusterId}`)).status).toBe(204);
    expect(processesUsing(clusterDir)).toEqual([]);
    expect(existsSync(clusterDir)).toBe(false);
    for (const address of addresses.slice(0, 5)) expect(await answers(address, 8080)).toBe(false);
    const held = JSON.parse(readFileSync(path.join(stateDir, 'kubernetes', 'pod-addresses.json'), 'utf8')) as Record<string, string>;
    expect(Object.values(held).filter((owner) => owner.startsWith(`${clusterId}/`))).toEqual([]);
    // The cloud stopped: its pod address routes go too.
    const network = cloud.hostNetworkChoice.network;
    await cloud.stop();
    cloudStopped = true;
    const { stdout } = await run('ip', ['route', 'show', 'table', 'local']);
    expect(stdout).not.toContain(`198.18.${network}.0/24`);
    expect(stdout).not.toContain(`198.19.${network}.0/24`);
  }, 300_000);
});
