// HTTP health probes: one probe, or probing until healthy with a bound on consecutive failures
// (the health gate of provisioning and deploys). A probe never follows redirects: the status the
// URL itself answers is what counts. A probe may also assert the body (a substring, a regular
// expression) and headers (a substring of each value); then the first MAX_BODY_BYTES of the body
// are read, else the body is never downloaded. URLs are shown without credentials or query strings.
import { CancelledFailure, Context, heartbeat, log } from '@temporalio/activity';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export interface HttpHealthDeps {
  /** The fetch to use (default: Node's global fetch). */
  fetch?: typeof fetch;
}

export interface ProbeHealthInput {
  url: string;
  /** The status (or statuses) that mean healthy (default 200). */
  expectStatus?: number | number[];
  /** How long one probe may take (default 5 s). */
  timeoutMs?: number;
  /** Text the body must contain. */
  expectBodyContains?: string;
  /** A regular expression (JavaScript syntax) the body must match. */
  expectBodyMatches?: string;
  /** Headers that must be present, each value containing the text given (names in any case). */
  expectHeaders?: Record<string, string>;
}

export interface ProbeResult {
  /** The HTTP status, or null when no response came (refused, timed out, DNS, TLS). */
  status: number | null;
  ok: boolean;
  ms: number;
  /** Why there was no response. */
  error?: string;
  /** What in an answer with the expected status was not as expected (body, header). */
  mismatch?: string;
}

/** The most of a body a probe reads to check it: health pages are small, a runaway one is cut. */
export const MAX_BODY_BYTES = 256 * 1024;

interface ContentExpectations {
  contains?: string;
  matches?: RegExp;
  headers: [string, string][];
}

export interface WaitHealthyInput extends ProbeHealthInput {
  /** Pause between probes. */
  intervalMs: number;
  /** Consecutive failed probes after which it gives up. */
  attempts: number;
}

export interface WaitHealthyResult {
  status: number;
  ms: number;
  /** Probes made, the healthy one included. */
  attempts: number;
}

/** What a URL may show in messages: no user:password, no query (tokens live there). */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw failure(STEP_FAILURE.InvalidHealthCheck, 'health check url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw failure(STEP_FAILURE.InvalidHealthCheck, `health check url must be http or https, not ${url.protocol}`);
  return url;
}

function expectedStatuses(expect: number | number[] | undefined): number[] {
  const list = expect === undefined ? [200] : Array.isArray(expect) ? expect : [expect];
  if (list.length === 0 || !list.every((s) => Number.isInteger(s) && s >= 100 && s <= 599))
    throw failure(STEP_FAILURE.InvalidHealthCheck, 'expectStatus must be HTTP status codes (100-599)');
  return list;
}

function contentExpectations(input: ProbeHealthInput): ContentExpectations {
  let matches: RegExp | undefined;
  if (input.expectBodyMatches !== undefined) {
    try {
      matches = new RegExp(input.expectBodyMatches);
    } catch (err) {
      throw failure(STEP_FAILURE.InvalidHealthCheck, `expectBodyMatches is not a regular expression: ${(err as Error).message}`);
    }
  }
  const headers = Object.entries(input.expectHeaders ?? {}).map(([name, value]): [string, string] => [name.toLowerCase(), value]);
  return { contains: input.expectBodyContains, matches, headers };
}

/** The first MAX_BODY_BYTES of the body as text; the rest is not downloaded. */
async function readBodyStart(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_BODY_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

/** Why an answer with the right status is still not healthy, or undefined when it is. */
async function contentMismatch(response: Response, expect: ContentExpectations): Promise<string | undefined> {
  for (const [name, value] of expect.headers) {
    const got = response.headers.get(name);
    if (got === null) return `header ${name} missing`;
    if (!got.includes(value)) return `header ${name} is ${JSON.stringify(got.slice(0, 100))}, not containing ${JSON.stringify(value)}`;
  }
  if (expect.contains === undefined && !expect.matches) return undefined;
  const body = await readBodyStart(response);
  if (expect.contains !== undefined && !body.includes(expect.contains)) return `body does not contain ${JSON.stringify(expect.contains)}`;
  if (expect.matches && !expect.matches.test(body)) return `body does not match /${expect.matches.source}/`;
  return undefined;
}

/** The content expectations as the failure message says them. */
function describeContent(expect: ContentExpectations): string {
  const parts = [
    ...(expect.contains !== undefined ? [`a body containing ${JSON.stringify(expect.contains)}`] : []),
    ...(expect.matches ? [`a body matching /${expect.matches.source}/`] : []),
    ...expect.headers.map(([name, value]) => `header ${name} containing ${JSON.stringify(value)}`),
  ];
  return parts.length ? ` with ${parts.join(', ')}` : '';
}

function whyNoResponse(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no response within ${timeoutMs} ms`;
  const cause = e.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (cause?.code) return `${cause.message ?? 'request failed'} (${cause.code})`.replace(/https?:\/\/\S+/g, '[url]');
  return (cause?.message ?? e.message ?? String(err)).replace(/https?:\/\/\S+/g, '[url]');
}

function cancelledFailure(signal: AbortSignal): CancelledFailure {
  return signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure('CANCELLED');
}

export function createHttpHealthActivities(deps: HttpHealthDeps = {}) {
  const doFetch = deps.fetch ?? fetch;

  async function probe(url: URL, expected: number[], timeoutMs: number, content: ContentExpectations): Promise<ProbeResult> {
    const cancel = Context.current().cancellationSignal;
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
      const response = await doFetch(url, {
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), cancel]),
        redirect: 'manual',
        headers: { 'user-agent': 'opsflow-health-probe' },
      });
      const statusOk = expected.includes(response.status);
      const mismatch = statusOk ? await contentMismatch(response, content) : undefined;
      const took = ms();
      // What was not read is not downloaded.
      await response.body?.cancel().catch(() => {});
      return { status: response.status, ok: statusOk && !mismatch, ms: took, ...(mismatch ? { mismatch } : {}) };
    } catch (err) {
      if (cancel.aborted) throw cancelledFailure(cancel);
      return { status: null, ok: false, ms: ms(), error: whyNoResponse(err, timeoutMs) };
    }
  }

  return {
    /** One probe. Never fails for an unhealthy answer: `ok` says whether it was healthy. */
    async probeHealth(input: ProbeHealthInput): Promise<ProbeResult> {
      return probe(parseUrl(input.url), expectedStatuses(input.expectStatus), input.timeoutMs ?? 5000, contentExpectations(input));
    },

    /**
     * Probes every `intervalMs` until a probe is healthy, heartbeating each attempt. After
     * `attempts` consecutive failed probes it fails with HealthCheckFailed (not retryable: the
     * workflow decides what an unhealthy release means), naming the URL, the last status or error
     * and the number of attempts.
     */
    async waitHealthy(input: WaitHealthyInput): Promise<WaitHealthyResult> {
      const url = parseUrl(input.url);
      const shown = displayUrl(url);
      const expected = expectedStatuses(input.expectStatus);
      const content = contentExpectations(input);
      if (!Number.isInteger(input.attempts) || input.attempts < 1)
        throw failure(STEP_FAILURE.InvalidHealthCheck, 'attempts must be a whole number of at least 1');
      if (!(input.intervalMs >= 0)) throw failure(STEP_FAILURE.InvalidHealthCheck, 'intervalMs must be zero or more');
      const timeoutMs = input.timeoutMs ?? 5000;
      let last: ProbeResult | undefined;
      for (let attempt = 1; attempt <= input.attempts; attempt++) {
        last = await probe(url, expected, timeoutMs, content);
        heartbeat({
          url: shown,
          attempt,
          attempts: input.attempts,
          status: last.status,
          ok: last.ok,
          ms: last.ms,
          ...(last.error ? { error: last.error } : {}),
          ...(last.mismatch ? { mismatch: last.mismatch } : {}),
        });
        if (last.ok) {
          log.info('healthy', { url: shown, status: last.status, attempts: attempt, ms: last.ms });
          return { status: last.status as number, ms: last.ms, attempts: attempt };
        }
        if (attempt < input.attempts) await Context.current().sleep(input.intervalMs);
      }
      const lastWhat = last!.status !== null ? `status ${last!.status}${last!.mismatch ? `, ${last!.mismatch}` : ''}` : last!.error;
      throw failure(
        STEP_FAILURE.HealthCheckFailed,
        `${shown} was not healthy after ${input.attempts} consecutive failed ${input.attempts === 1 ? 'probe' : 'probes'} (expected status ${expected.join(' or ')}${describeContent(content)}); last: ${lastWhat}`,
        {
          details: [
            {
              url: shown,
              attempts: input.attempts,
              lastStatus: last!.status,
              lastError: last!.error ?? null,
              lastMismatch: last!.mismatch ?? null,
            },
          ],
        },
      );
    },
  };
}

export type HttpHealthActivities = ReturnType<typeof createHttpHealthActivities>;
