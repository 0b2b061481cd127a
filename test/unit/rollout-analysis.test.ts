// Issue 14, item 2: a series of measurements becomes a verdict by Argo Rollouts' counting rules
// (failureLimit, inconclusiveLimit, consecutiveErrorLimit, count), and no data is never a pass.
import { parseCondition } from '../../src/rollouts/analysis/condition';
import {
  judgeComparison,
  judgeMeasurement,
  type ConditionRule,
  type Measurement,
  type Observation,
} from '../../src/rollouts/analysis/measurement';
import { assessAnalysis, assessMetric, type CountingLimits } from '../../src/rollouts/analysis/verdict';

const both: ConditionRule = {
  successCondition: parseCondition('result < 0.01'),
  failureCondition: parseCondition('result >= 0.05'),
  noData: 'inconclusive',
};
const successOnly: ConditionRule = { successCondition: parseCondition('result[0] <= 0.3'), noData: 'inconclusive' };
const failureOnly: ConditionRule = { failureCondition: parseCondition('result > 0.1'), noData: 'fail' };

const m = (phase: Measurement['phase']): Measurement => ({ phase, values: [], message: phase });
const run = (limits: CountingLimits, phases: Measurement['phase'][]) => assessMetric(limits, phases.map(m));
const limits = (over: Partial<CountingLimits> = {}): CountingLimits => ({
  count: 5,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  ...over,
});

describe('one measurement', () => {
  test.each<[ConditionRule, Observation, Measurement['phase']]>([
    [both, { values: [0.005] }, 'successful'],
    [both, { values: [0.06] }, 'failed'],
    [both, { values: [0.02] }, 'inconclusive'], // meets neither
    [successOnly, { values: [0.3] }, 'successful'],
    [successOnly, { values: [0.31] }, 'failed'],
    [failureOnly, { values: [0.1] }, 'successful'],
    [failureOnly, { values: [0.2] }, 'failed'],
    [both, { values: [] }, 'inconclusive'], // no series
    [both, { values: [NaN] }, 'inconclusive'], // 0/0: no traffic
    [failureOnly, { values: [] }, 'failed'], // noData: fail
    [both, { error: 'PrometheusTimeoutError: no answer' }, 'error'],
    [both, { values: [0.001, 0.002] }, 'error'], // `result` with two series
    [successOnly, { values: [0.1, 0.9] }, 'successful'], // result[0]
  ])('%#: %j -> %s', (rule, observation, phase) => {
    expect(judgeMeasurement(rule, observation).phase).toBe(phase);
  });

  test('its message says the value and the condition', () => {
    expect(judgeMeasurement(both, { values: [0.06] }).message).toBe('0.06 meets the failure condition result >= 0.05');
    expect(judgeMeasurement(both, { values: [0.001, 0.002] }).message).toContain('the query returned 2 series; name one as result[0]');
  });
});

describe('canary against stable (Kayenta)', () => {
  const relative = { better: 'lower' as const, margin: { relative: 0.2 }, noData: 'inconclusive' as const };
  const absolute = { better: 'lower' as const, margin: { absolute: 0.01 }, noData: 'inconclusive' as const };
  test('relative and absolute margins, lower is better', () => {
    expect(judgeComparison(relative, { values: [0.12] }, { values: [0.1] }).phase).toBe('successful');
    expect(judgeComparison(relative, { values: [0.121] }, { values: [0.1] }).phase).toBe('failed');
    expect(judgeComparison(absolute, { values: [0.015] }, { values: [0.01] }).phase).toBe('successful');
    expect(judgeComparison(absolute, { values: [0.025] }, { values: [0.01] })).toEqual({
      phase: 'failed',
      values: [0.025, 0.01],
      message: 'canary 0.025 is worse than stable 0.01 by 0.015, more than the margin (0.01)',
    });
  });
  test('higher is better', () => {
    const rule = { better: 'higher' as const, margin: { relative: 0.1 }, noData: 'inconclusive' as const };
    expect(judgeComparison(rule, { values: [95] }, { values: [100] }).phase).toBe('successful');
    expect(judgeComparison(rule, { values: [89] }, { values: [100] }).phase).toBe('failed');
  });
  test('no data on either side is inconclusive; an error or several series is an error', () => {
    expect(judgeComparison(relative, { values: [NaN] }, { values: [0.1] }).phase).toBe('inconclusive');
    expect(judgeComparison(relative, { values: [0.1] }, { values: [] }).message).toContain('the stable query returned no data');
    expect(judgeComparison(relative, { error: 'down' }, { values: [0.1] })).toMatchObject({
      phase: 'error',
      message: 'canary query: down',
    });
    expect(judgeComparison(relative, { values: [1, 2] }, { values: [0.1] }).phase).toBe('error');
  });
});

describe('counting rules', () => {
  test('running until count, then successful', () => {
    expect(run(limits(), ['successful', 'successful']).phase).toBe('running');
    expect(run(limits(), ['successful', 'successful', 'successful', 'successful', 'successful'])).toMatchObject({
      phase: 'successful',
      done: true,
    });
  });
  test('failureLimit: failures up to the limit are tolerated, one more fails at once', () => {
    expect(run(limits({ failureLimit: 1 }), ['failed', 'successful']).phase).toBe('running');
    expect(run(limits({ failureLimit: 1 }), ['failed', 'successful', 'successful', 'successful', 'successful']).phase).toBe('successful');
    const failed = run(limits({ failureLimit: 1 }), ['failed', 'successful', 'failed']);
    expect(failed).toMatchObject({ phase: 'failed', done: true, reason: '2 failed measurements, more than failureLimit 1; last: failed' });
    expect(run(limits(), ['failed']).phase).toBe('failed'); // default 0
  });
  test('inconclusiveLimit: one more than the limit is inconclusive (pause for a human)', () => {
    expect(run(limits({ inconclusiveLimit: 1 }), ['inconclusive', 'successful']).phase).toBe('running');
    expect(run(limits({ inconclusiveLimit: 1 }), ['inconclusive', 'successful', 'inconclusive']).phase).toBe('inconclusive');
  });
  test('consecutiveErrorLimit counts errors in a row only', () => {
    expect(run(limits({ count: 20, consecutiveErrorLimit: 2 }), ['error', 'error', 'successful', 'error', 'error']).phase).toBe('running');
    expect(run(limits({ count: 20, consecutiveErrorLimit: 2 }), ['error', 'error', 'successful', 'error', 'error', 'error'])).toMatchObject(
      { phase: 'error', tally: { error: 5, consecutiveErrors: 3 } },
    );
  });
  test('a failure beyond the limit wins over errors and inconclusive results', () => {
    expect(run(limits({ consecutiveErrorLimit: 0, inconclusiveLimit: 0 }), ['inconclusive', 'error', 'failed']).phase).toBe('failed');
  });
  test('count reached without one success is inconclusive, never a silent pass (Argo would pass)', () => {
    expect(run(limits({ count: 3, consecutiveErrorLimit: 4 }), ['error', 'error', 'error'])).toMatchObject({
      phase: 'inconclusive',
      reason: '3 measurements taken and none succeeded; last: error',
    });
  });
  test('no count (background analysis) runs until stopped', () => {
    const background = { failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4 };
    expect(run(background, Array(50).fill('successful')).phase).toBe('running');
    expect(run(background, [...Array(50).fill('successful'), 'failed']).phase).toBe('failed');
  });
});

test('an analysis is as bad as its worst metric', () => {
  const v = (phases: Measurement['phase'][], l = limits()) => assessMetric(l, phases.map(m));
  expect(
    assessAnalysis([
      { metric: 'a', verdict: v(Array(5).fill('successful')) },
      { metric: 'b', verdict: v(['successful']) },
    ]).phase,
  ).toBe('running');
  expect(
    assessAnalysis([
      { metric: 'a', verdict: v(['inconclusive']) },
      { metric: 'b', verdict: v(['failed']) },
    ]),
  ).toMatchObject({ phase: 'failed', metric: 'b' });
  expect(
    assessAnalysis([
      { metric: 'a', verdict: v(['inconclusive']) },
      { metric: 'b', verdict: v(['successful']) },
    ]),
  ).toMatchObject({ phase: 'inconclusive', metric: 'a' });
  expect(assessAnalysis([{ metric: 'a', verdict: v(Array(5).fill('successful')) }]).phase).toBe('successful');
});
