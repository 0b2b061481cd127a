// The Kubernetes activities against a real API server: a DOKS cluster created through the local
// cloud's API (a real control plane, kwok nodes), reached with the kubeconfig the activities fetch
// by cluster id. A Deployment and Service applied and rolled out to 3 available replicas on the
// pool's nodes, applied again without a new generation, an invalid manifest refused naming the
// object and the field (and nothing of its batch applied), scaled to 5, a rollout that cannot
// progress failing with its pods' and events' reasons, everything deleted (twice: idempotent).
// The token in the kubeconfig appears in no result, heartbeat or failure. Skipped, saying why,
// only on a machine without the control plane binaries (scripts/kube-plane.sh builds them).
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { createCloudActivities } from '../../../src/activities';
import { createKubernetesActivities, type KubernetesActivities } from '../../../src/activities/kubernetes';
import { doksKubeconfig } from '../../../src/activities/kubernetes/doks-kubeconfig';
import { DigitalOceanClient } from '../../../src/integrations/digitalocean/client';
import type { Manifest } from '../../../src/integrations/kubernetes/manifests';
import type { ContractClient } from '../../helpers/do-api';
import { findKubePlane } from '../../helpers/kube-plane';
import { startLocalCloud } from '../../helpers/localcloud';
import { until } from '../../helpers/until';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const plane = findKubePlane();
if (!plane.ok) console.warn(`Kubernetes activities test skipped: ${plane.reason}`);
const tier = plane.ok ? describe : describe.skip;

tier(`Kubernetes activities on a DOKS cluster of the local cloud${plane.ok ? '' : ` (skipped: ${plane.reason})`}`, () => {
  let cloud: LocalCloud;
  let api: ContractClient;
  let activities: KubernetesActivities;
  let clusterId: string;
  let poolNodes: string[];
  let token: string;
  /** Everything the activities returned, heartbeated or failed with: the token must be in none of it. */
  const seen: unknown[] = [];
  const figures: string[] = [];

  beforeAll(async () => {
    // The activities load client-node at their first run; jest compiles it then (minutes on a loaded
    // machine the first time), so that happens here, not inside a test's time.
    await import('../../../src/integrations/kubernetes/client');
    ({ cloud, api } = await startLocalCloud({
      sshHosts: false,
      kubernetes: { binDir: plane.ok ? plane.binDir : '' },
      // The wait below polls often; the account's 250 a minute is not what this test is about.
      rateLimit: { perMinute: 100_000, perHour: 100_000 },
    }));
    const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
    activities = createKubernetesActivities({ kubeconfig: doksKubeconfig(() => client), pollMs: 250 });
    const versionSlug = (await api.call<Body>('GET', '/v2/kubernetes/options')).body.options.versions[0].slug;
    const createdAt = Date.now();
    const created = await api.call<Body>('POST', '/v2/kubernetes/clusters', {
      name: 'activities',
      region: 'fra1',
      version: versionSlug,
      node_pools: [{ name: 'pool-a', size: 's-2vcpu-4gb', count: 3 }],
    });
    expect(created.status).toBe(201);
    clusterId = created.body.kubernetes_cluster.id;
    const running = await until(
      'the cluster running',
      async () => {
        const answer = await api.call<Body>('GET', `/v2/kubernetes/clusters/${clusterId}`);
        if (answer.status !== 200) throw new Error(`GET cluster answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        const cluster = answer.body.kubernetes_cluster;
        if (cluster.status.state === 'error') throw new Error(`cluster failed: ${cluster.status.message}`);
        return cluster.status.state === 'running' ? cluster : undefined;
      },
      300_000,
    );
    figures.push(`cluster running ${Date.now() - createdAt} ms after create`);
    poolNodes = running.node_pools[0].nodes.map((n: Body) => n.name);
    token = (await api.call<Body>('GET', `/v2/kubernetes/clusters/${clusterId}/credentials`)).body.token;
    expect(token.length).toBeGreaterThan(16);
  }, 600_000);

  afterAll(async () => {
    if (figures.length) process.stderr.write(`Kubernetes activities figures: ${figures.join('; ')}\n`);
    await cloud?.stop();
  });

  /** Runs one activity in a real activity context, keeping its heartbeats. */
  async function run<K extends keyof KubernetesActivities>(
    name: K,
    input: Parameters<KubernetesActivities[K]>[0],
    heartbeats: unknown[] = [],
  ): Promise<Awaited<ReturnType<KubernetesActivities[K]>>> {
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (details: unknown) => heartbeats.push(details));
    try {
      const result = await env.run(activities[name] as (i: unknown) => Promise<unknown>, input);
      seen.push(result, heartbeats);
      return result as Awaited<ReturnType<KubernetesActivities[K]>>;
    } catch (err) {
      seen.push(
        heartbeats,
        err instanceof ApplicationFailure ? { message: err.message, type: err.type, details: err.details } : String(err),
      );
      throw err;
    }
  }

  /** The failure an activity ends with (it must fail). */
  async function failureOf<K extends keyof KubernetesActivities>(
    name: K,
    input: Parameters<KubernetesActivities[K]>[0],
    heartbeats: unknown[] = [],
  ) {
    const outcome = await run(name, input, heartbeats).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(ApplicationFailure);
    return outcome as ApplicationFailure;
  }

  // With a label opsflow owns a field of it from the start. (A Namespace applied with no field at all
  // gets no managedFields entry; the next apply then writes a 'before-first-apply' entry for the
  // defaulted ones: one write, seen here as 'configured', before applies become no-ops.)
  const namespace: Manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } };
  const deployment = (spec: Body = {}): Manifest => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'registry.example/web:1.0.0', ports: [{ containerPort: 8080 }] }] },
      },
      ...spec,
    },
  });
  const service: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  };
  const ref = (kind: string, name: string, ns?: string) => ({
    apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
    kind,
    name,
    ...(ns ? { namespace: ns } : {}),
  });

  test('apply a Deployment and Service, wait for 3 available replicas on the pool nodes, apply again: nothing changes', async () => {
    const appliedAt = Date.now();
    // The namespace comes last here: applied first all the same, and the dry run of the others in it passes.
    const first = await run('applyKubernetesManifests', { clusterId, manifests: [deployment(), service, namespace] });
    expect(first.map((o) => `${o.object.kind}/${o.object.name}:${o.outcome}`)).toEqual([
      'Namespace/shop:created',
      'Deployment/web:created',
      'Service/web:created',
    ]);
    const generation = first.find((o) => o.object.kind === 'Deployment')!.generation;
    expect(generation).toBe(1);

    const heartbeats: Body[] = [];
    const progress = await run('waitForDeploymentRollout', { clusterId, namespace: 'shop', name: 'web' }, heartbeats);
    figures.push(`3 replicas available ${Date.now() - appliedAt} ms after apply (${heartbeats.length} heartbeats)`);
    expect(progress).toMatchObject({ generation: 1, observedGeneration: 1, desired: 3, updated: 3, available: 3, total: 3 });
    // Every heartbeat carries the counts and what the wait waits for.
    // (A keep-alive before the first read carries no details.)
    for (const beat of heartbeats.filter(Boolean))
      expect(beat).toEqual(expect.objectContaining({ desired: 3, waitingFor: expect.any(String) }));

    const pods = await run('readKubernetesPods', { clusterId, namespace: 'shop', labelSelector: 'app=web' });
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod).toMatchObject({ phase: 'Running', ready: true, reasons: [] });
      expect(poolNodes).toContain(pod.node);
    }

    // The same manifests again: server-side apply changes nothing, so no new generation.
    const again = await run('applyKubernetesManifests', { clusterId, manifests: [namespace, deployment(), service] });
    expect(again.map((o) => o.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(again.find((o) => o.object.kind === 'Deployment')!.generation).toBe(1);
  }, 600_000);

  test('an invalid manifest fails naming the object and the field, and nothing of its batch is applied', async () => {
    const config: Manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { a: '1' } };
    const invalid = await failureOf('applyKubernetesManifests', { clusterId, manifests: [config, deployment({ replicas: -1 })] });
    expect(invalid.type).toBe('KubernetesRejected');
    expect(invalid.nonRetryable).toBe(true);
    expect(invalid.message).toContain('Deployment shop/web');
    expect(invalid.message).toContain('spec.replicas');
    expect(invalid.details).toEqual([expect.objectContaining({ fields: ['spec.replicas'], status: 422 })]);

    // A field the schema does not have: strict validation refuses it (client-node's typed models would drop it).
    const typo = await failureOf('applyKubernetesManifests', { clusterId, manifests: [config, deployment({ replicaz: 4 })] });
    expect(typo.type).toBe('KubernetesRejected');
    expect(typo.message).toContain('Deployment shop/web');
    expect(typo.message).toContain('spec.replicaz');

    // Validated first, so the ConfigMap before it in the batch was never created.
    const deleted = await run('deleteKubernetesObjects', { clusterId, objects: [ref('ConfigMap', 'web-config', 'shop')] });
    expect(deleted).toEqual({ deleted: [], alreadyGone: ['ConfigMap shop/web-config'] });
  }, 600_000);

  test('scale to 5 and wait; patch; the Deployment’s events tell the story', async () => {
    const scaled = await run('scaleKubernetesWorkload', { clusterId, namespace: 'shop', kind: 'Deployment', name: 'web', replicas: 5 });
    expect(scaled).toEqual({ replicas: 5, generation: 2 });
    const scaledAt = Date.now();
    const progress = await run('waitForDeploymentRollout', { clusterId, namespace: 'shop', name: 'web' });
    figures.push(`scaled to 5 available in ${Date.now() - scaledAt} ms`);
    expect(progress).toMatchObject({ generation: 2, observedGeneration: 2, desired: 5, updated: 5, available: 5 });
    const pods = await run('readKubernetesPods', { clusterId, namespace: 'shop', labelSelector: 'app in (web)' });
    expect(pods.filter((p) => p.ready)).toHaveLength(5);

    const events = await run('readKubernetesEvents', { clusterId, namespace: 'shop', object: { kind: 'Deployment', name: 'web' } });
    expect(events.map((e) => e.reason)).toContain('ScalingReplicaSet');
    expect(events.every((e) => e.object === 'Deployment web')).toBe(true);

    const patched = await run('patchKubernetesObject', {
      clusterId,
      object: ref('Service', 'web', 'shop'),
      patchType: 'merge',
      patch: { metadata: { labels: { tier: 'front' } } },
    });
    expect(patched.resourceVersion).toEqual(expect.any(String));
    const refused = await failureOf('scaleKubernetesWorkload', {
      clusterId,
      namespace: 'shop',
      kind: 'Deployment',
      name: 'web',
      replicas: -2,
    });
    expect(refused).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  }, 600_000);

  test('a rollout that cannot progress fails with its pods’ and events’ reasons', async () => {
    const stuck = deployment({
      replicas: 2,
      progressDeadlineSeconds: 15,
      selector: { matchLabels: { app: 'stuck' } },
      template: {
        metadata: { labels: { app: 'stuck' } },
        // No node carries this label: the scheduler cannot place the pods.
        spec: { nodeSelector: { 'opsflow.test/no-such-node': 'true' }, containers: [{ name: 'app', image: 'registry.example/app:1.0.0' }] },
      },
    });
    stuck.metadata = { name: 'stuck', namespace: 'shop' };
    await run('applyKubernetesManifests', { clusterId, manifests: [stuck] });
    const heartbeats: unknown[] = [];
    const stalled = await failureOf('waitForDeploymentRollout', { clusterId, namespace: 'shop', name: 'stuck' }, heartbeats);
    expect(stalled.type).toBe('RolloutStalled');
    expect(stalled.message).toContain('Deployment shop/stuck cannot progress (ProgressDeadlineExceeded');
    expect(stalled.message).toContain('0 of 2 replicas available');
    expect(stalled.message).toMatch(/PodScheduled Unschedulable: 0\/3 nodes are available/);
    expect(stalled.message).toContain('FailedScheduling on Pod stuck-');
    expect(heartbeats.length).toBeGreaterThan(0);
    const [details] = stalled.details as Body[];
    expect(details!.pods).toHaveLength(2);
  }, 600_000);

  test('delete is idempotent and waits until the objects are gone', async () => {
    const objects = [
      ref('Deployment', 'web', 'shop'),
      ref('Deployment', 'stuck', 'shop'),
      ref('Service', 'web', 'shop'),
      ref('Namespace', 'shop'),
    ];
    const first = await run('deleteKubernetesObjects', { clusterId, objects });
    expect(first).toEqual({
      deleted: ['Deployment shop/web', 'Deployment shop/stuck', 'Service shop/web', 'Namespace shop'],
      alreadyGone: [],
    });
    const second = await run('deleteKubernetesObjects', { clusterId, objects });
    expect(second).toEqual({
      deleted: [],
      alreadyGone: ['Deployment shop/web', 'Deployment shop/stuck', 'Service shop/web', 'Namespace shop'],
    });
    // Gone means gone: a wait for the deleted Deployment's rollout finds nothing to wait for.
    const missing = await failureOf('waitForDeploymentRollout', { clusterId, namespace: 'shop', name: 'web' });
    expect(missing.type).toBe('KubernetesNotFound');
  }, 600_000);

  test('the kubeconfig’s token is in no result, heartbeat or failure; the DigitalOcean worker registers these activities', () => {
    expect(seen.length).toBeGreaterThan(10);
    expect(JSON.stringify(seen)).not.toContain(token);
    const registered = Object.keys(
      createCloudActivities({ digitalOcean: () => new DigitalOceanClient({ token: 't', apiUrl: cloud.apiUrl }) }),
    );
    expect(registered).toEqual(expect.arrayContaining(Object.keys(activities)));
    expect(api.violations).toEqual([]);
  });
});
