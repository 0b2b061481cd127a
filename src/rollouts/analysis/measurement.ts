// One measurement's phase, from what a query returned: Argo Rollouts' rules, except that an empty
// or NaN result (no traffic, no series) is never a pass: it is inconclusive, or failed if the
// metric says so. Pure: the workflow judges what the query activity returned.
import { ConditionInputError, conditionHolds, type Condition } from './condition';

export type MeasurementPhase = 'successful' | 'failed' | 'inconclusive' | 'error';

export interface Measurement {
  phase: MeasurementPhase;
  /** One value per series the query returned (canary first, then stable, for a comparison). */
  values: number[];
  /** Why this phase, in words a status can show. */
  message: string;
}

/** What a query returned: values by series, or why it could not be read. */
export type Observation = { values: number[] } | { error: string };

/** What to do with a result that holds no number: wait for a human, or count it as failed. */
export type NoDataPolicy = 'inconclusive' | 'fail';

export interface ConditionRule {
  successCondition?: Condition;
  failureCondition?: Condition;
  noData: NoDataPolicy;
}

export interface ComparisonRule {
  /** Whether a lower canary value is better (error ratio, latency) or a higher one (throughput). */
  better: 'lower' | 'higher';
  /** How far the canary may be worse than the stable version: a fraction of its value, or an amount. */
  margin: { relative: number } | { absolute: number };
  noData: NoDataPolicy;
}

const show = (values: readonly number[]) => (values.length === 1 ? String(values[0]) : `[${values.join(', ')}]`);

function noData(policy: NoDataPolicy, what: string): Measurement {
  return {
    phase: policy === 'fail' ? 'failed' : 'inconclusive',
    values: [],
    message: `${what} returned no data (no series, or NaN: no traffic?)`,
  };
}

const hasNoData = (values: readonly number[]) => values.length === 0 || values.some((v) => Number.isNaN(v));

/**
 * Argo's rules: the failure condition met fails; else the success condition met succeeds; with both
 * given and neither met, inconclusive; with only one given, not meeting it is the opposite verdict.
 */
export function judgeMeasurement(rule: ConditionRule, observation: Observation): Measurement {
  if ('error' in observation) return { phase: 'error', values: [], message: observation.error };
  const { values } = observation;
  if (hasNoData(values)) return noData(rule.noData, 'the query');
  try {
    if (rule.failureCondition && conditionHolds(rule.failureCondition, values))
      return { phase: 'failed', values, message: `${show(values)} meets the failure condition ${rule.failureCondition.text}` };
    if (rule.successCondition) {
      if (conditionHolds(rule.successCondition, values))
        return { phase: 'successful', values, message: `${show(values)} meets ${rule.successCondition.text}` };
      if (rule.failureCondition)
        return {
          phase: 'inconclusive',
          values,
          message: `${show(values)} meets neither ${rule.successCondition.text} nor ${rule.failureCondition.text}`,
        };
      return { phase: 'failed', values, message: `${show(values)} does not meet ${rule.successCondition.text}` };
    }
    if (rule.failureCondition)
      return { phase: 'successful', values, message: `${show(values)} does not meet the failure condition ${rule.failureCondition.text}` };
  } catch (err) {
    if (err instanceof ConditionInputError) return { phase: 'error', values, message: err.message };
    throw err;
  }
  throw new Error('a metric needs a successCondition or a failureCondition (the spec checks this)');
}

/**
 * Kayenta's idea, for one metric measured on both versions at the same time: the canary passes
 * while it is no worse than the stable version by more than the margin. Each query must return one
 * series (sum it by nothing in PromQL); no data on either side follows the no-data policy.
 */
export function judgeComparison(rule: ComparisonRule, canary: Observation, stable: Observation): Measurement {
  if ('error' in canary) return { phase: 'error', values: [], message: `canary query: ${canary.error}` };
  if ('error' in stable) return { phase: 'error', values: [], message: `stable query: ${stable.error}` };
  if (hasNoData(canary.values)) return noData(rule.noData, 'the canary query');
  if (hasNoData(stable.values)) return noData(rule.noData, 'the stable query');
  for (const [side, obs] of [
    ['canary', canary],
    ['stable', stable],
  ] as const) {
    if (obs.values.length !== 1)
      return {
        phase: 'error',
        values: [],
        message: `the ${side} query returned ${obs.values.length} series; a comparison needs exactly one (aggregate it, e.g. sum(...))`,
      };
  }
  const c = canary.values[0]!;
  const s = stable.values[0]!;
  const allowance = 'relative' in rule.margin ? Math.abs(s) * rule.margin.relative : rule.margin.absolute;
  const worseBy = rule.better === 'lower' ? c - s : s - c;
  const marginText = 'relative' in rule.margin ? `${rule.margin.relative * 100}% of stable` : `${rule.margin.absolute}`;
  const values = [c, s];
  if (worseBy > allowance)
    return {
      phase: 'failed',
      values,
      message: `canary ${c} is worse than stable ${s} by ${Number(worseBy.toPrecision(6))}, more than the margin (${marginText})`,
    };
  return { phase: 'successful', values, message: `canary ${c} is within the margin (${marginText}) of stable ${s}` };
}
