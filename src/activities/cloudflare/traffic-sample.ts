// Where requests to the site's hostname really land: a fixed number of GETs through the front
// (Cloudflare's edge), each answer's site read from a response header the app servers set. The
// failover's "verify traffic" step counts these, not a timer. With `host`, requests go to `url`'s
// address carrying that Host header (the local edge; a Cloudflare hostname not yet in DNS).
import { heartbeat } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';
import { getOnce, httpUrlOf } from '../http/get-once';

export interface SampleTrafficInput {
  url: string;
  host?: string;
  requests: number;
  /** The response header naming the site that served (default x-opsflow-site). */
  siteHeader?: string;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
}

export interface TrafficSample {
  /** Answers with a 2xx status, by the site their header named ("unnamed" when it named none). */
  bySite: Record<string, number>;
  /** Requests with no answer or a status outside 2xx, by status ("no answer" for none). */
  failed: Record<string, number>;
  requests: number;
}

const MAX_REQUESTS = 10_000;

export async function sampleTraffic(input: SampleTrafficInput): Promise<TrafficSample> {
  const url = httpUrlOf(input.url);
  if (!Number.isInteger(input.requests) || input.requests < 1 || input.requests > MAX_REQUESTS)
    throw failure(STEP_FAILURE.InvalidHealthCheck, `requests: ${input.requests} is not a whole number from 1 to ${MAX_REQUESTS}`);
  const header = (input.siteHeader ?? 'x-opsflow-site').toLowerCase();
  const sample: TrafficSample = { bySite: {}, failed: {}, requests: input.requests };
  const count = (tally: Record<string, number>, key: string) => (tally[key] = (tally[key] ?? 0) + 1);
  let next = 0;
  const worker = async () => {
    while (next < input.requests) {
      next++;
      try {
        const res = await getOnce(url, { host: input.host, timeoutMs: 10_000 });
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) count(sample.bySite, String(res.headers[header] ?? 'unnamed'));
        else count(sample.failed, `status ${status}`);
      } catch {
        count(sample.failed, 'no answer');
      }
      heartbeat({ sent: next });
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency ?? 8, input.requests) }, worker));
  return sample;
}

export function createTrafficSampleActivities() {
  return { sampleTraffic };
}
