// Kubernetes canary benchmark (issue 16): rolloutRelease's canary on a DOKS cluster of the local
// cloud (the stage of rollout-kubernetes.test: test/helpers/kube-canary-stage.ts, a real control
// plane, pods running the simulated app, the cluster's nginx ingress configured from the HTTPRoute,
// a real Prometheus), next to the droplet figures bench/rollout.ts measured (bench/results/rollout.md).
// Measured, over a bounded number of rounds, with one prober sending requests through the Gateway
// one after another the whole time and recording when each answer came and from which version:
//   - each weight step of a good canary (25 -> 50 -> 100, 5 s pauses between): from the workflow
//     scheduling setHttpRouteWeights to the route written (the activity's completion, history's
//     clock) and on to the traffic observed moving at the ingress (observedAt: the first canary
//     answer from 0%, 20 answers in a row from the canary at 100%, past the midpoint in between);
//   - a bad canary (-err5): from its first failing measurement to 100% stable, written (history)
//     and observed at the ingress (20 answers in a row from the stable version);
//   - requests lost to switching: failed requests that were not the bad version's own 500s.
// Run with `npm run bench` or `npx tsx bench/kubernetes-canary.ts`; writes bench/results/kubernetes-canary.md.
// Loopback only (the local cloud's pod and ingress addresses); needs the plane (scripts/kube-plane.sh).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { TASK_QUEUE } from '../src/temporal/task-queues';
import { startKubeCanaryStage, type KubeCanaryStage } from '../test/helpers/kube-canary-stage';
import { history } from '../test/helpers/rollout-stack';
import { median, writeResults, type Row } from './harness';
import { provideTestSetup } from './test-setup';

const ROUNDS = Math.min(Number(process.env.OPSFLOW_BENCH_KUBE_CANARY_ROUNDS ?? 3), 5);
const WINDOW = 20;
const GOOD_STEPS = [
  { setWeight: 25 },
  { pause: { duration: '5s' } },
  { setWeight: 50 },
  { pause: { duration: '5s' } },
  { setWeight: 100 },
  { pause: { duration: '5s' } },
];
const BAD_STEPS = [{ setWeight: 50 }, { pause: {} }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }];

interface Answer {
  at: number;
  version?: string;
  failure?: string;
}

/** One GET on a fresh connection (no keep-alive), as the load generator of the droplet benchmark sends it. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body = (body + chunk).slice(0, 1024)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5000 ms')));
    req.on('error', reject);
  });
}

/** Requests through the Gateway one after another until stopped, each answer with its time. */
function probe(gateway: string): { answers: Answer[]; stop: () => Promise<void> } {
  const answers: Answer[] = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      try {
        const { status, body } = await get(`http://${gateway}/version`);
        answers.push(status === 200 ? { at: Date.now(), version: body.trim() } : { at: Date.now(), failure: `HTTP ${status}` });
      } catch (err) {
        answers.push({ at: Date.now(), failure: (err as Error).message });
      }
    }
  })();
  return {
    answers,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

const eventMs = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

interface RouteChange {
  canary: number;
  scheduledAt: number;
  writtenAt: number;
}

/** Each setHttpRouteWeights of the run (the canary weight it set, scheduled and completed), and when the last measurement before one failed. */
async function routeChanges(handle: WorkflowHandle): Promise<{ changes: RouteChange[]; failedMeasurementAt?: number }> {
  const scheduled = new Map<string, { name: string; at: number; canary?: number }>();
  const changes: RouteChange[] = [];
  let failedMeasurementAt: number | undefined;
  for (const e of await history(handle)) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name) {
      let canary: number | undefined;
      const data = s.input?.payloads?.[0]?.data;
      if (data) canary = (JSON.parse(Buffer.from(data).toString('utf8')) as { weights?: { canary?: number } }).weights?.canary;
      scheduled.set(String(e.eventId), { name: s.activityType.name, at: eventMs(e), canary });
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (!done) continue;
    const what = scheduled.get(String(done.scheduledEventId));
    if (what?.name === 'measureMetric') {
      const result = done.result?.payloads?.[0]?.data;
      const phase = result ? (JSON.parse(Buffer.from(result).toString('utf8')) as { phase?: string }).phase : undefined;
      if (phase === 'failed' && failedMeasurementAt === undefined) failedMeasurementAt = eventMs(e);
    }
    if (what?.name === 'setHttpRouteWeights') changes.push({ canary: what.canary ?? -1, scheduledAt: what.at, writtenAt: eventMs(e) });
  }
  return { changes, failedMeasurementAt };
}

/**
 * When the ingress first showed the route's move from `before`% to `canary`% on the canary version,
 * from `from` on: from 0%, the first answer from the canary (none can come before); to 100% (or
 * back to 0%), the first of 20 answers in a row all from the canary (or all from stable); between,
 * the first of 40 answers in a row whose canary share is past the midpoint of the two weights
 * (statistical: such a window can come by chance a little early or late).
 */
function observedAt(answers: Answer[], from: number, canaryVersion: string, before: number, canary: number): number | undefined {
  const after = answers.filter((a) => a.at >= from && a.version !== undefined);
  if (before === 0 && canary > 0) return after.find((a) => a.version === canaryVersion)?.at;
  const window = canary === 100 || canary === 0 ? WINDOW : 2 * WINDOW;
  const mid = (before + canary) / 2;
  for (let i = 0; i + window <= after.length; i++) {
    const share = (100 * after.slice(i, i + window).filter((a) => a.version === canaryVersion).length) / window;
    const ok = canary === 100 ? share === 100 : canary === 0 ? share === 0 : canary > before ? share >= mid : share <= mid;
    if (ok) return after[i]!.at;
  }
  return undefined;
}

interface Step {
  weight: number;
  writeMs: number;
  observedMs?: number;
}
interface Round {
  steps: Step[];
  bad: { writtenMs: number; observedMs?: number };
  requests: number;
  lost: number;
  badAnswers: number;
  goodWallMs: number;
}

async function round(stage: KubeCanaryStage, n: number): Promise<Round> {
  const prober = probe(stage.gateway);
  try {
    const started = performance.now();
    const good = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await stage.startRollout(`2.${n}`, GOOD_STEPS);
      await handle.result();
      return handle;
    });
    const goodWallMs = performance.now() - started;
    const bad = await stage.workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await stage.startRollout(`2.${n}-err5`, BAD_STEPS);
      await stage.promoteWhenMeasurable(handle, `2.${n}-err5`);
      const ended = await handle.result().then(
        () => 'completed',
        (err: { cause?: { type?: string } }) => err.cause?.type ?? 'failed',
      );
      if (ended !== 'RolloutAborted') throw new Error(`round ${n}: the bad canary ended ${ended}, not RolloutAborted`);
      return handle;
    });
    // The answers after the abort's route change, so its observation has its window.
    const lastAt = () => prober.answers.at(-1)?.at ?? 0;
    const goal = Date.now() + 3000;
    while (lastAt() < goal) await new Promise((r) => setTimeout(r, 200));
    await prober.stop();
    const { changes } = await routeChanges(good);
    // Take-over (0, unchanged), 25, 50, 100, then 0 on the promoted stable: the three canary steps.
    const steps = changes
      .map((c, i) => ({ ...c, before: i === 0 ? 0 : changes[i - 1]!.canary }))
      .filter((c) => c.canary > 0)
      .map((c) => {
        const seen = observedAt(prober.answers, c.writtenAt, `2.${n}`, c.before, c.canary);
        return {
          weight: c.canary,
          writeMs: c.writtenAt - c.scheduledAt,
          observedMs: seen === undefined ? undefined : seen - c.scheduledAt,
        };
      });
    const badRun = await routeChanges(bad);
    const back = badRun.changes.at(-1)!;
    if (badRun.failedMeasurementAt === undefined || back.canary !== 0)
      throw new Error(`round ${n}: no failing measurement then 0% in the bad canary's history`);
    const seenBack = observedAt(prober.answers, badRun.failedMeasurementAt, `2.${n}-err5`, 50, 0);
    const failures = prober.answers.filter((a) => a.failure !== undefined);
    const badAnswers = failures.filter((a) => a.failure === 'HTTP 500').length;
    const r: Round = {
      steps,
      bad: {
        writtenMs: back.writtenAt - badRun.failedMeasurementAt,
        observedMs: seenBack === undefined ? undefined : seenBack - badRun.failedMeasurementAt,
      },
      requests: prober.answers.length,
      lost: failures.length - badAnswers,
      badAnswers,
      goodWallMs,
    };
    const lostWhy = failures.filter((a) => a.failure !== 'HTTP 500').map((a) => a.failure);
    console.log(`round ${n}: ${JSON.stringify(r)}${lostWhy.length ? ` lost: ${JSON.stringify(lostWhy)}` : ''}`);
    return r;
  } finally {
    await prober.stop();
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const ms = (v: number | undefined) => (v === undefined ? 'not seen' : `${v} ms`);

function rows(rounds: Round[], droplets: { toStable?: string; lost?: string; requests?: string }): Row[] {
  const out: Row[] = [];
  for (const weight of [25, 50, 100]) {
    const steps = rounds.map((r) => r.steps.find((s) => s.weight === weight)!);
    const observed = steps.map((s) => s.observedMs).filter((v): v is number => v !== undefined);
    out.push({
      measure: `weight step to ${weight}%: scheduled → route written → moved at the ingress (each round: ${steps.map((s) => `${s.writeMs}/${ms(s.observedMs)}`).join(', ')})`,
      value:
        observed.length === steps.length
          ? `${median(steps.map((s) => s.writeMs))} ms written, ${median(observed)} ms at the ingress`
          : 'not seen in every round',
      verdict: 'info',
    });
  }
  const toStable = rounds.map((r) => r.bad.writtenMs);
  const seen = rounds.map((r) => r.bad.observedMs);
  out.push(
    {
      measure: `bad canary: first failing measurement to 100% stable, route written (median of ${rounds.length}; each ${toStable.join(', ')} ms)`,
      value: `${median(toStable)} ms`,
      baseline: droplets.toStable ? `droplets: ${droplets.toStable} ms (nginx over SSH, rollout.md)` : undefined,
      ratio: droplets.toStable ? `${(median(toStable) / Number(droplets.toStable)).toFixed(2)}` : undefined,
      target: '≤ 6000 ms (interval 1000 ms + 5 s)',
      verdict: Math.max(...toStable) <= 6000 ? 'met' : 'missed',
    },
    {
      measure: `bad canary: first failing measurement to 20 answers in a row from stable at the ingress (each ${seen.map(ms).join(', ')})`,
      value: seen.every((v) => v !== undefined) ? `${median(seen as number[])} ms` : 'not seen in every round',
      verdict: 'info',
    },
    {
      measure: `requests lost to switching (all ${rounds.length * 2} rollouts; ${sum(rounds.map((r) => r.requests))} requests through the ingress)`,
      value: String(sum(rounds.map((r) => r.lost))),
      baseline: droplets.lost ? `droplets: ${droplets.lost} of ${droplets.requests ?? '?'} (rollout.md)` : undefined,
      target: '0',
      verdict: rounds.every((r) => r.lost === 0) ? 'met' : 'missed',
    },
    {
      measure: "the bad versions' own 500s through the ingress (not losses)",
      value: String(sum(rounds.map((r) => r.badAnswers))),
      verdict: 'info',
    },
    {
      measure:
        'good canary wall time (canary Deployment up, 25 → 50 → 100 % with 5 s pauses, stable rolled to the new image, canary removed after 3 s)',
      value: `${Math.round(median(rounds.map((r) => r.goodWallMs)) / 1000)} s`,
      verdict: 'info',
    },
  );
  return out;
}

async function main(): Promise<void> {
  await provideTestSetup();

  const dropletsText = readFileSync(path.join(__dirname, 'results', 'rollout.md'), 'utf8');
  const droplets = {
    toStable: dropletsText.match(/bad canary: first failing measurement to 100% stable[^|]*\| (\d+) ms/)?.[1],
    lost: dropletsText.match(/requests lost to weight changes[^|]*\| (\d+) \|/)?.[1],
    requests: dropletsText.match(/requests lost to weight changes \(all \d+ rollouts; (\d+) requests/)?.[1],
  };
  const stage = await startKubeCanaryStage();
  const rounds: Round[] = [];
  try {
    for (let n = 1; n <= ROUNDS; n++) rounds.push(await round(stage, n));
  } finally {
    await stage.stop();
  }
  const file = writeResults(
    'kubernetes-canary',
    'Canary on Kubernetes: weight steps at the ingress, time to stable, requests lost (beside droplets)',
    rows(rounds, droplets),
    [
      `${ROUNDS} rounds of a good canary (25 → 50 → 100 %, 5 s pauses) and a bad (-err5) canary (50 %, analysis once Prometheus has its series, aborted) by rolloutRelease on a DOKS cluster of the local cloud: stable Deployment web (2 replicas), a canary Deployment of 1, the HTTPRoute web behind the cluster's nginx ingress, Prometheus scraping the pods every second.`,
      "One prober sends requests through the Gateway one after another the whole time (a fresh connection each, as the droplet benchmark's load generator), recording when each answer came and its version. A step is timed from the workflow scheduling setHttpRouteWeights to \"written\" (that activity's completion: the HTTPRoute updated through the cluster's API) and to \"moved at the ingress\": from 0 %, the first answer from the canary; to 100 %, the first of 20 answers in a row all from the canary; 25 → 50 %, the first of 40 in a row with a canary share past 37.5 % (statistical: a few hundred ms early or late). The abort's \"at the ingress\" is the first of 20 answers in a row from stable, from the failing measurement. The history's clock and the prober's are the same machine's.",
      "The droplet figures are bench/rollout.ts's (bench/results/rollout.md, same machine, an earlier run): there the step is one nginx change over SSH, written, `nginx -t`, reloaded; rollout.ts does not time weight steps at the ingress, so only time to stable and losses stand beside each other.",
    ],
  );
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
