// deployRelease's post-deploy verification: the analysis its input names, run after the health
// gate on the release now serving, so a version that answers /health but fails real requests is
// caught. Anything but a success fails the step and the saga puts the previous images back: a
// plain deploy has no human gate, so an inconclusive analysis (no data) is not a pass either.
import { analysisArgs, metricPlan } from '../../rollouts/analysis/metric-rules';
import type { Measurement } from '../../rollouts/analysis/measurement';
import { imageTag, type DeployRelease } from '../../specs/deploy-release';
import { failure, STEP_FAILURE } from '../shared/failures';
import { runAnalysis, type MetricToRun } from '../shared/run-analysis';
import type { StatusTracker } from '../shared/status';

/** When several tags are deployed (no query may then ask for the version: the input refuses it). */
const SEVERAL = 'several';

export async function verifyRelease(release: DeployRelease, replaced: string[], status: StatusTracker): Promise<void> {
  const analysis = release.analysis!;
  const tags = [...new Set(Object.values(release.images).map(imageTag))];
  const builtIn = {
    environment: release.environment,
    'canary-version': tags.length === 1 ? tags[0]! : SEVERAL,
    // Not for queries (the input refuses it: nothing runs it any more), only to complete the args.
    'stable-version': replaced.length === 1 ? replaced[0]! : SEVERAL,
  };
  const metrics: MetricToRun[] = Object.values(analysis.templates).flatMap((template) =>
    template.metrics.map((metric) => ({ plan: metricPlan(metric), args: analysisArgs(template, analysis.args, builtIn) })),
  );
  const outcome = await runAnalysis(analysis.prometheus.address, metrics, {
    onMeasurement: (metric, measurement, verdict) =>
      status.recordResource({
        kind: 'measurement',
        id: `${metric} #${verdict.tally.measured} ${measurement.phase}: ${measurement.message}`,
      }),
  });
  if (outcome.phase === 'successful') {
    status.recordResource({ kind: 'analysis', id: `passed: ${outcome.reason}` });
    return;
  }
  const values = valuesOf(outcome.measurements[outcome.metric!] ?? []);
  const why =
    outcome.phase === 'failed'
      ? 'failed'
      : outcome.phase === 'error'
        ? 'could not measure'
        : 'was inconclusive (a plain deploy has no one to wait for, so it does not pass)';
  throw failure(STEP_FAILURE.AnalysisFailed, `analysis ${why}: ${outcome.reason} (values measured: ${values})`, {
    details: [{ phase: outcome.phase, metric: outcome.metric, reason: outcome.reason, measurements: outcome.measurements }],
  });
}

function valuesOf(measurements: Measurement[]): string {
  const show = (v: number) => String(Number(v.toPrecision(4)));
  return measurements.map((m) => (m.values.length === 0 ? 'none' : m.values.map(show).join(' and '))).join(', ');
}
