// The HTTPRoute traffic router against an API server stand-in that keeps resourceVersions as the
// real one does (a merge patch naming an older one is refused with 409): weights set on the one
// rule naming both Services, the split before kept for rollback, a repeat changes nothing, a route
// changed meanwhile is re-read instead of overwritten, and bad routes are refused naming why.
// (cluster-ingress.test drives the same router against a real API server, traffic through nginx.)
import type { KubeObject } from '../../src/integrations/kubernetes/client';
import { KubernetesRequestError } from '../../src/integrations/kubernetes/errors';
import type { ObjectRef } from '../../src/integrations/kubernetes/refs';
import { HttpRouteRouter } from '../../src/rollouts/traffic/http-route-router';

class RouteStore {
  route: KubeObject | undefined;
  patches = 0;
  /** Called before a patch is applied: lets a test change the route "meanwhile". */
  beforePatch?: () => void;

  constructor(backendRefs: Record<string, unknown>[], otherRules: Record<string, unknown>[] = []) {
    this.route = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: 'shop', resourceVersion: '1' },
      spec: { parentRefs: [{ name: 'public' }], rules: [...otherRules, { backendRefs }] },
    };
  }

  bump(change: (route: KubeObject) => void): void {
    change(this.route!);
    this.route!.metadata.resourceVersion = String(Number(this.route!.metadata.resourceVersion) + 1);
  }

  client = {
    get: async (_ref: ObjectRef) => (this.route ? (JSON.parse(JSON.stringify(this.route)) as KubeObject) : undefined),
    patch: async (_ref: ObjectRef, patch: unknown) => {
      this.beforePatch?.();
      this.beforePatch = undefined;
      const p = patch as { metadata: { resourceVersion: string; annotations: Record<string, string> }; spec: { rules: unknown[] } };
      if (p.metadata.resourceVersion !== this.route!.metadata.resourceVersion)
        throw new KubernetesRequestError(409, { reason: 'Conflict', message: 'the object has been modified' });
      this.patches++;
      this.bump((route) => {
        route.metadata.annotations = { ...((route.metadata.annotations as Record<string, string>) ?? {}), ...p.metadata.annotations };
        route.spec.rules = p.spec.rules;
      });
      return this.route!;
    },
  };
}

const weightsOf = (store: RouteStore) =>
  Object.fromEntries((store.route!.spec.rules.at(-1).backendRefs as { name: string; weight?: number }[]).map((b) => [b.name, b.weight]));
const router = (store: RouteStore) =>
  new HttpRouteRouter({ client: store.client, namespace: 'shop', route: 'web', stableService: 'web', canaryService: 'web-canary' });

test('sets the weights on the rule naming both Services, keeps the split before for rollback, and repeats nothing', async () => {
  const other = { matches: [{ path: { type: 'PathPrefix', value: '/admin' } }], backendRefs: [{ name: 'admin', port: 80 }] };
  const store = new RouteStore(
    [
      { name: 'web', port: 80 },
      { name: 'web-canary', port: 80, weight: 0 },
    ],
    [other],
  );
  const r = router(store);
  expect(await r.currentWeights()).toBeUndefined();
  await r.setWeights({ stable: 90, canary: 10 });
  expect(weightsOf(store)).toEqual({ web: 90, 'web-canary': 10 });
  expect(store.route!.spec.rules[0]).toEqual(other);
  expect(await r.currentWeights()).toEqual({ stable: 90, canary: 10 });
  await r.setWeights({ stable: 90, canary: 10 });
  expect(store.patches).toBe(1);
  await r.setWeights({ stable: 50, canary: 50 });
  expect(await r.rollback()).toEqual({ stable: 90, canary: 10 });
  expect(weightsOf(store)).toEqual({ web: 90, 'web-canary': 10 });
  // A retried rollback (the first one's answer lost) finds the split already back and changes nothing.
  const patches = store.patches;
  store.route!.metadata.annotations = {
    ...(store.route!.metadata.annotations as object),
    'opsflow.dev/previous-weights': 'stable=90,canary=10',
  };
  expect(await r.rollback()).toEqual({ stable: 90, canary: 10 });
  expect(store.patches).toBe(patches);
});

test('a route changed between read and patch is read again, keeping the other change', async () => {
  const store = new RouteStore([
    { name: 'web', port: 80, weight: 100 },
    { name: 'web-canary', port: 80, weight: 0 },
  ]);
  store.beforePatch = () => store.bump((route) => (route.spec.hostnames = ['shop.example']));
  await router(store).setWeights({ stable: 75, canary: 25 });
  expect(weightsOf(store)).toEqual({ web: 75, 'web-canary': 25 });
  expect(store.route!.spec.hostnames).toEqual(['shop.example']);
  expect(store.patches).toBe(1);
});

test('refuses a missing route, a route without both Services in one rule, and weights that are not percents', async () => {
  const gone = new RouteStore([]);
  gone.route = undefined;
  await expect(router(gone).setWeights({ stable: 90, canary: 10 })).rejects.toThrow(
    'HTTPRoute shop/web does not exist: create it (with backendRefs to web and web-canary) before the rollout',
  );
  const split = new RouteStore([{ name: 'web', port: 80 }], [{ backendRefs: [{ name: 'web-canary', port: 80 }] }]);
  await expect(router(split).setWeights({ stable: 90, canary: 10 })).rejects.toThrow(
    'HTTPRoute shop/web must have exactly one rule whose backendRefs name both web and web-canary; 0 do',
  );
  const store = new RouteStore([
    { name: 'web', port: 80 },
    { name: 'web-canary', port: 80 },
  ]);
  await expect(router(store).setWeights({ stable: 90, canary: 20 })).rejects.toThrow('weights must add up to 100');
  await expect(router(store).rollback()).rejects.toThrow("HTTPRoute shop/web has no split from before opsflow's last change");
  expect(store.patches).toBe(0);
});
