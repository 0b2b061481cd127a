// Rollout benchmark (issue 14), on the rollout tests' stack (test/helpers/rollout-stack.ts): two
// droplets running the shop application with compose, Debian's nginx in front on the first, a real
// Prometheus scraping both every second, and the load generator sending requests through nginx the
// whole time. Measured, each over several rounds:
//   - a bad canary (`-err5`, 5% of answers 500): time from its first failing measurement to 100% of
//     traffic back on stable, by the history's own clock (goal: at most one analysis interval + 5 s);
//   - blue-green: a `-err5` version failing its post-promotion analysis, time to the switch back;
//   - requests lost to weight changes: failed requests through nginx that the bad version did not
//     answer itself (goal 0);
//   - DigitalOcean API requests (the local cloud's request log) and SSH logins and commands (the
//     local cloud's droplets count them) per canary step.
// Run with `npm run bench` or `npx tsx bench/rollout.ts`; writes bench/results/rollout.md.
import type { RolloutSpecInput } from '../src/specs/rollout';
import type { RolloutStatus } from '../src/workflows/release/rollout-api';
import { ERRORS_TEMPLATE, msToStable, startRolloutStack, withLoad, type RolloutStack } from '../test/helpers/rollout-stack';
import { median, writeResults, type Row } from './harness';
import { provideTestSetup } from './test-setup';

const ROUNDS = Number(process.env.OPSFLOW_BENCH_ROLLOUT_ROUNDS ?? 3);
/** The analysis interval of ERRORS_TEMPLATE, in ms. */
const INTERVAL_MS = 1000;
const GOAL_MS = INTERVAL_MS + 5000;

const GOOD_STEPS = [
  { setWeight: 10 },
  { analysis: { templates: ['errors'] } },
  { setWeight: 25 },
  { analysis: { templates: ['errors'] } },
  { setWeight: 50 },
  { analysis: { templates: ['errors'] } },
  { setWeight: 100 },
];
const BAD_STEPS = [{ setWeight: 50 }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }];

interface Round {
  kind: 'good canary' | 'bad canary' | 'bad blue-green';
  ended: string;
  msToStable?: number;
  lost: number;
  badAnswers: number;
  requests: number;
  apiRequests: number;
  sshLogins: number;
  sshCommands: number;
  steps: number;
  wallMs: number;
}

function canarySpec(stack: RolloutStack, steps: unknown[]): RolloutSpecInput {
  return {
    environment: stack.spec.name,
    fleet: { instances: ['app-1', 'app-2'], port: 8080 },
    prometheus: { address: stack.prometheus.address },
    traffic: { nginx: { upstream: 'shop', frontHost: 'app-1' } },
    canary: { maxSurge: 0, maxUnavailable: 1, steps: steps as never },
    analysisTemplates: { errors: ERRORS_TEMPLATE },
  };
}

function blueGreenSpec(stack: RolloutStack): RolloutSpecInput {
  return {
    environment: stack.spec.name,
    fleet: { instances: ['app-1', 'app-2'], port: 8080 },
    prometheus: { address: stack.prometheus.address },
    traffic: { nginx: { upstream: 'shop', frontHost: 'app-1' } },
    blueGreen: { postPromotionAnalysis: { templates: ['errors'] }, scaleDownDelay: '10m' },
    analysisTemplates: { errors: ERRORS_TEMPLATE },
  };
}

/** One rollout under load through nginx, with the cloud's API and SSH counts around it. */
async function measure(stack: RolloutStack, kind: Round['kind'], tag: string, spec: RolloutSpecInput, steps: number): Promise<Round> {
  const ssh = { ...stack.cloud.hosts!.sshCounts };
  const since = stack.cloud.requestLog.total;
  const load = stack.load();
  const started = performance.now();
  const { handle, ended, view } = await withLoad(load, () =>
    stack.withWorker(async () => {
      const run = await stack.startRollout(tag, spec);
      const pinned = stack.env.client.workflow.getHandle(run.workflowId, run.firstExecutionRunId);
      const outcome = await pinned.result().then(
        () => 'completed',
        (err: { cause?: { type?: string } }) => err.cause?.type ?? 'failed',
      );
      // Queried while the worker runs: a query needs one.
      return { handle: pinned, ended: outcome, view: (await pinned.query<RolloutStatus>('status')).rollout! };
    }),
  );
  // Stopped only once the run ended, so the load covers every weight change it made.
  const tally = await load.stop();
  const wallMs = performance.now() - started;
  const badAnswers = tally.failures.filter((f) => f === 'HTTP 500').length;
  return {
    kind,
    ended: `${ended} (${view.phase})`,
    msToStable: kind === 'good canary' ? undefined : await msToStable(handle),
    lost: tally.failures.length - badAnswers,
    badAnswers,
    requests: tally.done,
    apiRequests: stack.cloud.requestLog.total - since,
    sshLogins: stack.cloud.hosts!.sshCounts.logins - ssh.logins,
    sshCommands: stack.cloud.hosts!.sshCounts.commands - ssh.commands,
    steps,
    wallMs,
  };
}

function endedAsDesigned(round: number, r: Round, outcome: string): void {
  console.log(`round ${round}: ${JSON.stringify(r)}`);
  if (!r.ended.startsWith(outcome)) throw new Error(`round ${round}: the ${r.kind} ended ${r.ended}, not ${outcome}`);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function rows(rounds: Round[]): Row[] {
  const bad = rounds.filter((r) => r.kind === 'bad canary');
  const blueGreen = rounds.filter((r) => r.kind === 'bad blue-green');
  const good = rounds.filter((r) => r.kind === 'good canary');
  const toStable = (of: Round[]) => of.map((r) => r.msToStable!);
  const perStep = (of: Round[], pick: (r: Round) => number) => (sum(of.map(pick)) / sum(of.map((r) => r.steps))).toFixed(1);
  const verdict = (ok: boolean): Row['verdict'] => (ok ? 'met' : 'missed');
  return [
    {
      measure: `bad canary: first failing measurement to 100% stable (median of ${bad.length}; each ${toStable(bad).join(', ')} ms)`,
      value: `${median(toStable(bad))} ms`,
      target: `≤ ${GOAL_MS} ms (interval ${INTERVAL_MS} ms + 5 s)`,
      verdict: verdict(Math.max(...toStable(bad)) <= GOAL_MS),
    },
    {
      measure: `blue-green: failing post-promotion measurement to the switch back (median of ${blueGreen.length}; each ${toStable(blueGreen).join(', ')} ms)`,
      value: `${median(toStable(blueGreen))} ms`,
      target: `≤ ${GOAL_MS} ms`,
      verdict: verdict(Math.max(...toStable(blueGreen)) <= GOAL_MS),
    },
    {
      measure: `requests lost to weight changes (all ${rounds.length} rollouts; ${sum(rounds.map((r) => r.requests))} requests through nginx)`,
      value: String(sum(rounds.map((r) => r.lost))),
      target: '0',
      verdict: verdict(rounds.every((r) => r.lost === 0)),
    },
    {
      measure: "the bad versions' own 500s through nginx (not losses)",
      value: String(sum(rounds.map((r) => r.badAnswers))),
      verdict: 'info',
    },
    { measure: 'good canary (7 steps): DigitalOcean API requests per step', value: perStep(good, (r) => r.apiRequests), verdict: 'info' },
    { measure: 'good canary: SSH logins per step', value: perStep(good, (r) => r.sshLogins), verdict: 'info' },
    { measure: 'good canary: SSH commands per step', value: perStep(good, (r) => r.sshCommands), verdict: 'info' },
    {
      measure: 'bad canary (aborted at step 2 of 3): SSH commands per run',
      value: String(median(bad.map((r) => r.sshCommands))),
      verdict: 'info',
    },
    {
      measure: 'good canary wall time (10 → 25 → 50 → 100 %, three analyses of 3 measurements after 3 s)',
      value: `${Math.round(median(good.map((r) => r.wallMs)) / 1000)} s`,
      verdict: 'info',
    },
  ];
}

async function main(): Promise<void> {
  await provideTestSetup();

  const stack = await startRolloutStack('bench-rollout');
  const rounds: Round[] = [];
  try {
    // Canaries first: a blue-green abort leaves its preview on the bad version, out of rotation,
    // where the next blue-green takes it again (a canary needs one version on the whole fleet).
    for (let round = 1; round <= ROUNDS; round++) {
      const good = await measure(stack, 'good canary', `2.${round}`, canarySpec(stack, GOOD_STEPS), GOOD_STEPS.length);
      const bad = await measure(stack, 'bad canary', `2.${round}-err5`, canarySpec(stack, BAD_STEPS), 2);
      endedAsDesigned(round, good, 'completed');
      endedAsDesigned(round, bad, 'RolloutAborted');
      rounds.push(good, bad);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const blueGreen = await measure(stack, 'bad blue-green', `3.${round}-err5`, blueGreenSpec(stack), 1);
      endedAsDesigned(round, blueGreen, 'RolloutAborted');
      rounds.push(blueGreen);
    }
  } finally {
    await stack.stop();
  }
  const file = writeResults('rollout', 'Rollouts: time to stable after a failing analysis, requests lost, calls per step', rows(rounds), [
    `${ROUNDS} rounds of a good canary and a bad (-err5) canary, then ${ROUNDS} bad blue-green rollouts, on two droplets of the local cloud with Debian's nginx in front and a real Prometheus scraping every second; the load generator sends requests through nginx one after another the whole time.`,
    "Time to stable is by the Temporal history's clock: from the completion of the failing measurement to the completion of the nginx change (written, `nginx -t`, reloaded, the new workers confirmed).",
    'Argo Rollouts (Kubernetes only) needs one interval plus its controller reconcile for the same; there is no VM-fleet tool to run beside it here, so the goal is absolute.',
    'A canary step here is a setWeight (one nginx change over SSH) or an analysis (Prometheus queries from the worker, no SSH); the API requests are DigitalOcean calls (none expected: the hosts come from the environment inventory).',
  ]);
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
