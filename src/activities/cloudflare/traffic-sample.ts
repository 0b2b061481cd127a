// Where requests to the site's hostname really land: a fixed number of GETs through the front
// (Cloudflare's edge), each answer's site read from a response header the app servers set. The
// failover's "verify traffic" step counts these, not a timer. With `host`, requests go to `url`'s
// address carrying that Host header (the local edge; a Cloudflare hostname not yet in DNS).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { heartbeat } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

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

function once(url: URL, host: string | undefined): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: host ? { host } : {}, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 10 s')));
    req.on('error', reject);
    req.end();
  });
}

export async function sampleTraffic(input: SampleTrafficInput): Promise<TrafficSample> {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw failure(STEP_FAILURE.InvalidHealthCheck, `url: ${JSON.stringify(input.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw failure(STEP_FAILURE.InvalidHealthCheck, `url: ${url.protocol} is not http or https`);
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
        const res = await once(url, input.host);
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
