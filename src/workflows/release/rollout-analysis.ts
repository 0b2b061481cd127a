// A rollout's analysis run (inline at a step, or in the background from a step on): its templates'
// metrics measured side by side, one activity per measurement and a workflow timer between them, so
// a worker killed mid-analysis resumes at the same measurement. Each measurement and verdict goes
// into the rollout's status view as it comes. It stops early when one metric decides against the
// canary, when the rollout aborts, or (background) when the rollout no longer needs it.
import { condition } from '@temporalio/workflow';
import { summarizedActivities } from '../shared/summarized-activities';
import type { Activities } from '../../activities';
import type { Measurement } from '../../rollouts/analysis/measurement';
import { analysisArgs, metricPlan, type BuiltInArgs, type MetricPlan } from '../../rollouts/analysis/metric-rules';
import { assessAnalysis, assessMetric, type MetricPhase, type MetricVerdict } from '../../rollouts/analysis/verdict';
import type { AnalysisRef, RolloutSpec } from '../../specs/rollout';
import type { AnalysisView } from './rollout-api';

export interface AnalysisRun {
  /** The view in the rollout's status; filled in as measurements come. */
  view: AnalysisView;
  address: string;
  ref: AnalysisRef;
  templates: RolloutSpec['analysisTemplates'];
  builtIn: BuiltInArgs;
  /** True when the rollout no longer wants measurements (aborting, or done with the background run). */
  stop: () => boolean;
  changed: () => void;
}

export interface AnalysisOutcome {
  phase: MetricPhase;
  metric?: string;
  reason: string;
  /** The deciding metric's values, one array per measurement. */
  values?: number[][];
}

export function analysisView(name: string, ref: AnalysisRef): AnalysisView {
  return { name, templates: [...ref.templates], phase: 'running', reason: 'starting', metrics: [] };
}

export async function runRolloutAnalysis(run: AnalysisRun): Promise<AnalysisOutcome> {
  const metrics = run.ref.templates.flatMap((name) => {
    const template = run.templates[name]!;
    return template.metrics.map((metric) => ({ plan: metricPlan(metric), args: analysisArgs(template, run.ref.args, run.builtIn) }));
  });
  run.view.metrics = metrics.map(({ plan }) => ({ name: plan.name, phase: 'running', reason: 'no measurement yet', measurements: [] }));
  run.changed();
  const verdicts: { metric: string; verdict: MetricVerdict; values: number[][] }[] = [];
  let decided = false;
  const over = () => decided || run.stop();

  async function measureUntilDone(plan: MetricPlan, args: Record<string, string>, index: number): Promise<void> {
    const metricView = run.view.metrics[index]!;
    const taken: Measurement[] = [];
    const prometheus = summarizedActivities<Activities>({
      // Queries time out on their own (plan.timeoutMs); this bounds a worker that died mid-call.
      startToCloseTimeout: plan.timeoutMs + 30_000,
      retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
    });
    if (plan.initialDelayMs > 0) await condition(over, plan.initialDelayMs, { summary: `initial delay before measuring ${plan.name}` });
    while (!over()) {
      const measurement = await prometheus.measureMetric({ address: run.address, plan, args });
      taken.push(measurement);
      const verdict = assessMetric(plan.limits, taken);
      metricView.measurements.push({ at: new Date().toISOString(), ...measurement });
      metricView.phase = verdict.phase;
      metricView.reason = verdict.reason;
      run.changed();
      if (verdict.done) {
        verdicts.push({ metric: plan.name, verdict, values: taken.map((m) => m.values) });
        if (verdict.phase !== 'successful') decided = true;
        return;
      }
      await condition(over, plan.intervalMs, { summary: `next measurement of ${plan.name}` });
    }
  }

  await Promise.all(metrics.map(({ plan, args }, i) => measureUntilDone(plan, args, i)));
  // Metrics stopped before their verdict (background run no longer needed) count as running.
  const outcome = assessAnalysis(verdicts);
  const stopped = outcome.phase === 'successful' && verdicts.length < metrics.length;
  run.view.phase = stopped ? 'running' : outcome.phase;
  run.view.reason = stopped ? `stopped before every metric finished; ${outcome.reason}` : outcome.reason;
  run.changed();
  const deciding = verdicts.find((v) => v.metric === outcome.metric);
  return { phase: stopped ? 'running' : outcome.phase, reason: outcome.reason, metric: outcome.metric, values: deciding?.values };
}
