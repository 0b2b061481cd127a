// One measurement of a spec's metric, as an activity takes it: the queries rendered with the
// rollout's args, asked at one instant (so canary and stable are compared at the same moment),
// and judged. The workflow records the Measurement and counts it with assessMetric.
import { judgeComparison, judgeMeasurement, type Measurement } from '../../rollouts/analysis/measurement';
import type { MetricPlan } from '../../rollouts/analysis/metric-rules';
import { renderQuery } from '../../rollouts/analysis/query-args';
import { observe } from './observe';

export async function measureMetric(
  address: string,
  plan: MetricPlan,
  args: Readonly<Record<string, string>>,
  at: Date = new Date(),
): Promise<Measurement> {
  const options = { timeoutMs: plan.timeoutMs, time: at };
  if (plan.rule.kind === 'condition')
    return judgeMeasurement(plan.rule.rule, await observe(address, renderQuery(plan.rule.query, args), options));
  const [canary, stable] = await Promise.all([
    observe(address, renderQuery(plan.rule.canary, args), options),
    observe(address, renderQuery(plan.rule.stable, args), options),
  ]);
  return judgeComparison(plan.rule.rule, canary, stable);
}
