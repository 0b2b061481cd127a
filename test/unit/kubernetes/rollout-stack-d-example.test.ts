// examples/rollout-stack-d.yaml is a valid Kubernetes canary for stack D's orders service.
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
