// `opsflow rollout` without a server: what is refused before connecting (no --set, a bad
// environment name, no spec file, a --strategy the spec does not describe), who `by` names, the
// refusal text an update prints, and the status and live lines a rollout view becomes.
import path from 'node:path';
import { buildCli } from '../../src/client/cli';
import { ProgressPrinter } from '../../src/client/progress';
import { checkStrategy, rolloutSpecFile, UpdateRefused, whoAmI } from '../../src/client/rollout';
import { formatRolloutView, rolloutProgressLines } from '../../src/client/rollout-view';
import { loadRolloutSpec } from '../../src/specs/load-rollout';
import type { RolloutStatus, RolloutView } from '../../src/workflows/release/rollout-api';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

async function cli(args: string[]): Promise<void> {
  await buildCli().parseAsync(args, { from: 'user' });
}

// No Temporal answers here, so reaching the server would fail differently: each refusal below stops first.
const savedAddress = process.env.TEMPORAL_ADDRESS;
beforeAll(() => (process.env.TEMPORAL_ADDRESS = '127.0.0.1:1'));
afterAll(() => {
  if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
  else process.env.TEMPORAL_ADDRESS = savedAddress;
});

test('refused before connecting: no --set, a bad environment name, no spec, a --strategy the spec does not describe', async () => {
  await expect(cli(['rollout', 'stack-c', '--spec', path.join(EXAMPLES, 'rollout-stack-c.yaml')])).rejects.toThrow(
    'say what to deploy: --set service=tag',
  );
  await expect(cli(['rollout', 'Stack_C', '--set', 'backend=2.0'])).rejects.toThrow(/Stack_C/);
  await expect(cli(['rollout', 'nowhere-env', '--set', 'backend=2.0'])).rejects.toThrow(
    'no rollout spec for nowhere-env: give --spec <file> (or put it at ./rollout-nowhere-env.yaml)',
  );
  const blueGreen = path.join(EXAMPLES, 'rollout-stack-c.yaml');
  await expect(cli(['rollout', 'stack-c', '--set', 'backend=2.0', '--spec', blueGreen, '--strategy', 'canary'])).rejects.toThrow(
    `--strategy canary: ${blueGreen} describes a blue-green rollout (blueGreen:); write a canary section instead, or leave --strategy out`,
  );
  await expect(cli(['rollout', 'stack-c', '--set', 'backend=2.0', '--spec', path.join(EXAMPLES, 'missing.yaml')])).rejects.toThrow(
    /missing\.yaml/,
  );
  await expect(cli(['rollout', 'promote', 'Bad_Name'])).rejects.toThrow(/Bad_Name/);
});

test('the spec file: --spec, or rollout-<env>.yaml here; --strategy checks the spec it reads', () => {
  expect(rolloutSpecFile('stack-b', 'mine.yaml', () => false)).toBe('mine.yaml');
  expect(rolloutSpecFile('stack-b', undefined, (f) => f === 'rollout-stack-b.yaml')).toBe('rollout-stack-b.yaml');
  const canary = loadRolloutSpec(path.join(EXAMPLES, 'rollout-stack-b.yaml'));
  expect(() => checkStrategy(canary, 'b.yaml', 'canary')).not.toThrow();
  expect(() => checkStrategy(canary, 'b.yaml', undefined)).not.toThrow();
  expect(() => checkStrategy(canary, 'b.yaml', 'blue-green')).toThrow(
    '--strategy blue-green: b.yaml describes a canary rollout (canary:); write a blueGreen section instead, or leave --strategy out',
  );
});

test('`by` is OPSFLOW_REQUESTED_BY or user@host, in the characters an update takes', () => {
  expect(whoAmI({ OPSFLOW_REQUESTED_BY: 'ci job 42' })).toBe('ci job 42');
  expect(whoAmI({ OPSFLOW_REQUESTED_BY: 'DOMAIN\\bob' })).toBe('DOMAIN-bob');
  expect(whoAmI({ OPSFLOW_REQUESTED_BY: '"; rm -rf / #' })).toBe('rm -rf - -');
  expect(whoAmI({})).toMatch(/^[A-Za-z0-9][A-Za-z0-9 ._@+-]*@[A-Za-z0-9.-]+$/);
});

test('a refused update is said with the rollout and its own words', () => {
  const refused = new UpdateRefused('promote', 'stack-b', 'nothing waits to be promoted: step 1/4: setWeight 10 is running');
  expect(refused.message).toBe('promote refused by rollout-stack-b: nothing waits to be promoted: step 1/4: setWeight 10 is running');
});

const view = (changes: Partial<RolloutView> = {}): RolloutView => ({
  strategy: 'canary',
  phase: 'paused',
  requestedBy: 'alice@ops',
  stableImages: { shop: 'ghcr.io/acme/shop:1.0' },
  canaryImages: { shop: 'ghcr.io/acme/shop:1.1' },
  weight: { asked: { stable: 90, canary: 10 }, effective: { stable: 90, canary: 10 } },
  stepIndex: 1,
  stepCount: 3,
  step: { index: 1, kind: 'analysis', detail: 'analysis errors' },
  canaryHosts: ['app-1'],
  stableHosts: ['app-2'],
  analyses: [
    {
      name: 'step 2',
      templates: ['errors'],
      phase: 'inconclusive',
      reason: 'error-ratio: 3 inconclusive measurements, more than inconclusiveLimit 2',
      metrics: [
        {
          name: 'error-ratio',
          phase: 'inconclusive',
          reason: '3 inconclusive',
          measurements: [{ at: '2026-12-02T04:00:00.000Z', phase: 'inconclusive', values: [], message: 'the query returned no data' }],
        },
      ],
    },
  ],
  pause: { reason: 'step 2 analysis inconclusive', since: '2026-12-02T04:00:01.000Z', waitingFor: 'human' },
  updates: [],
  ...changes,
});

test('opsflow rollout status: the split, hosts, images, step, why it waits and what to type, each measurement, who steered', () => {
  const text = formatRolloutView(
    view({ updates: [{ name: 'pause', by: 'bob@ops', at: '2026-12-02T04:00:02.000Z', detail: 'paused' }] }),
    'canary-a',
  );
  expect(text.split('\n')).toEqual([
    '  rollout: canary, paused, requested by alice@ops',
    '  traffic: canary 10% / stable 90%',
    '  hosts: canary app-1; stable app-2',
    '  images: shop ghcr.io/acme/shop:1.0 -> ghcr.io/acme/shop:1.1',
    '  step 2/3: analysis errors',
    '  waiting for human since 2026-12-02T04:00:01.000Z: step 2 analysis inconclusive (opsflow rollout promote canary-a, or abort canary-a)',
    '  analysis step 2 (errors): inconclusive, error-ratio: 3 inconclusive measurements, more than inconclusiveLimit 2',
    '    error-ratio: inconclusive',
    '      2026-12-02T04:00:00.000Z  inconclusive no data  the query returned no data',
    '  2026-12-02T04:00:02.000Z  pause by bob@ops: paused',
  ]);
});

test('live progress prints each split, measurement, pause and update once, and a split again when traffic goes back', () => {
  const out: string[] = [];
  const printer = new ProgressPrinter({ write: (t: string) => out.push(t) > 0 });
  const lines = rolloutProgressLines('canary-a');
  const status = (rollout: RolloutView): RolloutStatus => ({
    operation: 'rolloutRelease',
    workflowId: 'rollout-canary-a',
    step: 'step 2/3: analysis errors',
    completedSteps: [],
    remainingSteps: [],
    resources: [],
    rollout,
  });
  const first = status(view());
  printer.show(first, lines(first));
  printer.show(first, lines(first));
  const back = status(
    view({
      weight: { asked: { stable: 100, canary: 0 }, effective: { stable: 100, canary: 0 } },
      pause: undefined,
      updates: [{ name: 'abort', by: 'bob@ops', at: '2026-12-02T04:00:03.000Z', detail: 'aborted: too slow' }],
      abort: { reason: 'too slow', by: 'bob@ops' },
    }),
  );
  printer.show(back, lines(back));
  expect(out).toEqual([
    '    ⇄ traffic canary 10% / stable 90%\n',
    '    · step 2 error-ratio #1 inconclusive: no data (the query returned no data)\n',
    '    ‖ waiting for human: step 2 analysis inconclusive (opsflow rollout promote canary-a, or abort canary-a)\n',
    '    ⇄ traffic canary 0% / stable 100%\n',
    '    ↪ abort by bob@ops: aborted: too slow\n',
    '    ✖ aborting: too slow\n',
  ]);
});
