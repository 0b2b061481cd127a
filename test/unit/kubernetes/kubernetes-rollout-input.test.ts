// rolloutRelease's input for a canary on Kubernetes (traffic.httpRoute): the environment, images by
// container, the spec and who asks; every problem named at its field; maxSurge 0, a preview fleet
// and droplet fields refused by name; blue-green taken with its preview's name; the canary's size from maxSurge against the stable replicas.
import { SpecError } from '../../../src/specs/common';
import {
  canaryDeploymentName,
  canaryReplicas,
  describeTrafficObject,
  isKubernetesRolloutInput,
  parseKubernetesRolloutInput,
} from '../../../src/specs/kubernetes-rollout';

const input = (spec: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
  environment: 'stack-d',
  images: { web: 'registry.example/shop-web:1.1' },
  requestedBy: 'alice',
  spec: {
    environment: 'stack-d',
    prometheus: { address: 'http://127.0.0.1:9090' },
    traffic: { httpRoute: { cluster: 'stack-d', namespace: 'shop', route: 'web', stableService: 'web', canaryService: 'web-canary' } },
    canary: { steps: [{ setWeight: 20 }, { analysis: { templates: ['errors'] } }, { setWeight: 50 }] },
    analysisTemplates: { errors: { metrics: [{ name: 'error-ratio', query: 'vector(0)', successCondition: 'result < 0.01' }] } },
    ...spec,
  },
  ...rest,
});

function problems(value: unknown): string[] {
  try {
    parseKubernetesRolloutInput(value);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('the input was accepted');
}

test('a Kubernetes canary is taken: the route, the Services, the default canary size and names', () => {
  const value = input();
  expect(isKubernetesRolloutInput(value)).toBe(true);
  const parsed = parseKubernetesRolloutInput(value);
  expect(parsed.traffic).toEqual({
    cluster: 'stack-d',
    namespace: 'shop',
    route: 'web',
    stableService: 'web',
    canaryService: 'web-canary',
  });
  expect(parsed.spec.canary!.maxSurge).toBe('25%');
  expect(canaryDeploymentName(parsed.traffic, 'web')).toBe('web-canary');
  expect(canaryDeploymentName({ ...parsed.traffic, canaryDeployment: 'web-next' }, 'web')).toBe('web-next');
  // 25% of 2 rounds up to 1; of 8, 2; a number is pods; never more than the stable has, never none.
  expect([
    canaryReplicas('25%', 2),
    canaryReplicas('25%', 8),
    canaryReplicas(3, 10),
    canaryReplicas(5, 2),
    canaryReplicas('1%', 0),
  ]).toEqual([1, 2, 3, 2, 1]);
});

test('a droplet rollout is not taken for Kubernetes', () => {
  expect(isKubernetesRolloutInput({ spec: { traffic: { nginx: { upstream: 'shop', frontHost: 'app-1' } } } })).toBe(false);
  expect(isKubernetesRolloutInput(null)).toBe(false);
});

test('every problem is named at its field', () => {
  const bad = input(
    {
      environment: 'other',
      traffic: { httpRoute: { cluster: '', namespace: 'Shop', route: 'web', stableService: 'web', canaryService: 'web' } },
      canary: { maxSurge: 0, maxUnavailable: 1, steps: [{ setWeight: 120 }, { analysis: { templates: ['latency'] } }] },
    },
    { images: { Web: 'nope' }, hosts: [] },
  );
  const found = problems(bad);
  expect(found).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^images\.Web: must be an image with a tag/),
      expect.stringMatching(/^images\.Web: is not a container name/),
      expect.stringMatching(/^\(top level\): .*hosts.*no hosts, SSH or directory/),
      expect.stringMatching(/^spec\.traffic\.httpRoute\.cluster: must be a DOKS cluster name or id/),
      expect.stringMatching(/^spec\.traffic\.httpRoute\.namespace: must be a Kubernetes name/),
      expect.stringMatching(/^spec\.traffic\.httpRoute\.canaryService: stableService and canaryService must be two Services/),
      expect.stringMatching(/^spec\.canary\.maxSurge: is the canary Deployment's size/),
      expect.stringMatching(/^spec\.canary\.maxUnavailable: has no meaning on Kubernetes/),
      expect.stringMatching(/^spec\.canary\.steps\.0\.setWeight: /),
      expect.stringMatching(/^spec\.canary\.steps\.1\.analysis\.templates\.0: names "latency", which analysisTemplates does not define/),
    ]),
  );
  // The environment mismatch is said once the rest parses.
  expect(problems(input({ environment: 'other' }))).toEqual(['spec.environment: is other, but this rollout is for stack-d']);
});

test('blue-green is taken on Kubernetes (preview `<stable>-preview`), a preview fleet size or droplets and a fleet refused by name', () => {
  const parsed = parseKubernetesRolloutInput(input({ canary: undefined, blueGreen: { postPromotionAnalysis: { templates: ['errors'] } } }));
  expect(parsed.spec.blueGreen).toMatchObject({ autoPromotion: { enabled: true }, scaleDownDelay: '30s', previewFleet: { drain: '10s' } });
  expect(canaryDeploymentName(parsed.traffic, 'web', 'preview')).toBe('web-preview');
  expect(problems(input({ canary: undefined, blueGreen: { previewFleet: { size: 1 } } }))).toEqual([
    expect.stringMatching(
      /^spec\.blueGreen\.previewFleet\.size: has no meaning on Kubernetes: the preview is a copy of the stable Deployment/,
    ),
  ]);
  expect(problems(input({ canary: undefined, blueGreen: { previewFleet: { create: 2 } } }))).toEqual([
    expect.stringMatching(/^spec\.blueGreen\.previewFleet\.create: has no meaning on Kubernetes/),
  ]);
  expect(problems(input({ blueGreen: {} }))).toEqual([expect.stringMatching(/^spec\.canary: give exactly one strategy/)]);
  expect(problems(input({ fleet: { port: 8080 } }))).toEqual([expect.stringMatching(/^spec(\.fleet)?: .*fleet/)]);
});

test('traffic.ingressCanary is taken instead of httpRoute: the main Ingress as the route, the canary Ingress `<ingress>-canary`', () => {
  const ingressCanary = { cluster: 'stack-d', namespace: 'shop', ingress: 'web', stableService: 'web', canaryService: 'web-canary' };
  const value = input({ traffic: { ingressCanary } });
  expect(isKubernetesRolloutInput(value)).toBe(true);
  const parsed = parseKubernetesRolloutInput(value);
  expect(parsed.traffic).toEqual({ ...ingressCanary, ingress: undefined, route: 'web', canaryIngress: 'web-canary' });
  expect(describeTrafficObject(parsed.traffic)).toBe('Ingress shop/web (canary Ingress shop/web-canary)');
  expect(describeTrafficObject(parseKubernetesRolloutInput(input()).traffic)).toBe('HTTPRoute shop/web');
  expect(
    parseKubernetesRolloutInput(input({ traffic: { ingressCanary: { ...ingressCanary, canaryIngress: 'web-next' } } })).traffic
      .canaryIngress,
  ).toBe('web-next');
  expect(problems(input({ traffic: { ingressCanary: { ...ingressCanary, canaryIngress: 'web' } } }))).toEqual([
    'spec.traffic.ingressCanary.canaryIngress: must not be the main Ingress',
  ]);
  const httpRoute = { cluster: 'stack-d', namespace: 'shop', route: 'web', stableService: 'web', canaryService: 'web-canary' };
  expect(problems(input({ traffic: { httpRoute, ingressCanary } }))).toEqual([
    expect.stringMatching(/^spec\.traffic: give exactly one of httpRoute or ingressCanary/),
  ]);
});
