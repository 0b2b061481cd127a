// examples/rollout-stack-d.yaml is a valid Kubernetes canary for stack D's orders service, and
// examples/rollout-blue-green-stack-d.yaml a valid blue-green rollout of it, and
// examples/rollout-ingress-stack-d.yaml the canary weighted by a canary Ingress.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { isKubernetesRolloutInput, parseKubernetesRolloutInput } from '../../../src/specs/kubernetes-rollout';

test('examples/rollout-stack-d.yaml parses as a canary on the orders HTTPRoute', () => {
  const spec = parse(readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'rollout-stack-d.yaml'), 'utf8')) as unknown;
  const input = { environment: 'stack-d', images: { orders: 'registry.example/orders:2.1' }, requestedBy: 'alice', spec };
  expect(isKubernetesRolloutInput(input)).toBe(true);
  const parsed = parseKubernetesRolloutInput(input);
  expect(parsed.traffic).toMatchObject({ cluster: 'stack-d', route: 'orders', stableService: 'orders', canaryService: 'orders-canary' });
  expect(parsed.spec.canary!.steps.filter((s) => s.setWeight !== undefined).map((s) => s.setWeight)).toEqual([10, 25, 50, 100]);
});

test('examples/rollout-blue-green-stack-d.yaml parses as a blue-green rollout on the orders HTTPRoute, its preview orders-preview', () => {
  const spec = parse(
    readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'rollout-blue-green-stack-d.yaml'), 'utf8'),
  ) as unknown;
  const parsed = parseKubernetesRolloutInput({
    environment: 'stack-d',
    images: { orders: 'registry.example/orders:3.0' },
    requestedBy: 'alice',
    spec,
  });
  expect(parsed.traffic).toMatchObject({ route: 'orders', stableService: 'orders', canaryService: 'orders-preview' });
  expect(parsed.spec.canary).toBeUndefined();
  expect(parsed.spec.blueGreen).toMatchObject({ autoPromotion: { enabled: true }, scaleDownDelay: '5m', previewFleet: { drain: '30s' } });
});

test('examples/rollout-ingress-stack-d.yaml parses as a canary weighted by the canary Ingress orders-canary beside orders', () => {
  const spec = parse(readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'rollout-ingress-stack-d.yaml'), 'utf8')) as unknown;
  const input = { environment: 'stack-d', images: { orders: 'registry.example/orders:2.1' }, requestedBy: 'alice', spec };
  expect(isKubernetesRolloutInput(input)).toBe(true);
  expect(parseKubernetesRolloutInput(input).traffic).toMatchObject({
    route: 'orders',
    canaryIngress: 'orders-canary',
    canaryService: 'orders-canary',
  });
});
