// Issue 14, item 1: the rollout spec. The three examples parse; each mistake is named at its field;
// conditions are parsed by a grammar, never evaluated as code; `opsflow schema rollout` exists.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import Ajv from 'ajv';
import { SpecError } from '../../src/specs/common';
import { durationMs, parseRolloutSpec, rolloutJsonSchema } from '../../src/specs/rollout';
import { loadRolloutSpec } from '../../src/specs/load-rollout';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp';
import { ConditionSyntaxError, parseCondition } from '../../src/rollouts/analysis/condition';
import { analysisArgs, metricPlan } from '../../src/rollouts/analysis/metric-rules';
import { renderQuery } from '../../src/rollouts/analysis/query-args';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const example = (stack: string) =>
  parse(readFileSync(path.join(EXAMPLES, `rollout-stack-${stack}.yaml`), 'utf8')) as Record<string, unknown>;

function problems(input: unknown): string[] {
  try {
    parseRolloutSpec(input);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('the spec was accepted');
}

const minimal = () => ({
  environment: 'stack-c',
  fleet: { port: 8080 },
  prometheus: { address: 'http://127.0.0.1:9090' },
  traffic: { nginx: { upstream: 'backend', frontHost: 'front' } },
  canary: { steps: [{ setWeight: 10 }, { analysis: { templates: ['errors'] } }, { pause: {} }, { setWeight: 100 }] },
  analysisTemplates: { errors: { metrics: [{ name: 'error-ratio', query: 'sum(x)', successCondition: 'result < 0.05' }] } },
});

describe('the examples', () => {
  test.each(['b', 'c', 'e'])('stack %s parses, with Argo defaults filled in', (stack) => {
    const spec = parseRolloutSpec(example(stack));
    expect(spec.environment).toMatch(/^stack-/);
    for (const template of Object.values(spec.analysisTemplates))
      for (const metric of template.metrics) expect(metric.noData).toMatch(/^(inconclusive|fail)$/);
  });

  test('stack b: canary with background analysis and Argo defaults', () => {
    const spec = parseRolloutSpec(example('b'));
    expect(spec.canary!.steps.map((s) => s.setWeight).filter((w) => w !== undefined)).toEqual([10, 25, 50, 100]);
    expect(spec.canary!.analysis).toEqual({ templates: ['error-ratio'], args: {}, startingStep: 0 });
    const latency = spec.analysisTemplates.latency!.metrics[0]!;
    expect([latency.inconclusiveLimit, latency.consecutiveErrorLimit, latency.initialDelay, latency.noData]).toEqual([
      0,
      4,
      '0s',
      'inconclusive',
    ]);
  });

  test('stack c: blue-green on its one droplet, with a preview droplet created for the rollout', () => {
    const spec = parseRolloutSpec(example('c'));
    expect(spec.fleet).toEqual({ instances: ['web'], port: 3001 });
    expect(spec.traffic.nginx).toMatchObject({ upstream: 'backend', frontHost: 'web' });
    expect(spec.blueGreen).toMatchObject({
      previewFleet: { create: 1, drain: '10s' },
      autoPromotion: { enabled: false },
      scaleDownDelay: '10m',
    });
    const plan = metricPlan(spec.analysisTemplates.errors!.metrics[0]!);
    expect(plan.limits).toEqual({ count: 5, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4 });
    expect(plan.intervalMs).toBe(60_000);
  });

  test('stack e: membership traffic and a pause that escalates', () => {
    const spec = parseRolloutSpec(example('e'));
    expect(spec.traffic).toEqual({ loadBalancerMembership: { loadBalancer: 'stack-e-fra1-web', drain: '15s' } });
    expect(spec.canary!.steps[2]).toEqual({ pause: { escalateAfter: '4h', onEscalation: 'keep-waiting' } });
    expect(spec.canary!.steps[1]!.analysis!.args).toEqual({ route: 'checkout' });
  });
});

describe('mistakes are named at their field', () => {
  test('a misspelt step field, and a step with two kinds', () => {
    const spec = minimal();
    (spec.canary.steps as unknown[]).push({ setWieght: 20 }, { setWeight: 20, pause: {} });
    const found = problems(spec);
    expect(found).toContain('canary.steps.4: unknown field "setWieght"; did you mean "setWeight"?');
    expect(found).toContain('canary.steps.5: a step is exactly one of setWeight, pause or analysis');
  });

  test.each([1.5, 'abc', '150%', true])('maxSurge %j', (maxSurge) => {
    const spec = minimal();
    Object.assign(spec.canary, { maxSurge });
    expect(problems(spec)).toEqual(['canary.maxSurge: must be a whole number of hosts (0-1000) or a percentage such as 25%']);
  });

  test('the fleet: its port, its instances listed once, and the nginx front host', () => {
    const { fleet: _fleet, ...noFleet } = minimal();
    expect(problems(noFleet)).toContain('fleet: is required (a mapping of fields)');
    const spec = { ...minimal(), fleet: { port: 0, instances: ['app-1', 'app-1'] }, traffic: { nginx: { upstream: 'backend' } } };
    expect(problems(spec)).toEqual([
      'fleet.port: must be the port the application answers on, 1-65535',
      'traffic.nginx.frontHost: is required (a string)',
      'fleet.instances.1: app-1 is listed twice',
    ]);
  });

  test('both strategies, or neither', () => {
    expect(problems({ ...minimal(), blueGreen: {} })).toContain('canary: give exactly one strategy: canary or blueGreen');
    const { canary: _canary, ...none } = minimal();
    expect(problems(none)).toContain('canary: give exactly one strategy: canary or blueGreen');
  });

  test('a weight out of range, a bad duration, a bad count', () => {
    const spec = minimal();
    spec.canary.steps[0] = { setWeight: 120 };
    spec.canary.steps[2] = { pause: { duration: '5 minutes' } } as never;
    (spec.canary.steps as unknown[]).push({ pause: { duration: '5m', escalateAfter: '1h' } });
    Object.assign(spec.analysisTemplates.errors.metrics[0]!, { count: 3 });
    const found = problems(spec);
    expect(found).toContain('canary.steps.0.setWeight: must be at most 100, got 120');
    expect(found).toContain('canary.steps.2.pause.duration: must be a duration such as 30s, 5m or 1h');
    expect(found).toContain(
      'canary.steps.4.pause.escalateAfter: escalateAfter is for a pause that waits for a human; a pause with a duration ends by itself',
    );
    expect(found).toContain('analysisTemplates.errors.metrics.0.interval: is required when count is more than 1 (got count 3)');
  });

  test('an unknown template, a missing arg, an undeclared placeholder, no prometheus', () => {
    const { prometheus: _prometheus, ...spec } = minimal();
    spec.canary.steps[1] = { analysis: { templates: ['errros'] } };
    (spec.canary as Record<string, unknown>).analysis = { templates: ['errors'], args: { colour: 'red' } };
    spec.analysisTemplates.errors.metrics[0]!.query = 'sum(x{job="{{args.job}}"})';
    const found = problems(spec);
    expect(found).toContain(
      'canary.steps.1.analysis.templates.0: names "errros", which analysisTemplates does not define (defined: errors)',
    );
    expect(found).toContain('canary.analysis.args.colour: is not an arg of errors');
    expect(found).toContain(
      "analysisTemplates.errors.metrics.0.query: uses {{args.job}}, which the template's args do not declare (built in: canary-version, stable-version, environment)",
    );
    expect(found).toContain('prometheus: is required: the spec runs analyses, which query Prometheus');
  });

  test('a metric with neither condition, one with a query and a comparison, a margin with both kinds', () => {
    const spec = minimal();
    spec.analysisTemplates.errors.metrics = [
      { name: 'a', query: 'up' } as never,
      {
        name: 'b',
        query: 'up',
        successCondition: 'result == 1',
        compare: { canary: 'x', stable: 'y', margin: { relative: 0.1, absolute: 1 } },
      } as never,
    ];
    const found = problems(spec);
    expect(found).toContain(
      'analysisTemplates.errors.metrics.0.successCondition: a query needs a successCondition or a failureCondition (or both)',
    );
    expect(found).toContain(
      'analysisTemplates.errors.metrics.1.query: give exactly one of query (with conditions) or compare (canary against stable)',
    );
    expect(found).toContain(
      'analysisTemplates.errors.metrics.1.compare: a comparison is judged by its margin; remove successCondition and failureCondition',
    );
    expect(found).toContain('analysisTemplates.errors.metrics.1.compare.margin: give exactly one of relative or absolute');
  });

  test('a condition that is code, not a comparison, is refused before anything runs', () => {
    const spec = minimal();
    spec.analysisTemplates.errors.metrics[0]!.successCondition = 'result < 0.05 || process.exit(1)';
    const found = problems(spec);
    expect(found.join('\n')).toMatch(
      /successCondition: "result < 0\.05 \|\| process\.exit\(1\)" is not a condition opsflow reads: cannot read "process\.exit\(1\)"/,
    );
  });

  test('an arg value that could break out of a PromQL string', () => {
    const spec = minimal();
    spec.canary.steps[1] = { analysis: { templates: ['errors'], args: { x: 'a"}or vector(1)' } } } as never;
    expect(problems(spec).join('\n')).toContain('canary.steps.1.analysis.args.x: may hold only letters, digits');
  });
});

describe('the condition grammar', () => {
  test('reads comparisons into a structure', () => {
    expect(parseCondition('result < 0.05')).toEqual({ join: 'and', comparisons: [{ op: '<', value: 0.05 }], text: 'result < 0.05' });
    expect(parseCondition('result[0] <= 0.3')).toEqual({
      join: 'and',
      comparisons: [{ index: 0, op: '<=', value: 0.3 }],
      text: 'result[0] <= 0.3',
    });
    expect(parseCondition('result >= 1e-3 || result[1]!=2').comparisons).toEqual([
      { op: '>=', value: 0.001 },
      { index: 1, op: '!=', value: 2 },
    ]);
  });

  test.each(['result < 0.05 && result > 0 || result == 1', 'len(result) > 0', 'result <', 'result < 0.05 &&', 'true', 'result = 1'])(
    'refuses %j',
    (text) => {
      expect(() => parseCondition(text)).toThrow(ConditionSyntaxError);
    },
  );
});

test('durations and query args', () => {
  expect([durationMs('250ms'), durationMs('30s'), durationMs('5m'), durationMs('4h')]).toEqual([250, 30_000, 300_000, 14_400_000]);
  expect(renderQuery('x{version="{{args.canary-version}}"}', { 'canary-version': '2.1.0-err5' })).toBe('x{version="2.1.0-err5"}');
  expect(() => renderQuery('x{version="{{args.canary-version}}"}', {})).toThrow('the query needs args.canary-version, which no one gave');
  expect(() => renderQuery('x', { v: 'a"b' })).toThrow(/args\.v = "a\\"b" may hold only/);
});

test('opsflow schema rollout: a draft-7 JSON Schema that accepts the examples', () => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(rolloutJsonSchema() as object);
  for (const stack of ['b', 'c', 'e']) expect(validate(example(stack))).toBe(true);
  expect(validate({ ...example('b'), colour: 'red' })).toBe(false);
});

test('a spec file: each problem after the file:line:col of its field', () => {
  const file = path.join(tempDir('rollout-spec'), 'rollout.yaml');
  const text = readFileSync(path.join(EXAMPLES, 'rollout-stack-b.yaml'), 'utf8').replace('    - setWeight: 25\n', '    - setWieght: 25\n');
  writeFileSync(file, text);
  const line = text.split('\n').findIndex((l) => l.includes('setWieght')) + 1;
  expect(() => loadRolloutSpec(file)).toThrow(`${file}:${line}:7: canary.steps.3: unknown field "setWieght"; did you mean "setWeight"?`);
  expect(loadRolloutSpec(path.join(EXAMPLES, 'rollout-stack-e.yaml')).environment).toBe('stack-e-fra1');
});

test('analysis args: template defaults, then the reference, then the rollout built-ins', () => {
  const spec = parseRolloutSpec(example('e'));
  const template = spec.analysisTemplates['latency-against-stable']!;
  const builtIn = { 'canary-version': '2.1.0', 'stable-version': '2.0.9', environment: 'stack-e-fra1' };
  const args = analysisArgs(template, spec.canary!.steps[1]!.analysis!.args, builtIn);
  expect(args).toEqual({ route: 'checkout', ...builtIn });
  const plan = metricPlan(template.metrics[0]!);
  if (plan.rule.kind !== 'comparison') throw new Error('expected a comparison');
  expect(renderQuery(plan.rule.canary, args)).toContain('route="checkout",version="2.1.0"');
  const defaulted = { ...template, args: [{ name: 'route', value: 'home' }] };
  expect(analysisArgs(defaulted, {}, builtIn).route).toBe('home');
});
