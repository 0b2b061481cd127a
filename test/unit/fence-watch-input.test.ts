// fenceReturningPrimary's input as the workflow checks it at its start: defaults (a try every 10 s
// for 7 days, 500 tries a run), every problem named by field, and a password given as a value
// instead of a secret reference refused without echoing it.
import { parseFailoverSiteInput, type FailoverSiteInput } from '../../src/specs/failover';
import { parseFenceWatchInput, type FenceWatchInput } from '../../src/specs/fence-watch';
import { twoSites } from '../helpers/site-inputs';

const db = { name: 'fra1-db', host: '10.0.0.5', port: 3306, user: 'opsflow', password: 'env:OPSFLOW_SECRET_DB_ADMIN' };
const input = (over: Partial<FenceWatchInput> = {}): FenceWatchInput => ({
  environment: 'stack-e',
  failover: { workflowId: 'failover-stack-e-fra1', runId: 'run-1', from: 'fra1', to: 'london' },
  database: db,
  ...over,
});

test('defaults: a try every 10 s for 7 days, continuing as new every 500 tries', () => {
  expect(parseFenceWatchInput(input())).toMatchObject({ intervalSeconds: 10, maxDurationSeconds: 7 * 86_400, roundsPerRun: 500 });
  expect(parseFenceWatchInput(input({ database: undefined, redis: { name: 'fra1-redis', host: '10.0.0.6', port: 6379 } }))).toMatchObject({
    redis: { name: 'fra1-redis' },
  });
});

test('every problem named: nothing to fence, the same site twice, a zero interval, an unknown field', () => {
  expect(() => parseFenceWatchInput(input({ database: undefined }))).toThrow(
    /database: nothing to fence \(neither database nor redis given\)/,
  );
  expect(() => parseFenceWatchInput(input({ failover: { workflowId: 'f', runId: 'r', from: 'fra1', to: 'fra1' } }))).toThrow(
    /failover.to: fra1 is the site failed over from/,
  );
  expect(() => parseFenceWatchInput(input({ intervalSeconds: 0 }))).toThrow(/intervalSeconds: /);
  expect(() => parseFenceWatchInput({ ...input(), surprise: 1 })).toThrow(/surprise/);
});

test('a password value instead of a reference is refused, not echoed', () => {
  let message = '';
  try {
    parseFenceWatchInput(input({ database: { ...db, password: 'hunter2-secret' } }));
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/database.password: /);
  expect(message).not.toContain('hunter2-secret');
});

test("failoverSite's input carries the watch's timing, checked the same way", () => {
  const failover: FailoverSiteInput = { ...twoSites, from: 'fra1', to: 'london', fenceWatch: { intervalSeconds: 1, roundsPerRun: 3 } };
  expect(parseFailoverSiteInput(failover).fenceWatch).toEqual({ intervalSeconds: 1, roundsPerRun: 3, maxDurationSeconds: 7 * 86_400 });
  expect(() => parseFailoverSiteInput({ ...failover, fenceWatch: { intervalSeconds: 0.5 } })).toThrow(/fenceWatch.intervalSeconds: /);
});
