// The rollout examples match the stacks they name: every fleet instance and nginx's front host is
// a droplet of examples/stack-<x>.yaml, and the example's environment is that stack's name.
import path from 'node:path';
import { loadRolloutSpec } from '../../src/specs/load-rollout';
import { dropletInstances } from '../../src/specs/environment';
import { loadEnvironmentSpec } from '../../src/specs/load';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

test('examples/rollout-stack-b.yaml names stack B and only its droplets', () => {
  const stack = loadEnvironmentSpec(path.join(EXAMPLES, 'stack-b.yaml'));
  const rollout = loadRolloutSpec(path.join(EXAMPLES, 'rollout-stack-b.yaml'));
  const droplets = dropletInstances(stack).map((d) => d.instance);
  expect(rollout.environment).toBe(stack.name);
  expect(droplets).toEqual(['platform']);
  expect(rollout.fleet.instances).toEqual(['platform']);
  expect(rollout.traffic.nginx?.frontHost).toBe('platform');
  // One droplet: the canary can only be a surge droplet beside it.
  expect(rollout.canary?.maxSurge).toBe(1);
  // Prometheus is inside the stack's VPC.
  expect(rollout.prometheus?.address).toMatch(/^http:\/\/10\.20\./);
  expect(stack.vpc?.ipRange).toBe('10.20.0.0/16');
});
