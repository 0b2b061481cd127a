// The local cloud's request log: every /v2 request in order with the status it got (refused ones
// included), listable after a sequence number at /_localcloud/requests; control calls are not in it.
import type { LocalCloud } from '../../src/localcloud';
import type { LoggedRequest } from '../../src/localcloud/request-log';
import { startLocalCloud } from '../helpers/localcloud';

let cloud: LocalCloud;

beforeAll(async () => {
  ({ cloud } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 3, perHour: 1000 } }));
});
afterAll(async () => {
  await cloud?.stop();
});

async function call(method: string, path: string, token = cloud.token): Promise<number> {
  const response = await fetch(`${cloud.apiUrl}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

async function requests(query = ''): Promise<{ total: number; requests: LoggedRequest[] }> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/requests${query}`, { headers: { Authorization: `Bearer ${cloud.token}` } });
  return response.json() as Promise<{ total: number; requests: LoggedRequest[] }>;
}

test('every API request is logged with its status; control calls are not', async () => {
  expect(await requests()).toEqual({ total: 0, requests: [] });
  expect(await call('GET', '/v2/account')).toBe(200);
  expect(await call('GET', '/v2/droplets?per_page=5')).toBe(200);
  expect(await call('GET', '/v2/account', 'wrong-token')).toBe(401);
  expect(await call('GET', '/v2/no-such-thing')).toBe(404);
  expect(await call('GET', '/v2/account')).toBe(429); // the fourth within the budget of three a minute
  expect(await call('GET', '/_localcloud/inventory')).toBe(200);

  const log = await requests();
  expect(log.total).toBe(5);
  expect(log.requests.map(({ seq, method, url, status }) => [seq, method, url, status])).toEqual([
    [1, 'GET', '/v2/account', 200],
    [2, 'GET', '/v2/droplets?per_page=5', 200],
    [3, 'GET', '/v2/account', 401],
    [4, 'GET', '/v2/no-such-thing', 404],
    [5, 'GET', '/v2/account', 429],
  ]);
  expect(new Date(log.requests[0]!.at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  expect(cloud.requestLog.total).toBe(5);
});

test('?since=<seq> lists only what came after; a bad since is refused; reset clears the log', async () => {
  expect((await requests('?since=3')).requests.map((r) => r.seq)).toEqual([4, 5]);
  expect(await requests('?since=5')).toEqual({ total: 5, requests: [] });
  const bad = await fetch(`${cloud.apiUrl}/_localcloud/requests?since=soon`, { headers: { Authorization: `Bearer ${cloud.token}` } });
  expect(bad.status).toBe(422);
  await fetch(`${cloud.apiUrl}/_localcloud/reset`, { method: 'POST', headers: { Authorization: `Bearer ${cloud.token}` } });
  expect(await requests()).toEqual({ total: 0, requests: [] });
});
