// rolloutRelease's input (issue 14 item 4): deployRelease's fields and the rollout spec checked
// together, each problem named at its field, and what this version does not build yet (load
// balancer membership) refused by name before anything runs; blue-green is taken; surge droplets
// are taken with the environment spec they are made from.
import { SpecError } from '../../src/specs/common';
import type { EnvironmentSpec } from '../../src/specs/environment';
import { parseEnvironmentSpec } from '../../src/specs/environment';
import { parseRolloutReleaseInput, resolveSurge } from '../../src/specs/rollout-release';

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

/** The environment the hosts above were provisioned from: three `app` droplets running compose. */
function environmentSpec(changes: Record<string, unknown> = {}): EnvironmentSpec {
  return parseEnvironmentSpec({
    name: 'shop',
    region: 'fra1',
    droplets: [{ name: 'app', count: 3, size: 's-1vcpu-1gb', tags: ['web'] }],
    ssh: { key: 'deploy' },
    application: { directory: '/opt/shop', compose: 'services: {}\n', images: { shop: 'ghcr.io/acme/shop:1.0' } },
    ...changes,
  });
}

/** A canary on surge droplets beside the fleet: maxSurge above 0, the environment spec given. */
const surgeInput = (canary: Record<string, unknown> = {}, env: unknown = environmentSpec()) => {
  const value = input();
  Object.assign(value.spec.canary, { maxSurge: 1, maxUnavailable: 0, ...canary });
  return { ...value, environmentSpec: env };
};

test('maxSurge is no longer refused: the canary runs on surge droplets made from the environment spec', () => {
  const parsed = parseRolloutReleaseInput(surgeInput());
  expect(parsed).toMatchObject({ fleet: ['app-2', 'app-3'], surge: 1, batchSize: 1, environmentSpec: { name: 'shop' } });
  expect(parsed.spec.canary).toMatchObject({ maxSurge: 1, maxUnavailable: 0, scaleDownDelay: '30s' });
  // A percentage rounds up (as Argo's does), never past the fleet's size; maxUnavailable adds to the batch.
  expect(parseRolloutReleaseInput(surgeInput({ maxSurge: '25%' }))).toMatchObject({ surge: 1, batchSize: 1 });
  expect(parseRolloutReleaseInput(surgeInput({ maxSurge: '100%', maxUnavailable: 1 }))).toMatchObject({ surge: 2, batchSize: 2 });
  expect(parseRolloutReleaseInput(surgeInput({ maxSurge: 5 }))).toMatchObject({ surge: 2 });
  expect([resolveSurge('25%', 1), resolveSurge('25%', 8), resolveSurge('26%', 8), resolveSurge(0, 3), resolveSurge('0%', 3)]).toEqual([
    1, 2, 3, 0, 0,
  ]);
});

test('a fleet of one droplet takes a canary on a surge droplet (stack B), not from itself', () => {
  const one = surgeInput();
  Object.assign(one.spec.fleet, { instances: ['app-1'] });
  expect(parseRolloutReleaseInput(one)).toMatchObject({ fleet: ['app-1'], surge: 1, batchSize: 1 });
});

test('surge droplets need the environment spec, of this environment, holding the fleet in one droplet group', () => {
  const missing = input();
  Object.assign(missing.spec.canary, { maxSurge: '25%' });
  expect(problems(missing)).toEqual([
    "environmentSpec: is required: spec.canary.maxSurge is 25% (1 surge droplet for a fleet of 2), and a surge droplet is made as the fleet's droplets were, from the environment spec (opsflow rollout --environment-spec <file>). Or set maxSurge: 0 and maxUnavailable 1 or more to take canary hosts from the fleet",
  ]);
  const other = environmentSpec({
    name: 'other',
    droplets: [
      { name: 'app', count: 2, size: 's-1vcpu-1gb' },
      { name: 'app-3', size: 's-2vcpu-2gb' },
      { name: 'app-surge-1', size: 's-1vcpu-1gb' },
    ],
    application: { directory: '/srv/shop', composeFile: 'compose.yaml', images: { shop: 'ghcr.io/acme/shop:1.0' } },
  });
  expect(problems(surgeInput({}, other))).toEqual([
    'environmentSpec.name: is other, but this rollout is for shop',
    "spec.fleet: takes hosts from droplet groups app, app-3: a surge droplet is made like the fleet's droplets, so they must be of one group (one size, image and tags)",
    'environmentSpec.droplets: has app-surge-1, the name a surge droplet takes',
    'environmentSpec.application.compose: is required: the workflow needs the compose file itself, not only composeFile (opsflow rollout inlines it; with the temporal CLI put its text in application.compose)',
    "environmentSpec.application.directory: is /srv/shop, but the fleet's application lives in /opt/shop",
  ]);
  const linode = surgeInput(
    {},
    { ...environmentSpec(), cloud: 'linode', region: 'eu-west', droplets: [{ name: 'app', count: 3, size: 'g6-standard-1' }] },
  );
  expect(problems(linode)).toEqual([
    expect.stringMatching(/^environmentSpec\.cloud: is linode: surge droplets are built for DigitalOcean only/),
  ]);
  const bad = surgeInput({}, { name: 'shop' });
  expect(problems(bad)).toEqual(expect.arrayContaining([expect.stringMatching(/^environmentSpec\.region: /)]));
});

test('maxSurge and maxUnavailable both 0 are still refused, saying what to give', () => {
  const none = input();
  Object.assign(none.spec.canary, { maxUnavailable: 0 });
  expect(problems(none)).toEqual([
    'spec.canary.maxUnavailable: is 0 and maxSurge is 0: no host could run the canary (Argo and Kubernetes refuse both at 0 too). Give maxSurge 1 or more to create surge droplets beside the fleet for the canary, or maxUnavailable 1 or more to take canary hosts from the fleet',
  ]);
  const rounded = input();
  Object.assign(rounded.spec.canary, { maxSurge: '0%', maxUnavailable: '40%' });
  expect(problems(rounded)).toEqual([
    'spec.canary.maxUnavailable: is 40% (0 hosts of 2) and maxSurge is 0% (0 droplets): no host could run the canary (Argo and Kubernetes refuse both at 0 too). Give maxSurge 1 or more to create surge droplets beside the fleet for the canary, or maxUnavailable 1 or more to take canary hosts from the fleet',
  ]);
});

test('what is not built yet is refused by name: blue-green by load balancer membership, surge droplets with it', () => {
  const { canary: _canary, ...withoutCanary } = input().spec;
  const lb = { ...input(), spec: { ...withoutCanary, traffic: { loadBalancerMembership: { loadBalancer: 'shop-lb' } }, blueGreen: {} } };
  expect(problems(lb)).toContain(
    'spec.traffic.loadBalancerMembership: blue-green by load balancer membership is not built (a blue-green switch rewrites nginx upstreams); use traffic.nginx, or a canary',
  );
  const surge = input();
  Object.assign(surge.spec, { traffic: { loadBalancerMembership: { loadBalancer: 'shop-lb' } } });
  Object.assign(surge.spec.canary, { maxSurge: 1 });
  expect(problems(surge)).toEqual([
    'spec.canary.maxSurge: is 1, but surge droplets are not put in the load balancer: with loadBalancerMembership set maxSurge: 0 (canary hosts are taken from the fleet)',
  ]);
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
  expect(problems(alone)).toEqual([
    'spec.fleet: has 1 host (app-2); blue-green needs at least 2, one active and one preview (or give blueGreen.previewFleet: {create: 1} to create a preview droplet for the rollout)',
  ]);
});

test('a fleet of one droplet takes blue-green with preview droplets created for it (stack C), made from the environment spec', () => {
  const { canary: _canary, ...withoutCanary } = input().spec;
  const one = (previewFleet: unknown, env?: unknown) => ({
    ...input(),
    spec: { ...withoutCanary, fleet: { port: 8080, instances: ['app-1'] }, blueGreen: { previewFleet } },
    ...(env === undefined ? {} : { environmentSpec: env }),
  });
  expect(parseRolloutReleaseInput(one({ create: 1 }, environmentSpec()))).toMatchObject({
    fleet: ['app-1'],
    preview: 1,
    surge: 0,
    environmentSpec: { name: 'shop' },
    spec: { blueGreen: { previewFleet: { create: 1, drain: '10s' } } },
  });
  // Taken from the fleet: no droplet made, no environment spec needed.
  expect(parseRolloutReleaseInput({ ...input(), spec: { ...withoutCanary, blueGreen: {} } })).toMatchObject({ preview: 0 });
  expect(problems(one({ create: 1 }))).toEqual([
    "environmentSpec: is required: spec.blueGreen.previewFleet.create is 1, and a preview droplet is made as the fleet's droplets were, from the environment spec (opsflow rollout --environment-spec <file>). Or leave previewFleet.create out and take the preview from fleet hosts out of rotation",
  ]);
  expect(problems(one({ create: 1, size: 1 }, environmentSpec()))).toEqual([
    'spec.blueGreen.previewFleet.create: give size (preview hosts taken from the fleet) or create (preview droplets made for the rollout), not both',
  ]);
  expect(problems(one({ create: 0 }, environmentSpec()))).toEqual(['spec.blueGreen.previewFleet.create: must be 1-20 droplets']);
  const clash = environmentSpec({
    droplets: [
      { name: 'app', count: 3, size: 's-1vcpu-1gb' },
      { name: 'app-preview-1', size: 's-1vcpu-1gb' },
    ],
  });
  expect(problems(one({ create: 1 }, clash))).toEqual(['environmentSpec.droplets: has app-preview-1, the name a preview droplet takes']);
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

test('a fleet of one host cannot give a canary from itself', () => {
  const one = input();
  Object.assign(one.spec.fleet, { instances: ['app-2'] });
  expect(problems(one)).toEqual([
    'spec.fleet: has 1 host (app-2); a canary taken from the fleet needs at least 2, one to stay stable (or give maxSurge 1 to run the canary on a surge droplet beside it)',
  ]);
});

test("deployRelease's own problems and the spec's come together, the spec's under spec.", () => {
  const bad = input();
  Object.assign(bad, { images: {} });
  Object.assign(bad.spec.canary, { steps: [{ setWeight: 120 }] });
  expect(problems(bad)).toEqual(['images: names no service to deploy', 'spec.canary.steps.0.setWeight: must be at most 100, got 120']);
});
