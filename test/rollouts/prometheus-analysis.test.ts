// Issue 14, item 2 (metrics): a REAL Prometheus scrapes a tiny exporter of request counters by
// version and status code; the opsflow client's answers, and the verdicts judged from them, are
// exact because the counters are fixed before the first scrape (a ratio of counters, not a rate).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { queryPrometheus } from '../../src/integrations/prometheus/client';
import {
  PrometheusQueryError,
  PrometheusResponseError,
  PrometheusTimeoutError,
  PrometheusUnreachableError,
} from '../../src/integrations/prometheus/errors';
import { measureMetric } from '../../src/integrations/prometheus/measure';
import { observe } from '../../src/integrations/prometheus/observe';
import { judgeComparison, judgeMeasurement, type Measurement } from '../../src/rollouts/analysis/measurement';
import { metricPlan } from '../../src/rollouts/analysis/metric-rules';
import { renderQuery } from '../../src/rollouts/analysis/query-args';
import { assessMetric } from '../../src/rollouts/analysis/verdict';
import { parseRolloutSpec } from '../../src/specs/rollout';
import { freePort } from '../helpers/processes';
import { until } from '../helpers/until';
import { startPrometheus, type PrometheusInstance } from './helpers/prometheus-instance';

jest.setTimeout(90_000);

// Requests by version and code, as the local cloud's simulated applications count them.
const COUNTERS: [version: string, code: number, count: number][] = [
  ['1.4.0', 200, 2000],
  ['1.4.0', 500, 2],
  ['2.1.0-err5', 200, 950],
  ['2.1.0-err5', 500, 50],
  ['2.2.0', 200, 0],
  ['2.2.0', 500, 0],
];
const exposition = [
  '# TYPE http_requests_total counter',
  ...COUNTERS.map(([version, code, n]) => `http_requests_total{version="${version}",code="${code}"} ${n}`),
  '',
].join('\n');

const ERROR_RATIO =
  'sum(http_requests_total{version="{{args.canary-version}}",code=~"5.."}) / sum(http_requests_total{version="{{args.canary-version}}"})';
const ratioFor = (version: string) => renderQuery(ERROR_RATIO, { 'canary-version': version });

let exporter: http.Server;
let silent: http.Server;
let exporterAddress: string;
let silentAddress: string;
let prometheus: PrometheusInstance;

const listen = async (server: http.Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  exporter = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition);
  });
  exporterAddress = await listen(exporter);
  silent = http.createServer(() => undefined); // accepts, never answers
  silentAddress = await listen(silent);
  prometheus = await startPrometheus([exporterAddress]);
  // Ready to judge once the first scrape is in (a state, polled).
  await until(
    'Prometheus has scraped the exporter',
    async () =>
      (await queryPrometheus(prometheus.address, 'http_requests_total', { timeoutMs: 5000 })).samples.length === COUNTERS.length
        ? true
        : undefined,
    30_000,
  );
});

afterAll(async () => {
  await prometheus?.stop();
  silent?.closeAllConnections();
  await new Promise((r) => silent?.close(r));
  await new Promise((r) => exporter?.close(r));
});

const spec = parseRolloutSpec({
  environment: 'stack-c',
  prometheus: { address: 'http://127.0.0.1:9090' },
  fleet: { port: 8000 },
  traffic: { nginx: { upstream: 'backend', frontHost: 'web' } },
  canary: { steps: [{ setWeight: 10 }, { analysis: { templates: ['errors'] } }] },
  analysisTemplates: {
    errors: {
      metrics: [
        {
          name: 'error-ratio',
          query: ERROR_RATIO,
          interval: '30s',
          count: 3,
          successCondition: 'result < 0.01',
          failureCondition: 'result >= 0.05',
          failureLimit: 1,
        },
        {
          name: 'errors-vs-stable',
          compare: { canary: ERROR_RATIO, stable: ERROR_RATIO.replaceAll('canary-version', 'stable-version'), margin: { absolute: 0.01 } },
        },
      ],
    },
  },
});
const [errorRatio, versusStable] = spec.analysisTemplates.errors!.metrics.map(metricPlan);

test('the error-ratio query answers the exact ratio, by series', async () => {
  const result = await queryPrometheus(prometheus.address, ratioFor('2.1.0-err5'), { timeoutMs: 5000 });
  expect(result).toEqual({ resultType: 'vector', samples: [{ labels: {}, value: 0.05 }] });
  const byCode = await queryPrometheus(prometheus.address, 'sort_desc(sum by (code) (http_requests_total{version="1.4.0"}))', {
    timeoutMs: 5000,
  });
  expect(byCode.samples).toEqual([
    { labels: { code: '200' }, value: 2000 },
    { labels: { code: '500' }, value: 2 },
  ]);
  expect((await queryPrometheus(prometheus.address, 'scalar(sum(http_requests_total))', { timeoutMs: 5000 })).samples).toEqual([
    { labels: {}, value: 3002 },
  ]);
});

test('a bad canary (5% errors) fails: failed twice is more than failureLimit 1', async () => {
  if (errorRatio!.rule.kind !== 'condition') throw new Error('expected a condition metric');
  const rule = errorRatio!.rule;
  const measurements: Measurement[] = [];
  for (let i = 0; i < 2; i++)
    measurements.push(
      judgeMeasurement(rule.rule, await observe(prometheus.address, ratioFor('2.1.0-err5'), { timeoutMs: errorRatio!.timeoutMs })),
    );
  expect(measurements[0]).toEqual({ phase: 'failed', values: [0.05], message: '0.05 meets the failure condition result >= 0.05' });
  expect(assessMetric(errorRatio!.limits, measurements.slice(0, 1)).phase).toBe('running');
  expect(assessMetric(errorRatio!.limits, measurements)).toMatchObject({
    phase: 'failed',
    reason: '2 failed measurements, more than failureLimit 1; last: 0.05 meets the failure condition result >= 0.05',
  });
});

test('a good version (0.1% errors) succeeds after count measurements', async () => {
  if (errorRatio!.rule.kind !== 'condition') throw new Error('expected a condition metric');
  const measurements: Measurement[] = [];
  for (let i = 0; i < 3; i++)
    measurements.push(judgeMeasurement(errorRatio!.rule.rule, await observe(prometheus.address, ratioFor('1.4.0'), { timeoutMs: 5000 })));
  expect(measurements.map((m) => m.values[0])).toEqual([2 / 2002, 2 / 2002, 2 / 2002]);
  expect(assessMetric(errorRatio!.limits, measurements).phase).toBe('successful');
});

test('a version with no traffic (0/0 = NaN) is inconclusive, never a pass', async () => {
  if (errorRatio!.rule.kind !== 'condition') throw new Error('expected a condition metric');
  const observation = await observe(prometheus.address, ratioFor('2.2.0'), { timeoutMs: 5000 });
  expect(observation).toEqual({ values: [NaN] });
  const m = judgeMeasurement(errorRatio!.rule.rule, observation);
  expect(m.phase).toBe('inconclusive');
  expect(assessMetric(errorRatio!.limits, [m]).phase).toBe('inconclusive');
  // A version Prometheus has never seen: no series at all, also inconclusive.
  expect(judgeMeasurement(errorRatio!.rule.rule, await observe(prometheus.address, ratioFor('9.9.9'), { timeoutMs: 5000 }))).toMatchObject({
    phase: 'inconclusive',
    values: [],
  });
});

test('canary against stable, measured at the same moment: 0.05 vs 0.000999 is beyond an absolute margin of 0.01', async () => {
  if (versusStable!.rule.kind !== 'comparison') throw new Error('expected a comparison metric');
  const { canary, stable, rule } = versusStable!.rule;
  const time = new Date();
  const args = { 'canary-version': '2.1.0-err5', 'stable-version': '1.4.0' };
  const [c, s] = await Promise.all([
    observe(prometheus.address, renderQuery(canary, args), { timeoutMs: 5000, time }),
    observe(prometheus.address, renderQuery(stable, args), { timeoutMs: 5000, time }),
  ]);
  expect(judgeComparison(rule, c, s)).toMatchObject({ phase: 'failed', values: [0.05, 2 / 2002] });
  const good = { 'canary-version': '1.4.0', 'stable-version': '1.4.0' };
  const [gc, gs] = await Promise.all([
    observe(prometheus.address, renderQuery(canary, good), { timeoutMs: 5000, time }),
    observe(prometheus.address, renderQuery(stable, good), { timeoutMs: 5000, time }),
  ]);
  expect(judgeComparison(rule, gc, gs).phase).toBe('successful');
});

test('measureMetric: one call renders, asks and judges, for conditions and comparisons alike', async () => {
  const args = { 'canary-version': '2.1.0-err5', 'stable-version': '1.4.0' };
  expect(await measureMetric(prometheus.address, errorRatio!, args)).toEqual({
    phase: 'failed',
    values: [0.05],
    message: '0.05 meets the failure condition result >= 0.05',
  });
  expect(await measureMetric(prometheus.address, versusStable!, args)).toMatchObject({ phase: 'failed', values: [0.05, 2 / 2002] });
  expect(await measureMetric(prometheus.address, errorRatio!, { ...args, 'canary-version': '1.4.0' })).toMatchObject({
    phase: 'successful',
  });
  // Prometheus gone: an error measurement naming it, not a thrown activity failure.
  expect(await measureMetric(`http://127.0.0.1:${await freePort()}`, errorRatio!, args)).toMatchObject({
    phase: 'error',
    message: expect.stringMatching(/^PrometheusUnreachableError: .* is unreachable: ECONNREFUSED/),
  });
});

describe('errors are named, and count as errors, not verdicts', () => {
  test('a query Prometheus refuses', async () => {
    const attempt = queryPrometheus(prometheus.address, 'sum(http_requests_total', { timeoutMs: 5000 });
    await expect(attempt).rejects.toBeInstanceOf(PrometheusQueryError);
    await expect(attempt).rejects.toMatchObject({ errorType: 'bad_data' });
    const observation = await observe(prometheus.address, 'sum(', { timeoutMs: 5000 });
    expect(observation).toEqual({
      error: expect.stringMatching(/^PrometheusQueryError: Prometheus at http:\/\/127\.0\.0\.1:\d+ refused the query \(bad_data\)/),
    });
    if (errorRatio!.rule.kind !== 'condition') throw new Error('expected a condition metric');
    expect(judgeMeasurement(errorRatio!.rule.rule, observation).phase).toBe('error');
  });

  test('nothing listening', async () => {
    const port = await freePort();
    await expect(queryPrometheus(`http://127.0.0.1:${port}`, 'up', { timeoutMs: 5000 })).rejects.toThrow(PrometheusUnreachableError);
    await expect(queryPrometheus(`http://127.0.0.1:${port}`, 'up', { timeoutMs: 5000 })).rejects.toThrow(/is unreachable: ECONNREFUSED/);
  });

  test('no answer within the timeout', async () => {
    await expect(queryPrometheus(`http://${silentAddress}`, 'up', { timeoutMs: 300 })).rejects.toThrow(PrometheusTimeoutError);
  });

  test('something that is not the Prometheus API', async () => {
    await expect(queryPrometheus(`http://${exporterAddress}/metrics`, 'up', { timeoutMs: 5000 })).rejects.toThrow(PrometheusResponseError);
  });

  test('a range vector is refused with what to do instead', async () => {
    await expect(queryPrometheus(prometheus.address, 'http_requests_total[1m]', { timeoutMs: 5000 })).rejects.toThrow(
      /answered a matrix result; opsflow judges instant vectors and scalars/,
    );
  });
});
