// failbackSite's input as the workflow and `opsflow failback` check it: the split to restore
// defaults to 50/50, a gradual return's steps must rise below the recovered site's share, and each
// site must have its pool, database and (when given) Redis.
import { parseFailbackSiteInput, type FailbackSiteInput } from '../../src/specs/failback';
import { twoSites } from '../helpers/site-inputs';

const input = (over: Partial<FailbackSiteInput> = {}): FailbackSiteInput => ({
  ...twoSites,
  from: 'london',
  to: 'fra1',
  ...over,
});

test('defaults: 50/50 at once, catch-up within 300 s with nothing behind', () => {
  const spec = parseFailbackSiteInput(input());
  expect(spec.traffic).toMatchObject({ split: { fra1: 50, london: 50 }, mode: 'at once' });
  expect(spec.catchUp).toEqual({ timeoutSeconds: 300, maxBehindTransactions: 0, maxBehindRedisBytes: 0, intervalSeconds: 2 });
});

test('every problem named: same site, missing Redis, steps not below the final share, a split not adding up', () => {
  expect(() =>
    parseFailbackSiteInput(
      input({
        to: 'london',
        redis: { london: { name: 'london-redis', host: '127.0.0.1', port: 6380 } },
        traffic: { mode: 'gradual', steps: [25, 10], split: { fra1: 60, london: 30 } },
      }),
    ),
  ).toThrow(
    /to: london is the site failing back from[\s\S]*traffic.split: the weights add up to 90, not 100[\s\S]*traffic.steps: must go up/,
  );
  expect(() => parseFailbackSiteInput(input({ redis: { london: { name: 'r', host: 'h', port: 1 } } }))).toThrow(
    /redis: no Redis server for site fra1/,
  );
  expect(() => parseFailbackSiteInput(input({ traffic: { mode: 'gradual', steps: [10, 50] } }))).toThrow(
    /traffic.steps: each must be below fra1's final share \(50\)/,
  );
});

test('a password given as a value, not a reference, is refused without echoing it', () => {
  expect(() => parseFailbackSiteInput(input({ replication: { user: 'repl', password: 'hunter2-secret' } }))).toThrow(
    /replication.password/,
  );
  try {
    parseFailbackSiteInput(input({ replication: { user: 'repl', password: 'hunter2-secret' } }));
  } catch (err) {
    expect((err as Error).message).not.toContain('hunter2-secret');
  }
});
