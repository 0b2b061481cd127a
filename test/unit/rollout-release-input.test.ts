// rolloutRelease's input (issue 14 item 4): deployRelease's fields and the rollout spec checked
// together, each problem named at its field, and what this version does not build yet (surge
// hosts, load balancer membership) refused by name before anything runs; blue-green is taken.
import { SpecError } from '../../src/specs/common';
import { parseRolloutReleaseInput } from '../../src/specs/rollout-release';

const HOST_KEY = `SHA256:${'A'.repeat(43)}`;

const input = () => ({
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
    traffic: { nginx: { upstream: 'shop', frontHost: 'app-1' } },
    canary: { maxSurge: 0, maxUnavailable: 1, steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 100 }] },
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

test('the fleet is every host but the front host unless listed; maxUnavailable is the batch', () => {
  const parsed = parseRolloutReleaseInput(input());
  expect(parsed.fleet).toEqual(['app-2', 'app-3']);
  expect(parsed.batchSize).toBe(1);
  const listed = input();
  Object.assign(listed.spec.fleet, { instances: ['app-1', 'app-2', 'app-3'] });
  Object.assign(listed.spec.canary, { maxUnavailable: '67%' });
  expect(parseRolloutReleaseInput(listed)).toMatchObject({ fleet: ['app-1', 'app-2', 'app-3'], batchSize: 2 });
});

test('what is not built yet is refused by name: surge hosts, load balancer membership', () => {
  const surge = input();
  Object.assign(surge.spec.canary, { maxSurge: '25%' });
  expect(problems(surge)).toEqual([
    'spec.canary.maxSurge: is 25%, but surge hosts are not built yet: set maxSurge: 0 and maxUnavailable of 1 or more, so canary hosts are taken from the fleet',
  ]);
  const lb = input();
  Object.assign(lb.spec, { traffic: { loadBalancerMembership: {} } });
  expect(problems(lb)).toContain(
    'spec.traffic.loadBalancerMembership: weighting by load balancer membership is not built yet (the provider seam has no membership call); use traffic.nginx',
  );
});

test('blue-green is taken; its preview must leave one host active and its fleet needs two hosts', () => {
  const { canary: _canary, ...withoutCanary } = input().spec;
  const blueGreen = { ...input(), spec: { ...withoutCanary, blueGreen: {} } };
  expect(parseRolloutReleaseInput(blueGreen)).toMatchObject({ fleet: ['app-2', 'app-3'], spec: { blueGreen: { scaleDownDelay: '30s' } } });
  const tooBig = { ...input(), spec: { ...withoutCanary, blueGreen: { previewFleet: { size: 2 } } } };
  expect(problems(tooBig)).toEqual([
    'spec.blueGreen.previewFleet.size: is 2, but the fleet has 2 hosts (app-2, app-3): at least one must stay active while the preview changes',
  ]);
  const alone = { ...input(), spec: { ...withoutCanary, fleet: { port: 8080, instances: ['app-2'] }, blueGreen: {} } };
  expect(problems(alone)).toEqual(['spec.fleet: has 1 host (app-2); blue-green needs at least 2, one active and one preview']);
});

test('hosts the spec names must be given, the spec must be for this environment, and someone must ask', () => {
  const wrong = input();
  Object.assign(wrong.spec, { environment: 'other', fleet: { port: 8080, instances: ['app-2', 'app-9'] } });
  Object.assign(wrong.spec.traffic.nginx, { frontHost: 'web' });
  Object.assign(wrong, { requestedBy: '' });
  expect(problems(wrong)).toEqual([
    expect.stringMatching(/^requestedBy: must name who asks/),
    'spec.environment: is other, but this rollout is for shop',
    'spec.traffic.nginx.frontHost: web is not one of the hosts given (app-1, app-2, app-3)',
    'spec.fleet.instances.1: app-9 is not one of the hosts given (app-1, app-2, app-3)',
  ]);
});

test('a fleet of one host cannot give a canary from itself; maxUnavailable 0 changes nothing', () => {
  const one = input();
  Object.assign(one.spec.fleet, { instances: ['app-2'] });
  expect(problems(one)).toEqual(['spec.fleet: has 1 host (app-2); a canary taken from the fleet needs at least 2, one to stay stable']);
  const none = input();
  Object.assign(none.spec.canary, { maxUnavailable: 0 });
  expect(problems(none)).toEqual([
    'spec.canary.maxUnavailable: is 0, which lets no host of 2 change version (canary hosts are taken from the fleet: give 1 or more)',
  ]);
});

test("deployRelease's own problems and the spec's come together, the spec's under spec.", () => {
  const bad = input();
  Object.assign(bad, { images: {} });
  Object.assign(bad.spec.canary, { steps: [{ setWeight: 120 }] });
  expect(problems(bad)).toEqual(['images: names no service to deploy', 'spec.canary.steps.0.setWeight: must be at most 100, got 120']);
});
