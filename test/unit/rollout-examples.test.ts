// The rollout examples match the stacks they name: every fleet instance and nginx's front host is
// a droplet of examples/stack-<x>.yaml, and the example's environment is that stack's name.
import path from 'node:path';
import { loadRolloutSpec } from '../../src/specs/load-rollout';
import { dropletInstances } from '../../src/specs/environment';
import { loadEnvironmentSpec } from '../../src/specs/load';
import { parseRolloutReleaseInput } from '../../src/specs/rollout-release';

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

test('examples/rollout-stack-c.yaml names stack C and only its droplet, and its preview droplet is made from stack-c.yaml', () => {
  const stack = loadEnvironmentSpec(path.join(EXAMPLES, 'stack-c.yaml'));
  const rollout = loadRolloutSpec(path.join(EXAMPLES, 'rollout-stack-c.yaml'));
  expect(rollout.environment).toBe(stack.name);
  expect(dropletInstances(stack).map((d) => d.instance)).toEqual(['web']);
  expect(rollout.fleet.instances).toEqual(['web']);
  expect(rollout.traffic.nginx?.frontHost).toBe('web');
  // The backend's port as stack C's compose publishes it, and its health check.
  expect(rollout.fleet.port).toBe(3001);
  expect(stack.application?.compose).toContain('"3001:3001"');
  expect(stack.healthChecks.map((c) => c.port)).toContain(3001);
  const parsed = parseRolloutReleaseInput({
    environment: 'stack-c',
    hosts: [{ instance: 'web', address: '203.0.113.10', hostKey: `SHA256:${'A'.repeat(43)}` }],
    ssh: { user: 'root', port: 22, key: 'deploy' },
    directory: stack.application!.directory,
    images: { backend: 'ghcr.io/acme/backend:2.9.0' },
    healthChecks: stack.healthChecks,
    requestedBy: 'alice',
    spec: rollout,
    environmentSpec: stack,
  });
  expect(parsed).toMatchObject({ fleet: ['web'], preview: 1, surge: 0 });
});
