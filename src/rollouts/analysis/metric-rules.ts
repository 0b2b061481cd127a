// A spec's metric turned into what the pure judges take: its rule for one measurement, its counting
// limits, and its timing. The rollout workflow calls this once per metric it starts measuring.
import { durationMs, type AnalysisMetric, type AnalysisTemplate } from '../../specs/rollout';
import { parseCondition } from './condition';
import type { ComparisonRule, ConditionRule } from './measurement';
import type { CountingLimits } from './verdict';

export interface MetricPlan {
  name: string;
  rule:
    | { kind: 'condition'; query: string; rule: ConditionRule }
    | { kind: 'comparison'; canary: string; stable: string; rule: ComparisonRule };
  limits: CountingLimits;
  initialDelayMs: number;
  /** Time between measurements (0: measured once). */
  intervalMs: number;
  timeoutMs: number;
}

export function metricPlan(metric: AnalysisMetric): MetricPlan {
  const intervalMs = metric.interval ? durationMs(metric.interval) : 0;
  // Argo: no interval means one measurement; an interval without count measures until stopped.
  const count = metric.count ?? (intervalMs ? undefined : 1);
  const limits: CountingLimits = {
    failureLimit: metric.failureLimit,
    inconclusiveLimit: metric.inconclusiveLimit,
    consecutiveErrorLimit: metric.consecutiveErrorLimit,
  };
  if (count !== undefined) limits.count = count;
  const rule: MetricPlan['rule'] = metric.compare
    ? {
        kind: 'comparison',
        canary: metric.compare.canary,
        stable: metric.compare.stable,
        rule: {
          better: metric.compare.better,
          margin:
            metric.compare.margin.relative !== undefined
              ? { relative: metric.compare.margin.relative }
              : { absolute: metric.compare.margin.absolute! },
          noData: metric.noData,
        },
      }
    : {
        kind: 'condition',
        query: metric.query!,
        rule: {
          noData: metric.noData,
          ...(metric.successCondition ? { successCondition: parseCondition(metric.successCondition) } : {}),
          ...(metric.failureCondition ? { failureCondition: parseCondition(metric.failureCondition) } : {}),
        },
      };
  return {
    name: metric.name,
    rule,
    limits,
    initialDelayMs: durationMs(metric.initialDelay),
    intervalMs,
    timeoutMs: durationMs(metric.timeout),
  };
}

/** What the rollout itself knows and every analysis may use (BUILT_IN_ARGS in the spec). */
export interface BuiltInArgs {
  'canary-version': string;
  'stable-version': string;
  environment: string;
}

/**
 * The args a template's queries are rendered with: the template's defaults, then what the step's
 * reference gives, then the rollout's own (built in last, so a reference cannot fake a version).
 */
export function analysisArgs(
  template: AnalysisTemplate,
  given: Readonly<Record<string, string>>,
  builtIn: BuiltInArgs,
): Record<string, string> {
  const args: Record<string, string> = {};
  for (const arg of template.args) if (arg.value !== undefined) args[arg.name] = arg.value;
  for (const arg of template.args) if (given[arg.name] !== undefined) args[arg.name] = given[arg.name]!;
  return { ...args, ...builtIn };
}
