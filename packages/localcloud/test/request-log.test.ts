// The local cloud's request log: every request in order with the status it got (refused ones
// included), listable after a sequence number at /_localcloud/requests; control calls that carry
// the control token are not in it, refused ones are.
import type { LocalCloud } from '../src';
import type { LoggedRequest } from '../src/request-log';
import { startLocalCloud } from '../../../test/helpers/localcloud';

let cloud: LocalCloud;

beforeAll(async () => {
  ({ cloud } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 3, perHour: 1000 } }));
});
afterAll(async () => {
  await cloud?.stop();
});

async function call(
  method: string,
  path: string,
  headers: Record<string, string> = { Authorization: `Bearer ${cloud.token}` },
): Promise<number> {
  const response = await fetch(`${cloud.apiUrl}${path}`, { method, headers });
  await response.arrayBuffer();
  return response.status;
}

async function requests(query = ''): Promise<{ total: number; requests: LoggedRequest[] }> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/requests${query}`, { headers: cloud.controlHeaders });
  return response.json() as Promise<{ total: number; requests: LoggedRequest[] }>;
}

test('every request is logged with its status; authorized control calls are not', async () => {
  const startedAt = Date.now();
  expect(await requests()).toEqual({ total: 0, requests: [] });
  expect(await call('GET', '/v2/account')).toBe(200);
  expect(await call('GET', '/v2/droplets?per_page=5')).toBe(200);
  expect(await call('GET', '/v2/account', { Authorization: 'Bearer wrong-token' })).toBe(401);
  expect(await call('GET', '/v2/no-such-thing')).toBe(404);
  expect(await call('GET', '/v2/account')).toBe(429); // the fourth within the budget of three a minute
  expect(await call('GET', '/_localcloud/inventory', cloud.controlHeaders)).toBe(200);
  expect(await call('GET', '/_localcloud/inventory', {})).toBe(401);

  const log = await requests();
  expect(log.total).toBe(6);
  expect(log.requests.map(({ seq, method, url, status }) => [seq, method, url, status])).toEqual([
    [1, 'GET', '/v2/account', 200],
    [2, 'GET', '/v2/droplets?per_page=5', 200],
    [3, 'GET', '/v2/account', 401],
    [4, 'GET', '/v2/no-such-thing', 404],
    [5, 'GET', '/v2/account', 429],
    [6, 'GET', '/_localcloud/inventory', 401],
  ]);
  expect(new Date(log.requests[0]!.at).getTime()).toBeGreaterThanOrEqual(startedAt);
  expect(cloud.requestLog.total).toBe(6);
});

test('?since=<seq> lists only what came after; a bad since is refused; reset clears the log', async () => {
  expect((await requests('?since=3')).requests.map((r) => r.seq)).toEqual([4, 5, 6]);
  expect(await requests('?since=6')).toEqual({ total: 6, requests: [] });
  const bad = await fetch(`${cloud.apiUrl}/_localcloud/requests?since=soon`, { headers: cloud.controlHeaders });
  expect(bad.status).toBe(422);
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: cloud.controlHeaders });
  expect(await requests()).toEqual({ total: 0, requests: [] });
});
