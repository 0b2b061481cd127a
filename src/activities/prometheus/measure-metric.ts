// Prometheus for workflows: one activity call is one measurement of one metric (the queries
// rendered with the run's args, asked at one instant, judged). Prometheus being down or refusing
// the query is a measurement of phase `error`, counted by the workflow against
// consecutiveErrorLimit, never an activity failure that Temporal would retry behind its back.
import { measureMetric as measure } from '../../integrations/prometheus/measure';
import type { Measurement } from '../../rollouts/analysis/measurement';
import type { MetricPlan } from '../../rollouts/analysis/metric-rules';

export interface MeasureMetricInput {
  /** The Prometheus HTTP API, such as http://10.10.0.5:9090. */
  address: string;
  plan: MetricPlan;
  args: Record<string, string>;
}

export function createPrometheusActivities() {
  return {
    async measureMetric(input: MeasureMetricInput): Promise<Measurement> {
      try {
        return await measure(input.address, input.plan, input.args);
      } catch (err) {
        // A query the args cannot fill in: an error measurement naming it, as a bad query would be.
        return { phase: 'error', values: [], message: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
