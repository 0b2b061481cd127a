// The project's one way to the DigitalOcean API. It uses digitalocean-js and handles its traps here:
// - the library keeps one module-level axios instance, so a second `new DigitalOcean(token, url)`
//   would overwrite the first; each call instead runs inside an AsyncLocalStorage scope naming its
//   account, and one request interceptor applies that account's URL, token and timeout;
// - its list calls return only the first page: `listAll` follows `links.pages.next`;
// - it has no timeouts, no rate-limit handling, no retries and raw axios errors: the interceptors
//   add a timeout and record the rate-limit headers, a call sends again what is safe to resend,
//   and every failure becomes a classified error; with a request budget (`requestBudget`) every
//   request first waits its turn in the pacer;
// - it has no VPC, reserved-IP or volume-snapshot calls: `request` reaches those endpoints;
// - it pins axios 0.24: package.json overrides it to a current axios, and the tests drive the
//   library through every service opsflow uses against the local cloud to prove it still works.
import { AsyncLocalStorage } from 'node:async_hooks';
import { isAxiosError, type AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { DigitalOcean } from 'digitalocean-js';
import { instance as sharedAxios } from 'digitalocean-js/src/lib/axios-instance';
import { endpointProblem } from '../../specs/endpoint-url';
import { classify, DigitalOceanApiError, retryDelayMs } from './errors';
import { RequestPacer, type PacerOptions } from './pacer';

export interface DigitalOceanAccount {
  token: string;
  /** API origin, such as https://api.digitalocean.com or the local cloud's URL. */
  apiUrl: string;
  timeoutMs?: number;
  /**
   * The account's budget, spent in order by every call of this client (pacer.ts): DigitalOcean's
   * is 250 requests in any minute. Without it requests go out at once and a 429 fails the call.
   */
  requestBudget?: PacerOptions;
  /** How many times a call sends a request again that is safe to resend (default 3). */
  retries?: number;
}

/** A 429 whose Retry-After is longer than this fails the call instead of holding it. */
const MAX_WAIT_WITHIN_CALL_MS = 10_000;

export interface RateLimitState {
  limit?: number;
  remaining?: number;
  /** Epoch milliseconds when the budget refills. */
  resetAt?: number;
}

interface Scope {
  client: DigitalOceanClient;
}

const scope = new AsyncLocalStorage<Scope>();
// The library object holds no state of its own beyond the shared axios instance's defaults,
// which the interceptor below overrides per call; one instance serves every account.
const library = new DigitalOcean('set-per-call', 'http://unused.invalid');

sharedAxios.interceptors.request.use(async (config: InternalAxiosRequestConfig) => {
  const current = scope.getStore();
  if (!current) throw new Error('digitalocean-js was called outside DigitalOceanClient; use client.call(...)');
  return current.client.prepare(config);
});
sharedAxios.interceptors.response.use(
  (response: AxiosResponse) => {
    scope.getStore()?.client.observe(response.status, response.headers as Record<string, unknown>);
    return response;
  },
  (error: { response?: AxiosResponse }) => {
    if (error.response) scope.getStore()?.client.observe(error.response.status, error.response.headers as Record<string, unknown>);
    return Promise.reject(error);
  },
);

export class DigitalOceanClient {
  readonly rateLimit: RateLimitState = {};
  /** Requests this client sent: the account allows 250 a minute, so they are counted. */
  requests = 0;
  private readonly baseUrl: string;
  private readonly pacer: RequestPacer | undefined;

  constructor(private readonly account: DigitalOceanAccount) {
    // The token goes with every request: never over plain http to anything but this machine.
    const problem = endpointProblem(account.apiUrl);
    if (problem)
      throw new DigitalOceanApiError('validation', `DigitalOcean API URL ${account.apiUrl}: ${problem}`, undefined, undefined, undefined);
    this.baseUrl = `${account.apiUrl.replace(/\/+$/, '')}/v2`;
    this.pacer = account.requestBudget ? new RequestPacer(account.requestBudget) : undefined;
  }

  /** Requests waiting for the account's budget right now (0 without a budget). */
  get queuedRequests(): number {
    return this.pacer?.queued ?? 0;
  }

  /**
   * Runs a digitalocean-js call as this account; failures come back classified. What is safe to
   * send again is sent again a few times before it fails (see retryDelay), so one refused or
   * dropped request does not cost the activity a whole attempt.
   */
  async call<T>(what: string, fn: (lib: DigitalOcean) => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await scope.run({ client: this }, () => fn(library));
      } catch (err) {
        // Only API traffic is classified; anything else is a bug and keeps its own stack.
        if (!isAxiosError(err)) throw err;
        const delay = this.retryDelay(err, retry);
        if (delay === undefined) throw classify(err, what);
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * When to send a failed request again, or undefined to fail now. A 429 was refused before the
   * API did anything, so any request may go again once the wait it names is short (a long one is
   * the activity's retry policy's to wait); a GET that met a 5xx or no answer reads nothing twice.
   * Anything else (a POST without an answer may have done its work) is the caller's to judge.
   */
  private retryDelay(err: AxiosError, retry: number): number | undefined {
    if (retry >= (this.account.retries ?? 3)) return undefined;
    const status = err.response?.status;
    if (status === 429) {
      const wait = retryDelayMs('rate_limited', (err.response?.headers ?? {}) as Record<string, unknown>) ?? 1000;
      if (wait > MAX_WAIT_WITHIN_CALL_MS) return undefined;
      // The pacer holds every request until the API's Retry-After already.
      return this.pacer ? 0 : wait;
    }
    const idempotent = ['get', 'head'].includes((err.config?.method ?? '').toLowerCase());
    if (idempotent && (status === undefined || status >= 500)) return 250 * 2 ** retry;
    return undefined;
  }

  /** A raw API request, for endpoints digitalocean-js lacks. */
  request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options: { body?: unknown; params?: Record<string, string | number>; responseType?: 'json' | 'text' } = {},
  ): Promise<T> {
    return this.call(`${method} ${path}`, async () => {
      const response = await sharedAxios.request<T>({
        method,
        url: path,
        data: options.body,
        params: options.params,
        // 'text' keeps a non-JSON body (a kubeconfig's YAML) as the string it is.
        responseType: options.responseType ?? 'json',
      });
      return response.data;
    });
  }

  /** Every item of a list endpoint, across all pages (the API's maximum of 200 per page). */
  async listAll<T>(path: string, key: string, params: Record<string, string | number> = {}, perPage = 200): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ; page++) {
      const body = await this.request<Record<string, unknown> & { links?: { pages?: { next?: string } } }>('GET', path, {
        params: { ...params, per_page: perPage, page },
      });
      items.push(...((body[key] as T[] | undefined) ?? []));
      if (!body.links?.pages?.next) return items;
    }
  }

  /** @internal called by the shared request interceptor. */
  async prepare(config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> {
    await this.pacer?.acquire();
    this.requests++;
    config.baseURL = this.baseUrl;
    config.timeout = this.account.timeoutMs ?? 30_000;
    config.headers.set('Authorization', `Bearer ${this.account.token}`);
    config.headers.set('Content-Type', 'application/json');
    return config;
  }

  /** @internal called by the shared response interceptor. */
  observe(status: number, headers: Record<string, unknown>): void {
    const limit = Number(headers['ratelimit-limit']);
    const remaining = Number(headers['ratelimit-remaining']);
    const reset = Number(headers['ratelimit-reset']);
    if (Number.isFinite(limit)) this.rateLimit.limit = limit;
    if (Number.isFinite(remaining)) this.rateLimit.remaining = remaining;
    if (Number.isFinite(reset)) this.rateLimit.resetAt = reset * 1000;
    if (!this.pacer) return;
    // Refused, or the budget reported spent: the API knows of requests this process did not send.
    // A 429 without Retry-After waits for the reset, but not past a minute: DigitalOcean's reset
    // is the hourly window's, and a refusal under the per-minute limit clears within the minute.
    const now = Date.now();
    if (status === 429) this.pacer.pauseUntil(now + Math.min(60_000, retryDelayMs('rate_limited', headers, now) ?? 1000));
    else if (remaining === 0 && this.rateLimit.resetAt) this.pacer.pauseUntil(this.rateLimit.resetAt);
  }
}

/** The account from the environment: DIGITALOCEAN_TOKEN and DIGITALOCEAN_API_URL. */
export function accountFromEnv(env: NodeJS.ProcessEnv = process.env): DigitalOceanAccount | undefined {
  if (!env.DIGITALOCEAN_TOKEN) return undefined;
  return {
    token: env.DIGITALOCEAN_TOKEN,
    apiUrl: env.DIGITALOCEAN_API_URL ?? 'https://api.digitalocean.com',
    requestBudget: requestBudgetFromEnv(env),
  };
}

/**
 * DIGITALOCEAN_REQUESTS_PER_MINUTE: how much of the account's 250 a minute this worker may spend
 * (lower it when other tools share the account); default 250.
 */
export function requestBudgetFromEnv(env: NodeJS.ProcessEnv = process.env): PacerOptions {
  return { perWindow: requestsPerMinuteFromEnv(env) };
}

function requestsPerMinuteFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.DIGITALOCEAN_REQUESTS_PER_MINUTE?.trim();
  if (!raw) return 250;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 250)
    throw new Error(`DIGITALOCEAN_REQUESTS_PER_MINUTE must be a whole number from 1 to 250, not ${JSON.stringify(raw)}`);
  return value;
}
