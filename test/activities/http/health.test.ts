// HTTP health activities against a real HTTP server in the test: one probe (status, timing,
// no redirects followed, errors described), and waiting until healthy with a bound on consecutive
// failures, heartbeating each attempt, cancellable.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHttpHealthActivities } from '../../../src/activities/http/health';
import { freePort } from '../../helpers/processes';

const activities = createHttpHealthActivities();
let server: http.Server;
let base: string;
/** Statuses the /sequence route answers, one per request; the last repeats. */
let sequence: number[] = [];
let requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const path = (req.url ?? '').split('?')[0];
    if (path === '/hang') return; // never answers
    if (path === '/redirect') {
      res.writeHead(301, { location: '/ok' }).end();
      return;
    }
    if (path === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(50 * 1024 * 1024));
      return;
    }
    if (path === '/sequence') {
      const status = sequence.length > 1 ? sequence.shift()! : (sequence[0] ?? 200);
      res.writeHead(status).end(String(status));
      return;
    }
    res.writeHead(path === '/ok' ? 200 : 404).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests = [];
  sequence = [];
});

function run<T>(fn: (input: never) => Promise<T>, input: unknown) {
  const env = new MockActivityEnvironment();
  const heartbeats: Record<string, unknown>[] = [];
  env.on('heartbeat', (d: Record<string, unknown>) => heartbeats.push(d));
  const activity = fn as (input: unknown) => Promise<T>;
  const result = env.run<[unknown], T, typeof activity>(activity, input);
  result.catch(() => {});
  return { result, heartbeats, env };
}

test('probeHealth: the status and how long it took; redirects are not followed; bodies are not downloaded', async () => {
  const ok = await run(activities.probeHealth, { url: `${base}/ok` }).result;
  expect(ok).toMatchObject({ status: 200, ok: true });
  expect(ok.ms).toBeGreaterThanOrEqual(0);
  expect(ok.ms).toBeLessThan(1000);
  expect(await run(activities.probeHealth, { url: `${base}/missing` }).result).toMatchObject({ status: 404, ok: false });
  expect(await run(activities.probeHealth, { url: `${base}/missing`, expectStatus: [200, 404] }).result).toMatchObject({
    status: 404,
    ok: true,
  });
  expect(await run(activities.probeHealth, { url: `${base}/redirect` }).result).toMatchObject({ status: 301, ok: false });
  expect(requests.filter((r) => r === '/ok')).toHaveLength(1); // the redirect was not followed
  const big = await run(activities.probeHealth, { url: `${base}/big` }).result;
  expect(big).toMatchObject({ status: 200, ok: true });
  expect(big.ms).toBeLessThan(1000);
});

test('probeHealth: no response is a result, not a failure: refused and timed out are told apart', async () => {
  const refused = await run(activities.probeHealth, { url: `http://127.0.0.1:${await freePort()}/health` }).result;
  expect(refused).toMatchObject({ status: null, ok: false, error: 'connection refused (ECONNREFUSED)' });
  const started = Date.now();
  const slow = await run(activities.probeHealth, { url: `${base}/hang`, timeoutMs: 300 }).result;
  expect(slow).toMatchObject({ status: null, ok: false, error: 'no response within 300 ms' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('waitHealthy returns at the first healthy probe, heartbeating each attempt', async () => {
  sequence = [503, 502, 200];
  const r = run(activities.waitHealthy, { url: `${base}/sequence`, intervalMs: 50, attempts: 5 });
  expect(await r.result).toMatchObject({ status: 200, attempts: 3 });
  expect(r.heartbeats.map((h) => [h.attempt, h.status, h.ok])).toEqual([
    [1, 503, false],
    [2, 502, false],
    [3, 200, true],
  ]);
  expect(r.heartbeats[0]).toMatchObject({ url: `${base}/sequence`, attempts: 5 });
  expect(requests).toHaveLength(3);
});

test('waitHealthy fails after N consecutive failures: HealthCheckFailed names the url, last status and attempts', async () => {
  sequence = [500];
  const r = run(activities.waitHealthy, { url: `${base}/sequence?token=abc123`, intervalMs: 20, attempts: 4 });
  const err = await r.result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'HealthCheckFailed', nonRetryable: true });
  expect((err as Error).message).toBe(
    `${base}/sequence?… was not healthy after 4 consecutive failed probes (expected status 200); last: status 500`,
  );
  expect((err as ApplicationFailure).details?.[0]).toEqual({
    url: `${base}/sequence?…`,
    attempts: 4,
    lastStatus: 500,
    lastError: null,
    lastMismatch: null,
  });
  expect(r.heartbeats).toHaveLength(4);
  expect(requests).toHaveLength(4);
  expect(JSON.stringify(r.heartbeats)).not.toContain('abc123');

  const down = await run(activities.waitHealthy, {
    url: `http://127.0.0.1:${await freePort()}/`,
    intervalMs: 10,
    attempts: 2,
  }).result.catch((e: unknown) => e);
  expect((down as Error).message).toMatch(
    /was not healthy after 2 consecutive failed probes \(expected status 200\); last: connection refused \(ECONNREFUSED\)$/,
  );

  const hung = await run(activities.waitHealthy, {
    url: `${base}/hang`,
    intervalMs: 10,
    attempts: 2,
    timeoutMs: 150,
    expectStatus: 204,
  }).result.catch((e: unknown) => e);
  expect((hung as Error).message).toMatch(/after 2 consecutive failed probes \(expected status 204\); last: no response within 150 ms$/);
});

test('cancelling waitHealthy ends it, whether it is pausing or waiting on a probe', async () => {
  sequence = [503];
  const pausing = run(activities.waitHealthy, { url: `${base}/sequence`, intervalMs: 60_000, attempts: 3 });
  await new Promise((r) => setTimeout(r, 200));
  pausing.env.cancel();
  await expect(pausing.result).rejects.toBeInstanceOf(CancelledFailure);

  const probing = run(activities.waitHealthy, { url: `${base}/hang`, intervalMs: 10, attempts: 3, timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  probing.env.cancel();
  await expect(probing.result).rejects.toBeInstanceOf(CancelledFailure);
  expect(Date.now() - started).toBeLessThan(1000);
});

test('bad input fails at once, non-retryably', async () => {
  for (const input of [
    { url: 'not a url', intervalMs: 10, attempts: 1 },
    { url: 'ftp://example.com/', intervalMs: 10, attempts: 1 },
    { url: `${base}/ok`, intervalMs: 10, attempts: 0 },
    { url: `${base}/ok`, intervalMs: 10, attempts: 1, expectStatus: 42 },
  ]) {
    await expect(run(activities.waitHealthy, input).result).rejects.toMatchObject({ type: 'InvalidHealthCheck', nonRetryable: true });
  }
  expect(requests).toHaveLength(0);
});
