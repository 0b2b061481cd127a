// The simulated application's metrics and its numbered misbehaviours, counted exactly: `-errN`
// fails exactly N of every 100 application requests (by count, never /health), `-slowN` adds N ms
// to each, and /metrics is Prometheus text with a counter by version and code and a latency
// histogram by version, parsed here line by line.
import { AppService, DURATION_BUCKETS } from '../../src/hosts/services/app-service';
import { misbehaviourOf, parseImage } from '../../src/hosts/services/image';

const started: AppService[] = [];
afterAll(async () => Promise.all(started.map((service) => service.close())));

async function serve(reference: string): Promise<string> {
  const service = new AppService('127.0.0.1', parseImage(reference), 'app-1');
  started.push(service);
  const [bound] = await service.listen([{ target: 80, protocol: 'tcp' }]);
  return `http://127.0.0.1:${bound!.published}`;
}

/** Prometheus text exposition as samples: `name{labels}` → value; HELP/TYPE lines kept apart. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const sample = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(`${sample[1]}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return { samples, types };
}

async function statuses(base: string, path: string, count: number): Promise<Record<number, number>> {
  const seen: Record<number, number> = {};
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${base}${path}`);
    await response.text();
    seen[response.status] = (seen[response.status] ?? 0) + 1;
  }
  return seen;
}

test('-err5: exactly 10 of 200 requests answer 500, the 20th, 40th, ...; /health is never failed nor counted by errN', async () => {
  const base = await serve('ghcr.io/acme/api:2.1.0-err5');
  const failedAt: number[] = [];
  for (let i = 1; i <= 100; i++) if ((await fetch(`${base}/orders`)).status === 500) failedAt.push(i);
  expect(failedAt).toEqual([20, 40, 60, 80, 100]);
  // Health probes between requests neither fail nor move the count.
  expect(await statuses(base, '/health', 30)).toEqual({ 200: 30 });
  expect(await statuses(base, '/', 100)).toEqual({ 200: 95, 500: 5 });

  const { samples, types } = parse(await (await fetch(`${base}/metrics`)).text());
  expect(types.get('http_requests_total')).toBe('counter');
  expect(types.get('http_request_duration_seconds')).toBe('histogram');
  expect(samples.get('http_requests_total{version="2.1.0-err5",code="500"}')).toBe(10);
  expect(samples.get('http_requests_total{version="2.1.0-err5",code="200"}')).toBe(190 + 30);
  expect(samples.get('http_request_errors_total')).toBe(10);
  expect(samples.get('http_request_duration_seconds_count{version="2.1.0-err5"}')).toBe(230);
  expect(samples.get('http_request_duration_seconds_bucket{version="2.1.0-err5",le="+Inf"}')).toBe(230);
  // Buckets are cumulative and the fast ones hold everything (no added latency here).
  const buckets = DURATION_BUCKETS.map((le) => samples.get(`http_request_duration_seconds_bucket{version="2.1.0-err5",le="${le}"}`)!);
  expect(buckets.every((count, i) => i === 0 || count >= buckets[i - 1]!)).toBe(true);
  expect(buckets.at(-1)).toBe(230);
  expect(samples.get('http_request_duration_seconds_sum{version="2.1.0-err5"}')).toBeGreaterThan(0);
  // /metrics itself is not counted: a second scrape shows the same totals.
  expect(
    parse(await (await fetch(`${base}/metrics`)).text()).samples.get('http_request_duration_seconds_count{version="2.1.0-err5"}'),
  ).toBe(230);
});

test('-slow300: every application request takes at least 300 ms and lands in the 0.5 s bucket, not below 0.25 s; /health stays fast', async () => {
  const base = await serve('ghcr.io/acme/api:1.3.0-slow300');
  const began = Date.now();
  expect(await statuses(base, '/', 3)).toEqual({ 200: 3 });
  expect(Date.now() - began).toBeGreaterThanOrEqual(900);
  const healthBegan = Date.now();
  expect(await statuses(base, '/health', 1)).toEqual({ 200: 1 });
  const { samples } = parse(await (await fetch(`${base}/metrics`)).text());
  const bucket = (le: number) => samples.get(`http_request_duration_seconds_bucket{version="1.3.0-slow300",le="${le}"}`);
  // The health probe is the only request under 0.25 s (asserted by count, not by a clock).
  expect(bucket(0.25)).toBe(1);
  expect(bucket(10)).toBe(4);
  expect(samples.get('http_request_duration_seconds_sum{version="1.3.0-slow300"}')).toBeGreaterThanOrEqual(0.9);
  expect(Date.now() - healthBegan).toBeLessThan(5_000);
});

test('tag words: numbered and plain forms, combined; impossible numbers named', () => {
  const of = (tag: string) => misbehaviourOf(parseImage(`example/app:${tag}`));
  expect(of('2.1.0-err5')).toMatchObject({ errorsPerHundred: 5, addedLatencyMs: 0, slow: false, erroring: false });
  expect(of('2.1.0-slow800')).toMatchObject({ addedLatencyMs: 800, slow: false });
  expect(of('2.1.0-err5-slow200-unhealthy')).toMatchObject({ errorsPerHundred: 5, addedLatencyMs: 200, unhealthy: true });
  expect(of('3.1-slow')).toMatchObject({ slow: true, addedLatencyMs: 0 });
  expect(of('3.1-erroring')).toMatchObject({ erroring: true, errorsPerHundred: 0 });
  expect(of('1.0-terr5').errorsPerHundred).toBe(0);
  expect(of('2.0-err100').errorsPerHundred).toBe(100);
  expect(of('2.0-err150').invalid).toBe('err150: N must be 0-100 (requests of every 100 that fail)');
  expect(of('2.0-slow99999').invalid).toContain('slow99999: N must be at most 60000');
});
