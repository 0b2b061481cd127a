// rolloutRelease's input with traffic by load balancer membership: accepted for a canary taken
// from the fleet (drain defaulting to 10 s), refused by name for blue-green and for surge droplets
// (which are not put in the load balancer); `opsflow schema rollout` documents the field.
import { SpecError } from '../../src/specs/common';
import { rolloutJsonSchema } from '../../src/specs/rollout';
import { parseRolloutReleaseInput } from '../../src/specs/rollout-release';

const HOST_KEY = `SHA256:${'A'.repeat(43)}`;

const input = (spec: Record<string, unknown> = {}) => ({
  environment: 'shop',
  hosts: ['app-1', 'app-2', 'app-3'].map((instance, i) => ({ instance, address: `10.0.0.${i + 1}`, hostKey: HOST_KEY })),
  ssh: { user: 'root', port: 22, key: 'deploy' },
  directory: '/opt/shop',
  images: { shop: 'ghcr.io/acme/shop:1.1' },
  healthChecks: [],
  requestedBy: 'alice',
  spec: {
    environment: 'shop',
    fleet: { port: 8080 },
    traffic: { loadBalancerMembership: { loadBalancer: 'shop-web' } },
    canary: { maxSurge: 0, maxUnavailable: 1, steps: [{ setWeight: 33 }, { pause: {} }, { setWeight: 100 }] },
    ...spec,
  },
});

function problems(value: unknown): string[] {
  try {
    parseRolloutReleaseInput(value);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('the input was accepted');
}

test('a canary weighted by membership: the whole fleet (no front host), drain 10 s by default', () => {
  const parsed = parseRolloutReleaseInput(input());
  expect(parsed.fleet).toEqual(['app-1', 'app-2', 'app-3']);
  expect(parsed.spec.traffic).toEqual({ loadBalancerMembership: { loadBalancer: 'shop-web', drain: '10s' } });
});

test('refused by name: no load balancer named, blue-green by membership, surge droplets with membership', () => {
  expect(problems(input({ traffic: { loadBalancerMembership: {} } }))).toEqual([
    'spec.traffic.loadBalancerMembership.loadBalancer: is required (a string)',
  ]);
  const { canary: _canary, ...rest } = input().spec;
  expect(problems({ ...input(), spec: { ...rest, blueGreen: {} } })).toContain(
    'spec.traffic.loadBalancerMembership: blue-green by load balancer membership is not built (a blue-green switch rewrites nginx upstreams); use traffic.nginx, or a canary',
  );
  const surge = input();
  Object.assign(surge.spec.canary, { maxSurge: 1 });
  expect(problems(surge)).toContain(
    'spec.canary.maxSurge: is 1, but surge droplets are not put in the load balancer: with loadBalancerMembership set maxSurge: 0 (canary hosts are taken from the fleet)',
  );
});

test('opsflow schema rollout shows the field', () => {
  const schema = JSON.stringify(rolloutJsonSchema());
  expect(schema).toContain('"loadBalancerMembership"');
  expect(schema).toContain('"drain"');
});
