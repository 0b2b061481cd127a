// A metric's verdict from its measurements so far, with Argo Rollouts' counting rules: more failed
// measurements than failureLimit fails it, more inconclusive than inconclusiveLimit makes it
// inconclusive (the rollout pauses for a human), more consecutive errors than
// consecutiveErrorLimit makes it an error; it succeeds once `count` measurements are taken. Unlike
// Argo, a metric whose measurements include no success at all never succeeds: reaching `count`
// with only errors or inconclusive results is inconclusive (never a silent pass).
import type { Measurement } from './measurement';

export type MetricPhase = 'running' | 'successful' | 'failed' | 'inconclusive' | 'error';

export interface CountingLimits {
  /** Measurements to take; absent: until the rollout stops the analysis (background analysis). */
  count?: number;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
}

export interface MetricTally {
  measured: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveErrors: number;
}

export interface MetricVerdict {
  phase: MetricPhase;
  /** True when no further measurement is needed: any phase but running. */
  done: boolean;
  tally: MetricTally;
  /** The reason, naming the limit and the last measurement's own message. */
  reason: string;
}

export function tally(measurements: readonly Measurement[]): MetricTally {
  const t: MetricTally = { measured: 0, successful: 0, failed: 0, inconclusive: 0, error: 0, consecutiveErrors: 0 };
  for (const m of measurements) {
    t.measured++;
    t[m.phase]++;
    t.consecutiveErrors = m.phase === 'error' ? t.consecutiveErrors + 1 : 0;
  }
  return t;
}

export function assessMetric(limits: CountingLimits, measurements: readonly Measurement[]): MetricVerdict {
  const t = tally(measurements);
  const last = measurements[measurements.length - 1];
  const lastSaid = last ? `; last: ${last.message}` : '';
  const verdict = (phase: MetricPhase, reason: string): MetricVerdict => ({ phase, done: phase !== 'running', tally: t, reason });
  if (t.failed > limits.failureLimit)
    return verdict(
      'failed',
      `${t.failed} failed measurement${t.failed === 1 ? '' : 's'}, more than failureLimit ${limits.failureLimit}${lastSaid}`,
    );
  if (t.consecutiveErrors > limits.consecutiveErrorLimit)
    return verdict(
      'error',
      `${t.consecutiveErrors} errors in a row, more than consecutiveErrorLimit ${limits.consecutiveErrorLimit}${lastSaid}`,
    );
  if (t.inconclusive > limits.inconclusiveLimit)
    return verdict(
      'inconclusive',
      `${t.inconclusive} inconclusive measurement${t.inconclusive === 1 ? '' : 's'}, more than inconclusiveLimit ${limits.inconclusiveLimit}${lastSaid}`,
    );
  if (limits.count !== undefined && t.measured >= limits.count) {
    if (t.successful === 0)
      return verdict('inconclusive', `${t.measured} measurement${t.measured === 1 ? '' : 's'} taken and none succeeded${lastSaid}`);
    return verdict('successful', `${t.successful} of ${t.measured} measurements succeeded`);
  }
  return verdict('running', `${t.measured} of ${limits.count ?? 'unbounded'} measurements taken${lastSaid}`);
}

// Worst first: a failure aborts, an error aborts naming the provider, inconclusive waits for a human.
const SEVERITY: MetricPhase[] = ['failed', 'error', 'inconclusive', 'running', 'successful'];

/** An analysis's phase from its metrics' verdicts: the worst of them (no metric: successful). */
export function assessAnalysis(verdicts: readonly { metric: string; verdict: MetricVerdict }[]): {
  phase: MetricPhase;
  metric?: string;
  reason: string;
} {
  for (const phase of SEVERITY) {
    const hit = verdicts.find((v) => v.verdict.phase === phase);
    if (hit && phase !== 'successful') return { phase, metric: hit.metric, reason: `${hit.metric}: ${hit.verdict.reason}` };
  }
  return { phase: 'successful', reason: verdicts.length ? `all ${verdicts.length} metrics succeeded` : 'no metrics' };
}
