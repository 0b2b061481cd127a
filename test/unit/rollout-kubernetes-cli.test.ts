// `opsflow rollout` for a canary on Kubernetes (a spec whose traffic is httpRoute) without a server:
// the input it builds (environment, images by container, the spec, who asks) is the one the workflow
// parses; what is refused before connecting, each naming the problem; and how status and the live
// lines show the cluster's side.
import path from 'node:path';
import { buildCli } from '../../src/client/cli';
import { ProgressPrinter } from '../../src/client/progress';
import { buildKubernetesRolloutInput, parseContainerSets } from '../../src/client/rollout';
import { formatRolloutResult } from '../../src/client/rollout-commands';
import { formatRolloutView, rolloutProgressLines } from '../../src/client/rollout-view';
import { isKubernetesRolloutInput, parseKubernetesRolloutInput } from '../../src/specs/kubernetes-rollout';
import { loadAnyRolloutSpec } from '../../src/specs/load-rollout';
import type { RolloutStatus, RolloutView } from '../../src/workflows/release/rollout-api';

const SPEC = path.join(__dirname, '..', '..', 'examples', 'rollout-stack-d.yaml');

async function cli(args: string[]): Promise<void> {
  await buildCli().parseAsync(args, { from: 'user' });
}

// No Temporal answers here: every refusal below stops before connecting.
const savedAddress = process.env.TEMPORAL_ADDRESS;
beforeAll(() => (process.env.TEMPORAL_ADDRESS = '127.0.0.1:1'));
afterAll(() => {
  if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
  else process.env.TEMPORAL_ADDRESS = savedAddress;
});

test('the input: environment, images by container, the spec as read, who asks; the workflow parses it as a Kubernetes canary', () => {
  const loaded = loadAnyRolloutSpec(SPEC);
  expect(loaded.kind).toBe('kubernetes');
  if (loaded.kind !== 'kubernetes') return;
  const input = buildKubernetesRolloutInput(
    'stack-d',
    parseContainerSets(['orders=registry.example/orders:2.1'], SPEC),
    loaded.spec,
    'alice@ops',
  );
  // What the CLI sends goes through JSON to the workflow: the same input after the trip.
  const sent = JSON.parse(JSON.stringify(input)) as unknown;
  expect(isKubernetesRolloutInput(sent)).toBe(true);
  const parsed = parseKubernetesRolloutInput(sent);
  expect(parsed).toMatchObject({ environment: 'stack-d', images: { orders: 'registry.example/orders:2.1' }, requestedBy: 'alice@ops' });
  expect(parsed.traffic).toMatchObject({ cluster: 'stack-d', namespace: 'shop', route: 'orders', stableDeployment: 'orders' });
  expect(Object.keys(sent as object).sort()).toEqual(['environment', 'images', 'requestedBy', 'spec']);
  // A droplet spec still loads as one.
  expect(loadAnyRolloutSpec(path.join(__dirname, '..', '..', 'examples', 'rollout-stack-b.yaml')).kind).toBe('droplets');
});

test('refused before connecting, each naming the problem', async () => {
  const run = (...args: string[]) => cli(['rollout', 'stack-d', '--spec', SPEC, ...args]);
  await expect(run()).rejects.toThrow('say what to deploy: --set container=image (like orders=registry.example/orders:2.1)');
  await expect(run('--set', 'orders=2.1')).rejects.toThrow(
    '--set orders=2.1: a canary on Kubernetes takes the full image with its tag (like orders=registry.example/orders:2.1), not a tag alone',
  );
  await expect(run('--set', 'Orders_API=registry.example/orders:2.1')).rejects.toThrow(
    `--set Orders_API=registry.example/orders:2.1: Orders_API is not a Kubernetes container name (lowercase letters, digits and "-", at most 63): ${SPEC} is a canary on Kubernetes`,
  );
  await expect(run('--set', 'orders')).rejects.toThrow('--set orders: write container=image');
  await expect(run('--set', 'orders=registry.example/orders:2.1', '--set', 'orders=registry.example/orders:2.2')).rejects.toThrow(
    '--set orders is given twice',
  );
  await expect(run('--set', 'orders=registry.example/orders:2.1', '--strategy', 'blue-green')).rejects.toThrow(
    `--strategy blue-green: ${SPEC} describes a canary rollout`,
  );
  await expect(run('--set', 'orders=registry.example/orders:2.1', '--environment-spec', 'examples/stack-d.yaml')).rejects.toThrow(
    `--environment-spec: ${SPEC} is a rollout on Kubernetes (traffic.httpRoute)`,
  );
  // The spec is for stack-d: another environment is refused by the workflow's own parser.
  await expect(cli(['rollout', 'stack-x', '--spec', SPEC, '--set', 'orders=registry.example/orders:2.1'])).rejects.toThrow(
    'spec.environment: is stack-d, but this rollout is for stack-x',
  );
  // A newline never reaches the message as typed.
  await expect(run('--set', 'orders\nx=registry.example/orders:2.1')).rejects.toThrow('that is not a Kubernetes container name');
});

test('a blue-green spec on Kubernetes: --strategy blue-green taken, the input parsed as blue-green; --strategy canary refused naming it', async () => {
  const blueGreen = path.join(__dirname, '..', '..', 'examples', 'rollout-blue-green-stack-d.yaml');
  const loaded = loadAnyRolloutSpec(blueGreen);
  expect(loaded.kind).toBe('kubernetes');
  if (loaded.kind !== 'kubernetes') return;
  const input = buildKubernetesRolloutInput(
    'stack-d',
    parseContainerSets(['orders=registry.example/orders:3.0'], blueGreen),
    loaded.spec,
    'alice',
  );
  const parsed = parseKubernetesRolloutInput(JSON.parse(JSON.stringify(input)));
  expect(parsed.spec.blueGreen).toBeDefined();
  expect(parsed.traffic.canaryService).toBe('orders-preview');
  await expect(
    cli(['rollout', 'stack-d', '--spec', blueGreen, '--strategy', 'canary', '--set', 'orders=registry.example/orders:3.0']),
  ).rejects.toThrow(`--strategy canary: ${blueGreen} describes a blue-green rollout`);
  // With --strategy blue-green everything checks out before connecting: the refusal is the connection's.
  await expect(
    cli(['rollout', 'stack-d', '--spec', blueGreen, '--strategy', 'blue-green', '--set', 'orders=registry.example/orders:3.0']),
  ).rejects.not.toThrow(/strategy|spec\.|--set/);
});

const view = (changes: Partial<RolloutView> = {}): RolloutView => ({
  strategy: 'canary',
  phase: 'progressing',
  requestedBy: 'alice@ops',
  stableImages: { web: 'registry.example/shop-web:1.0' },
  canaryImages: { web: 'registry.example/shop-web:1.1' },
  weight: { asked: { stable: 80, canary: 20 }, effective: { stable: 80, canary: 20 } },
  stepIndex: 0,
  stepCount: 3,
  step: { index: 0, kind: 'setWeight', detail: 'setWeight 20' },
  canaryHosts: [],
  stableHosts: [],
  kubernetes: {
    cluster: 'shop-d',
    clusterId: 'c-1',
    namespace: 'shop',
    route: 'web',
    stableService: 'web',
    canaryService: 'web-canary',
    stableDeployment: 'web',
    stableReplicas: 2,
    stable: 'serving',
    canaryDeployment: 'web-canary',
    canaryReplicas: 1,
    canaryReadyReplicas: 1,
    canary: 'serving',
  },
  analyses: [],
  updates: [],
  ...changes,
});

test('opsflow rollout status on Kubernetes: the Deployments and the route in place of hosts', () => {
  expect(formatRolloutView(view(), 'stack-d').split('\n')).toEqual([
    '  rollout: canary, progressing, requested by alice@ops',
    '  traffic: canary 20% / stable 80%',
    '  kubernetes: canary Deployment shop/web-canary 1/1 ready (serving) · stable Deployment shop/web (serving) · HTTPRoute shop/web (web / web-canary) on cluster shop-d',
    '  images: web registry.example/shop-web:1.0 -> registry.example/shop-web:1.1',
    '  step 1/3: setWeight 20',
  ]);
});

test('opsflow rollout status of a blue-green on Kubernetes weighted by a canary Ingress: the preview Deployment and both Ingresses', () => {
  const k = view().kubernetes!;
  const lines = formatRolloutView(
    view({
      strategy: 'blue-green',
      weight: { asked: { stable: 0, canary: 100 }, effective: { stable: 0, canary: 100 } },
      kubernetes: {
        ...k,
        track: 'preview',
        canaryDeployment: 'web-preview',
        canaryReplicas: 2,
        canaryReadyReplicas: 2,
        canaryIngress: 'web-canary',
      },
    }),
    'stack-d',
  ).split('\n');
  expect(lines).toContain(
    '  kubernetes: preview Deployment shop/web-preview 2/2 ready (serving) · stable Deployment shop/web (serving) · Ingress shop/web + canary Ingress shop/web-canary (web / web-canary) on cluster shop-d',
  );
});

test("live lines: each side's state once as it changes, beside the splits", () => {
  const out: string[] = [];
  const printer = new ProgressPrinter({ write: (t: string) => out.push(t) > 0 });
  const lines = rolloutProgressLines('stack-d');
  const status = (rollout: RolloutView): RolloutStatus => ({
    operation: 'rolloutRelease',
    workflowId: 'rollout-stack-d',
    step: 'rolling out',
    completedSteps: [],
    remainingSteps: [],
    resources: [],
    rollout,
  });
  const k = view().kubernetes!;
  for (const v of [
    view({
      weight: { asked: { stable: 100, canary: 0 }, effective: { stable: 100, canary: 0 } },
      kubernetes: { ...k, canary: 'deploying' },
    }),
    view(),
    view(),
    view({
      weight: { asked: { stable: 0, canary: 100 }, effective: { stable: 0, canary: 100 } },
      kubernetes: { ...k, stable: 'updating' },
    }),
    view({
      weight: { asked: { stable: 100, canary: 0 }, effective: { stable: 100, canary: 0 } },
      kubernetes: { ...k, stable: 'updated', canary: 'removed' },
    }),
  ])
    printer.show(status(v), lines(status(v)));
  expect(out).toEqual([
    '    ⇄ traffic canary 0% / stable 100%\n',
    '    ⊕ canary Deployment shop/web-canary (1 replicas): deploying\n',
    '    ⇄ traffic canary 20% / stable 80%\n',
    '    ⊕ canary Deployment shop/web-canary (1 replicas): serving\n',
    '    ⇄ traffic canary 100% / stable 0%\n',
    '    ⊕ stable Deployment shop/web: updating to the new images\n',
    '    ⇄ traffic canary 0% / stable 100%\n',
    '    ⊕ canary Deployment shop/web-canary (1 replicas): removed\n',
    '    ⊕ stable Deployment shop/web: updated to the new images\n',
  ]);
});

test('the result names what changed and what was removed', () => {
  const text = formatRolloutResult({
    environment: 'stack-d',
    images: { web: 'registry.example/shop-web:1.1' },
    previousImages: { web: 'registry.example/shop-web:1.0' },
    hosts: [],
    kubernetes: {
      ...view().kubernetes!,
      stable: 'updated',
      canary: 'removed',
      canaryReadyReplicas: 0,
      removed: ['Deployment shop/web-canary', 'Service shop/web-canary'],
    },
    requestedBy: 'alice@ops',
    analyses: [],
    updates: [],
  });
  expect(text.split('\n')).toEqual([
    'Rolled out to stack-d: web registry.example/shop-web:1.1 (was registry.example/shop-web:1.0)',
    '  canary Deployment shop/web-canary 0/1 ready (removed) · stable Deployment shop/web (updated) · HTTPRoute shop/web (web / web-canary) on cluster shop-d; removed: Deployment shop/web-canary, Service shop/web-canary',
  ]);
});
