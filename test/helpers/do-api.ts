// A plain HTTP client for the local cloud's DigitalOcean API that checks every request and
// response against the published spec and records which operations and statuses it saw.
import { operationKey, requestViolations, responseHeaderViolations, responseViolations } from './contract';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export class ContractClient {
  readonly violations: string[] = [];
  readonly seen = new Set<string>();

  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
  ) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = this.token): Promise<ApiResponse<T>> {
    const url = new URL(path, this.apiUrl);
    const response = await fetch(url, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as T) : (undefined as T);
    this.violations.push(...responseViolations(method, url.pathname, response.status, parsed));
    this.violations.push(...responseHeaderViolations(method, url.pathname, response.status, response.headers));
    // A request the API accepted must itself be valid: that checks the local cloud is no laxer
    // than DigitalOcean. Requests that are wrong on purpose are refused and not checked here.
    if (response.ok) this.violations.push(...requestViolations(method, url.pathname, body));
    this.seen.add(`${operationKey(method, url.pathname)} ${response.status}`);
    return { status: response.status, body: parsed, headers: response.headers };
  }
}
