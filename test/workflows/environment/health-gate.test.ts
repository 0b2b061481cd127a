// Issue 13: health checks assert more than a status. The gate the provision, deploy and rollout
// workflows share (host-steps.ts healthGate) runs here with the real waitHealthy activity against
// a real HTTP server playing a bad release: 500 on every path but /health. Only the workflow
// module's proxy is replaced (by one calling the activity in a MockActivityEnvironment).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHttpHealthActivities } from '../../../src/activities/http/health';

const scheduled: Record<string, unknown>[] = [];
jest.mock('@temporalio/workflow', () => ({
  ActivityCancellationType: { WAIT_CANCELLATION_COMPLETED: 2 },
  proxyActivities: () => ({
    waitHealthy: (input: Record<string, unknown>) => {
      scheduled.push(input);
      const activities = createHttpHealthActivities();
      return new MockActivityEnvironment().run(activities.waitHealthy, input as never);
    },
  }),
}));

import { healthGate, type HealthCheck } from '../../../src/workflows/environment/host-steps';
import { environmentSchema } from '../../../src/specs/environment';

let server: http.Server;
let port: number;
beforeAll(async () => {
  // The bad release: /health says ok, everything else answers 500.
  server = http.createServer((req, res) => {
    if (req.url === '/health')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","version":"2.0.0"}');
    res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => (scheduled.length = 0));

/** A check as the spec parses it (defaults filled in), probing quickly. */
function check(fields: Record<string, unknown>): HealthCheck {
  const spec = environmentSchema.shape.healthChecks.parse([{ name: 'web', port, intervalSeconds: 1, attempts: 2, ...fields }]);
  return spec[0]!;
}

test('a status-only check of /health passes the bad release (what the gate could see before)', async () => {
  expect(await healthGate('127.0.0.1', [check({})])).toEqual([`http://127.0.0.1:${port}/health`]);
});

test('a check with another path fails the release that answers 500 everywhere but /health', async () => {
  const gate = healthGate('127.0.0.1', [check({ paths: ['/api/items'] })]);
  await expect(gate).rejects.toMatchObject({
    type: 'HealthCheckFailed',
    message: `http://127.0.0.1:${port}/api/items was not healthy after 2 consecutive failed probes (expected status 200); last: status 500`,
  });
  expect(scheduled.map((input) => input.url)).toEqual([`http://127.0.0.1:${port}/health`, `http://127.0.0.1:${port}/api/items`]);
});

test('body and header expectations: met ones pass, a wrong version in the body fails naming what was missing', async () => {
  const good = check({ expectBodyMatches: '"status":\\s*"ok"', expectHeaders: { 'Content-Type': 'application/json' } });
  expect(await healthGate('127.0.0.1', [good])).toEqual([`http://127.0.0.1:${port}/health`]);
  expect(scheduled[0]).toMatchObject({ expectBodyMatches: '"status":\\s*"ok"', expectHeaders: { 'Content-Type': 'application/json' } });

  await expect(healthGate('127.0.0.1', [check({ expectBodyContains: '"version":"2.1.0"' })])).rejects.toMatchObject({
    type: 'HealthCheckFailed',
    message: `http://127.0.0.1:${port}/health was not healthy after 2 consecutive failed probes (expected status 200 with a body containing "\\"version\\":\\"2.1.0\\""); last: status 200, body does not contain "\\"version\\":\\"2.1.0\\""`,
  });
  await expect(healthGate('127.0.0.1', [check({ expectHeaders: { 'x-release': '2' } })])).rejects.toMatchObject({
    message: expect.stringMatching(/last: status 200, header x-release missing$/),
  });
});

test('a check without the new fields schedules exactly what it did before (replay of older runs)', async () => {
  await healthGate('127.0.0.1', [check({})]);
  expect(scheduled).toEqual([{ url: `http://127.0.0.1:${port}/health`, expectStatus: 200, intervalMs: 1000, attempts: 2 }]);
});

test('the spec refuses a regular expression that does not compile and a path without /', () => {
  const result = environmentSchema.shape.healthChecks.safeParse([
    { name: 'web', port: 80, expectBodyMatches: '(unclosed', paths: ['api'] },
  ]);
  expect(result.success).toBe(false);
  const problems = result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).sort();
  expect(problems).toEqual(['0.expectBodyMatches: is not a valid regular expression', '0.paths.0: must start with /']);
});
