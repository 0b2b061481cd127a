// Benchmark: requests per second the local cloud's API serves, against a bare Node HTTP server
// answering the same JSON in the same run (the baseline), so the ratio is what the API layer
// (auth, rate-limit accounting, faults, routing, pagination) costs. Loopback only, bounded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCloud } from '@opsflow/localcloud';
import { requestsPerSecond, writeResults, type Row } from './harness';

const TOTAL = 5000;
const CONCURRENCY = 16;

async function main(): Promise<void> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-'));
  const cloud = await LocalCloud.start({ stateDir, rateLimit: { perMinute: 1e9, perHour: 1e9 } });
  const auth = { headers: { Authorization: `Bearer ${cloud.token}` } };
  const sample = await (await fetch(`${cloud.apiUrl}/v2/account`, auth)).text();
  const baseline = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(sample);
  });
  await new Promise<void>((r) => baseline.listen(0, '127.0.0.1', () => r()));
  const baseUrl = `http://127.0.0.1:${(baseline.address() as AddressInfo).port}/v2/account`;

  // Twenty droplets so list calls page through real data.
  await fetch(`${cloud.apiUrl}/v2/droplets`, {
    method: 'POST',
    headers: { ...auth.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      names: Array.from({ length: 10 }, (_, i) => `bench-${i}`),
      region: 'fra1',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-22-04-x64',
    }),
  });

  await requestsPerSecond(baseUrl, {}, 500, CONCURRENCY); // warm up both
  await requestsPerSecond(`${cloud.apiUrl}/v2/account`, auth, 500, CONCURRENCY);
  const base = await requestsPerSecond(baseUrl, {}, TOTAL, CONCURRENCY);
  const account = await requestsPerSecond(`${cloud.apiUrl}/v2/account`, auth, TOTAL, CONCURRENCY);
  const droplets = await requestsPerSecond(`${cloud.apiUrl}/v2/droplets?per_page=20`, auth, TOTAL, CONCURRENCY);

  const rows: Row[] = [
    {
      measure: 'GET /v2/account, requests/s',
      value: account.rps.toFixed(0),
      baseline: base.rps.toFixed(0),
      ratio: (account.rps / base.rps).toFixed(2),
      target: '≥ 0.25 of bare Node HTTP',
      verdict: account.rps / base.rps >= 0.25 ? 'met' : 'missed',
    },
    {
      measure: 'GET /v2/droplets (10 droplets), requests/s',
      value: droplets.rps.toFixed(0),
      baseline: base.rps.toFixed(0),
      ratio: (droplets.rps / base.rps).toFixed(2),
      target: 'info',
      verdict: 'info',
    },
    {
      measure: 'failed requests',
      value: String(account.failures + droplets.failures),
      target: '0',
      verdict: account.failures + droplets.failures === 0 ? 'met' : 'missed',
    },
    {
      measure: 'API requests per minute it can serve vs the 250/min DigitalOcean allows',
      value: (account.rps * 60).toFixed(0),
      ratio: ((account.rps * 60) / 250).toFixed(0) + '×',
      verdict: 'info',
    },
  ];
  const file = writeResults('localcloud-api', 'Local cloud API throughput', rows, [
    `${TOTAL} requests per measure, ${CONCURRENCY} in flight, loopback`,
    'the load generator (fetch, in this process) shares the 2 cores with the server and saturates first: a ratio near 1 means the API layer adds no cost visible at this load, not that it is faster than bare HTTP',
  ]);
  console.log(file);
  await cloud.stop();
  baseline.close();
  rmSync(stateDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
