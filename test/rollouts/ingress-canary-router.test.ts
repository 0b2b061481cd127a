// The canary Ingress traffic router against the local cloud's DOKS cluster (a real API server, pods
// that really run the simulated app, the real nginx ingress configured from Ingress objects with
// ingress-nginx's canary annotations), on kube-canary-stage's cluster: a main Ingress sends
// /version to `web` (2 pods of 1.0); the router makes the canary Ingress for `web-canary` (1 pod of
// 1.1) at its first change and the requests through the ingress split exactly by its weight
// (nginx's smooth weighted round robin over the endpoints: any run of whole rounds, once the
// ingress counted the new configuration loaded, its old workers gone); a change made while requests flow
// loses none; rollback puts the split before back; bad Ingresses are refused naming the problem.
import { generateLoad } from '../../src/rollouts/load-generator';
import { IngressCanaryRouter } from '../../src/rollouts/traffic/ingress-canary-router';
import { kubeRef, startKubeCanaryStage, type KubeCanaryStage } from '../helpers/kube-canary-stage';
import { until } from '../helpers/until';

jest.setTimeout(15 * 60_000);

let stage: KubeCanaryStage;
const ingressRef = (name: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name });

/** The main Ingress: /version (a longer prefix than the stage's HTTPRoute's /) to `service`. */
const mainIngress = (name: string, service: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'shop' },
  spec: {
    ingressClassName: 'nginx',
    rules: [{ http: { paths: [{ path: '/version', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }],
  },
});

beforeAll(async () => {
  stage = await startKubeCanaryStage();
  // The canary: one pod of 1.1 (track: canary, which the stable Service does not select) behind web-canary.
  const stable = await stage.client.get(kubeRef('Deployment', 'web'));
  const template = structuredClone(stable!.spec.template);
  template.metadata.labels = { app: 'web', track: 'canary' };
  template.spec.containers[0].image = 'registry.example/shop-web:1.1';
  await stage.client.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web-canary', namespace: 'shop' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web', track: 'canary' } }, template },
  });
  await stage.client.apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web-canary', namespace: 'shop' },
    spec: { selector: { app: 'web', track: 'canary' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await stage.client.apply(mainIngress('web', 'web'));
  await until(
    'the canary pod ready',
    async () => ((await stage.client.get(kubeRef('Deployment', 'web-canary')))?.status?.availableReplicas === 1 ? true : undefined),
    300_000,
  );
}, 20 * 60_000);

afterAll(async () => {
  await stage?.stop();
});

/** `count` requests through the ingress, one after another: answers by version, and what failed. */
async function split(count: number) {
  const tally = await generateLoad(`http://${stage.gateway}/version`, { total: count });
  return { versions: tally.byBody, failed: tally.failures };
}

/** Until the ingress has loaded a configuration since it had `before`: from then on every request meets it alone. */
async function reloadedSince(before: number): Promise<void> {
  await until(`the ingress loads a configuration after its ${before}th`, async () => (stage.ingressLoads() > before ? true : undefined));
}

const router = (ingress = 'web') =>
  new IngressCanaryRouter({
    client: stage.client,
    namespace: 'shop',
    ingress,
    canaryIngress: `${ingress}-canary`,
    stableService: 'web',
    canaryService: 'web-canary',
  });

test('the canary Ingress is made at the first change and the ingress splits real requests exactly by its weight; rollback; none lost', async () => {
  const r = router();
  expect(await stage.client.get(ingressRef('web-canary'))).toBeUndefined();
  expect(await r.weightsNow()).toEqual({ stable: 100, canary: 0 });
  expect(await r.currentWeights()).toBeUndefined();

  // 50% to the canary: 2 stable endpoints at 25 each, 1 canary at 50 (1:1:2), a round of 4 is 2:2.
  let loads = stage.ingressLoads();
  await r.setWeights({ stable: 50, canary: 50 });
  await reloadedSince(loads);
  const canary = await stage.client.get(ingressRef('web-canary'));
  expect(canary?.metadata.annotations).toMatchObject({
    'nginx.ingress.kubernetes.io/canary': 'true',
    'nginx.ingress.kubernetes.io/canary-weight': '50',
    'opsflow.dev/weights': 'stable=50,canary=50',
    'opsflow.dev/previous-weights': 'stable=100,canary=0',
  });
  expect(canary?.spec.rules[0].http.paths[0].backend.service.name).toBe('web-canary');
  await until('the canary Ingress at 50%', async () => {
    const { versions } = await split(4);
    return versions['1.0\n'] === 2 && versions['1.1\n'] === 2 ? true : undefined;
  });
  expect(await split(200)).toEqual({ versions: { '1.0\n': 100, '1.1\n': 100 }, failed: [] });
  expect(await r.currentWeights()).toEqual({ stable: 50, canary: 50 });

  // 20% while requests flow: none fails; then 40 over 2 stable endpoints, 20 over 1 (2:2:1), 4 of 5 stable.
  const during = split(300);
  loads = stage.ingressLoads();
  await r.setWeights({ stable: 80, canary: 20 });
  await reloadedSince(loads);
  expect((await during).failed).toEqual([]);
  await until('the canary Ingress at 20%', async () => {
    const { versions } = await split(5);
    return versions['1.0\n'] === 4 && versions['1.1\n'] === 1 ? true : undefined;
  });
  expect(await split(200)).toEqual({ versions: { '1.0\n': 160, '1.1\n': 40 }, failed: [] });

  // A repeat changes nothing (same resourceVersion); rollback puts 50/50 back.
  const version = (await stage.client.get(ingressRef('web-canary')))?.metadata.resourceVersion;
  await r.setWeights({ stable: 80, canary: 20 });
  expect((await stage.client.get(ingressRef('web-canary')))?.metadata.resourceVersion).toBe(version);
  expect(await r.rollback()).toEqual({ stable: 50, canary: 50 });
  await until('the canary Ingress back at 50%', async () => {
    const { versions } = await split(4);
    return versions['1.0\n'] === 2 && versions['1.1\n'] === 2 ? true : undefined;
  });

  // An abort: weight 0, all on stable, no request lost on the way.
  const aborting = split(300);
  loads = stage.ingressLoads();
  await r.setWeights({ stable: 100, canary: 0 });
  await reloadedSince(loads);
  expect((await aborting).failed).toEqual([]);
  await until('all on stable', async () => ((await split(10)).versions['1.0\n'] === 10 ? true : undefined));
  expect(await split(100)).toEqual({ versions: { '1.0\n': 100 }, failed: [] });
  expect(await r.weightsNow()).toEqual({ stable: 100, canary: 0 });
});

test('an Ingress changed between read and patch is read again; a missing or mixed main Ingress is refused naming it', async () => {
  // Someone else's annotation lands on the canary Ingress between the router's read and its patch.
  const r = router();
  const client = stage.client;
  let meddled = false;
  const meddling = new IngressCanaryRouter({
    client: {
      get: (ref) => client.get(ref),
      apply: (m) => client.apply(m),
      patch: async (ref, patch, type) => {
        if (!meddled) {
          meddled = true;
          await client.patch(ref, { metadata: { annotations: { 'team.example/owner': 'shop' } } }, 'merge');
        }
        return client.patch(ref, patch, type);
      },
    },
    namespace: 'shop',
    ingress: 'web',
    canaryIngress: 'web-canary',
    stableService: 'web',
    canaryService: 'web-canary',
  });
  await meddling.setWeights({ stable: 70, canary: 30 });
  const canary = await stage.client.get(ingressRef('web-canary'));
  expect(canary?.metadata.annotations).toMatchObject({ 'team.example/owner': 'shop', 'nginx.ingress.kubernetes.io/canary-weight': '30' });
  expect(await r.currentWeights()).toEqual({ stable: 70, canary: 30 });
  await r.setWeights({ stable: 100, canary: 0 });

  await expect(router('nope').setWeights({ stable: 90, canary: 10 })).rejects.toThrow(
    'Ingress shop/nope does not exist: create it (sending to web) before the rollout',
  );
  await stage.client.apply(mainIngress('other', 'api'));
  await expect(router('other').setWeights({ stable: 90, canary: 10 })).rejects.toThrow(
    'Ingress shop/other must send every path of its rules to web, which web-canary then shares by weight; it also sends to api',
  );
  await expect(router().setWeights({ stable: 90, canary: 20 })).rejects.toThrow('weights must add up to 100');
  expect(await stage.client.get(ingressRef('other-canary'))).toBeUndefined();
});
