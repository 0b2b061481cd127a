// An analysis run inside a workflow: its metrics measured side by side, each as Argo Rollouts does
// it (initialDelay, then one measurement every interval until its verdict is in), one activity per
// measurement and a durable timer between them, so a worker restart resumes the count where it was.
// The first metric that fails, errs or turns inconclusive stops the others at once: the verdict is
// known, and waiting out their intervals would only delay the rollback.
import { condition } from '@temporalio/workflow';
import { summarizedActivities } from './summarized-activities';
import type { Activities } from '../../activities';
import type { Measurement } from '../../rollouts/analysis/measurement';
import type { MetricPlan } from '../../rollouts/analysis/metric-rules';
import { assessAnalysis, assessMetric, tally, type MetricPhase, type MetricVerdict } from '../../rollouts/analysis/verdict';

export interface MetricToRun {
  plan: MetricPlan;
  /** The args its queries are rendered with (see analysisArgs). */
  args: Record<string, string>;
}

export interface AnalysisOutcome {
  phase: MetricPhase;
  /** The metric that decided, when it was not a success. */
  metric?: string;
  reason: string;
  measurements: Record<string, Measurement[]>;
}

export interface AnalysisHooks {
  /** Told after each measurement, for a status query. */
  onMeasurement?: (metric: string, measurement: Measurement, verdict: MetricVerdict) => void;
  /** True when the caller wants no more measurements (a rollout aborting, or done with a background run). */
  stop?: () => boolean;
}

export async function runAnalysis(address: string, metrics: MetricToRun[], hooks: AnalysisHooks = {}): Promise<AnalysisOutcome> {
  const measurements: Record<string, Measurement[]> = {};
  const verdicts: { metric: string; verdict: MetricVerdict }[] = [];
  let decided = false;
  const over = () => decided || (hooks.stop?.() ?? false);

  async function measureUntilDone({ plan, args }: MetricToRun): Promise<void> {
    const taken: Measurement[] = (measurements[plan.name] = []);
    const prometheus = summarizedActivities<Activities>({
      // Queries time out on their own (plan.timeoutMs); this bounds a worker that died mid-call.
      startToCloseTimeout: plan.timeoutMs + 30_000,
      retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
    });
    if (plan.initialDelayMs > 0) await condition(over, plan.initialDelayMs, { summary: `initial delay before measuring ${plan.name}` });
    while (!over()) {
      const measurement = await prometheus.measureMetric({ address, plan, args });
      taken.push(measurement);
      const verdict = assessMetric(plan.limits, taken);
      hooks.onMeasurement?.(plan.name, measurement, verdict);
      if (verdict.done) {
        verdicts.push({ metric: plan.name, verdict });
        if (verdict.phase !== 'successful') decided = true;
        return;
      }
      await condition(over, plan.intervalMs, { summary: `next measurement of ${plan.name}` });
    }
  }

  await Promise.all(metrics.map(measureUntilDone));
  // A metric stopped before its verdict counts as still running, never as a success (the worst verdict decides).
  const outcome = assessAnalysis([...verdicts, ...unfinished(metrics, verdicts)]);
  return { ...outcome, measurements };
}

function unfinished(metrics: MetricToRun[], verdicts: { metric: string }[]): { metric: string; verdict: MetricVerdict }[] {
  return metrics
    .filter(({ plan }) => !verdicts.some((v) => v.metric === plan.name))
    .map(({ plan }) => ({
      metric: plan.name,
      verdict: { phase: 'running', done: false, reason: 'stopped before its verdict', tally: tally([]) },
    }));
}
