// A rollout's analysis run (inline at a step, or in the background from a step on): its templates'
// metrics measured by the shared runAnalysis (one activity per measurement, a workflow timer
// between them, so a worker killed mid-analysis resumes at the same measurement), each measurement
// and verdict put into the rollout's status view as it comes. It stops early when one metric
// decides against the canary, when the rollout aborts, or (background) when it is no longer needed.
import { analysisArgs, metricPlan, type BuiltInArgs } from '../../rollouts/analysis/metric-rules';
import type { MetricPhase } from '../../rollouts/analysis/verdict';
import { runAnalysis, type MetricToRun } from '../shared/run-analysis';
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
  const metrics: MetricToRun[] = run.ref.templates.flatMap((name) => {
    const template = run.templates[name]!;
    return template.metrics.map((metric) => ({ plan: metricPlan(metric), args: analysisArgs(template, run.ref.args, run.builtIn) }));
  });
  run.view.metrics = metrics.map(({ plan }) => ({ name: plan.name, phase: 'running', reason: 'no measurement yet', measurements: [] }));
  run.changed();
  const outcome = await runAnalysis(run.address, metrics, {
    stop: run.stop,
    onMeasurement: (metric, measurement, verdict) => {
      const view = run.view.metrics.find((m) => m.name === metric)!;
      view.measurements.push({ at: new Date().toISOString(), ...measurement });
      view.phase = verdict.phase;
      view.reason = verdict.reason;
      run.changed();
    },
  });
  // Stopped before every metric's verdict (the rollout no longer needs it): phase running, not a verdict.
  run.view.phase = outcome.phase;
  run.view.reason = outcome.reason;
  run.changed();
  const values = outcome.metric ? outcome.measurements[outcome.metric]?.map((m) => m.values) : undefined;
  return { phase: outcome.phase, reason: outcome.reason, metric: outcome.metric, values };
}
