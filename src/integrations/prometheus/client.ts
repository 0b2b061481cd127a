// Instant queries against Prometheus's HTTP API (GET /api/v1/query), for activities: one number per
// series the query returns. The query goes as a URL parameter, never through a shell.
import { PrometheusQueryError, PrometheusResponseError, PrometheusTimeoutError, PrometheusUnreachableError } from './errors';

export interface Sample {
  labels: Record<string, string>;
  /** NaN when Prometheus says NaN (0/0: a ratio with no traffic). */
  value: number;
}

export interface QueryResult {
  resultType: 'vector' | 'scalar';
  samples: Sample[];
}

export interface QueryOptions {
  timeoutMs: number;
  /** Evaluation time (default: Prometheus's now). */
  time?: Date;
}

/** The response body read at most: a query for a canary yields a few series, not megabytes. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function queryUrl(address: string, query: string, options: QueryOptions): URL {
  const url = new URL('api/v1/query', address.endsWith('/') ? address : `${address}/`);
  url.searchParams.set('query', query);
  // Prometheus stops evaluating at its own timeout too, a little before ours gives up.
  url.searchParams.set('timeout', `${Math.max(1, Math.floor(options.timeoutMs * 0.9))}ms`);
  if (options.time) url.searchParams.set('time', (options.time.getTime() / 1000).toFixed(3));
  return url;
}

function sampleValue(pair: unknown, where: string): number {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[1] !== 'string')
    throw new PrometheusResponseError(`${where}: a sample is not [time, "value"]`);
  return Number(pair[1]); // "NaN", "+Inf" and "-Inf" read as Number does
}

export async function queryPrometheus(address: string, query: string, options: QueryOptions): Promise<QueryResult> {
  const url = queryUrl(address, query, options);
  const where = `Prometheus at ${url.origin}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs), headers: { accept: 'application/json' } });
    text = await response.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      throw new PrometheusTimeoutError(`${where} did not answer within ${options.timeoutMs} ms`);
    throw new PrometheusUnreachableError(`${where} is unreachable: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
  if (text.length > MAX_BODY_BYTES) throw new PrometheusResponseError(`${where} answered more than ${MAX_BODY_BYTES} bytes`);
  let body: { status?: unknown; data?: { resultType?: unknown; result?: unknown }; errorType?: unknown; error?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new PrometheusResponseError(
      `${where} answered HTTP ${response.status} with something other than JSON (is the address the Prometheus API?): ${text.slice(0, 120)}`,
    );
  }
  if (body.status === 'error')
    throw new PrometheusQueryError(
      String(body.errorType ?? 'unknown'),
      `${where} refused the query (${String(body.errorType)}): ${String(body.error)}`,
    );
  if (body.status !== 'success' || !body.data)
    throw new PrometheusResponseError(`${where} answered HTTP ${response.status} without status "success"`);
  const { resultType, result } = body.data;
  if (resultType === 'scalar') return { resultType, samples: [{ labels: {}, value: sampleValue(result, where) }] };
  if (resultType === 'vector' && Array.isArray(result)) {
    return {
      resultType,
      samples: result.map((series: { metric?: Record<string, string>; value?: unknown }) => ({
        labels: series?.metric ?? {},
        value: sampleValue(series?.value, where),
      })),
    };
  }
  throw new PrometheusResponseError(
    `${where} answered a ${String(resultType)} result; opsflow judges instant vectors and scalars (wrap a range query in an aggregation)`,
  );
}
