// The local stack's Prometheus (src/devstack/prometheus.ts: Debian's real prometheus, unprivileged)
// scraping two local cloud droplets' applications, found through its file_sd targets file: a
// stable 1.0 and a canary 1.1-err5. After the load generator's traffic, the canary's error ratio is
// exactly 0.05 by its counters and about 0.05 by rate() (what a rollout's analysis asks), the
// stable's is 0, and the latency histogram answers a quantile query.
import type { LocalCloud } from '@opsflow/localcloud';
import { startPrometheus, writeScrapeTargets, type RunningPrometheus } from '../../src/devstack/prometheus';
import { generateLoad } from '../../src/rollouts/load-generator';
import { connect } from '../../src/integrations/ssh';
import { createHostDroplet, registerKey, fingerprintOf, type TestDroplet } from '../helpers/droplet-host';
import { startLocalCloud } from '../helpers/localcloud';
import { generateEd25519 } from '../helpers/ssh-keys';
import { tempDir } from '../helpers/temp';
import { until } from '../helpers/until';
import { readFileSync } from 'node:fs';
import path from 'node:path';

jest.setTimeout(180_000);

const key = generateEd25519();
const APP_PORT = 8080;
const TAGS = ['1.0', '1.1-err5'];
let cloud: LocalCloud;
let apps: TestDroplet[];
let prometheus: RunningPrometheus;

async function query(promql: string): Promise<number | undefined> {
  const response = await fetch(`${prometheus.address}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: { value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
  const first = body.data.result[0];
  return first ? Number(first.value[1]) : undefined;
}

beforeAll(async () => {
  let api;
  let stateDir: string;
  ({ cloud, api, stateDir } = await startLocalCloud({ rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const keyId = await registerKey(api, 'deploy', key.public);
  apps = await Promise.all(['app-a', 'app-b'].map((name) => createHostDroplet(cloud, api, name, [keyId])));
  await Promise.all(
    apps.map(async (app, i) => {
      const publicHostKey = readFileSync(path.join(stateDir, 'hosts', String(app.id), 'ssh_host_ed25519_key.pub'), 'utf8').trim();
      const ssh = await connect({
        host: app.address,
        port: app.port,
        username: 'root',
        privateKey: key.private,
        hostKey: { pinned: [fingerprintOf(publicHostKey)] },
      });
      const run = await ssh.exec(['docker', 'run', '-d', '--name', 'app', '-p', `${APP_PORT}:80`, `ghcr.io/acme/shop:${TAGS[i]}`]);
      ssh.close();
      if (run.exitCode !== 0) throw new Error(`docker run failed: ${run.stderrTail}`);
    }),
  );
  // Started with no targets, as `opsflow up` starts it before any droplet exists.
  prometheus = await startPrometheus({ dir: tempDir('prometheus'), scrapeInterval: '1s' });
});

afterAll(async () => {
  await prometheus?.stop();
  await cloud?.stop();
});

test('targets written to its file_sd file are scraped without a restart', async () => {
  writeScrapeTargets(
    prometheus.targetsFile,
    apps.map((app, i) => ({ address: `${app.address}:${APP_PORT}`, labels: { droplet: `app-${'ab'[i]}` } })),
  );
  await until(
    'Prometheus to scrape both applications',
    async () => ((await query('count(up{job="apps"} == 1)')) === 2 ? true : undefined),
    60_000,
  );
  expect(() => writeScrapeTargets(prometheus.targetsFile, [{ address: 'not a target' }])).toThrow(
    'scrape target "not a target" must be host:port',
  );
});

test('after 1000 requests to each, the -err5 canary error ratio is 0.05 (counters exactly, rate() about); the stable 0', async () => {
  const [stable, canary] = await Promise.all(
    apps.map((app) => generateLoad(`http://${app.address}:${APP_PORT}/`, { total: 1000, concurrency: 4 })),
  );
  expect(stable!.failures).toEqual([]);
  expect(canary!.failures).toEqual(Array(50).fill('HTTP 500'));
  await until(
    'Prometheus to have scraped every request',
    async () =>
      (await query('sum(http_requests_total{version="1.1-err5"})')) === 1000 &&
      (await query('sum(http_requests_total{version="1.0"})')) === 1000
        ? true
        : undefined,
    60_000,
  );
  const ratio = (version: string, window?: string) => {
    const series = (codes: string) => `http_requests_total{job="apps",version="${version}"${codes}}`;
    const of = (codes: string) => (window ? `sum(rate(${series(codes)}[${window}]))` : `sum(${series(codes)})`);
    return query(`(${of(',code=~"5.."')} or vector(0)) / ${of('')}`);
  };
  expect(await ratio('1.1-err5')).toBe(0.05);
  expect(await ratio('1.0')).toBe(0);
  const rated = await ratio('1.1-err5', '1m');
  expect(rated).toBeGreaterThan(0.03);
  expect(rated).toBeLessThan(0.07);
  expect(await ratio('1.0', '1m')).toBe(0);
  const p90 = await query('histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{version="1.0"}[1m])))');
  expect(p90).toBeGreaterThan(0);
  expect(p90).toBeLessThan(1);
});
