// How opsflow reaches Cloudflare: the official `cloudflare` library, pointed at the API (the real
// one, or the local cloud's /client/v4) with a token resolved on the worker from a secret reference
// (`env:NAME`, `file:/path`), so workflow inputs and history carry only the reference.
import Cloudflare from 'cloudflare';

/** Cloudflare's own API; the local cloud serves the same paths under <its url>/client/v4. */
export const CLOUDFLARE_API_URL = 'https://api.cloudflare.com/client/v4';

/** What a workflow says about the Cloudflare account: where, and which secret holds the token. */
export interface CloudflareConnection {
  /** Default: Cloudflare's own API. */
  apiUrl?: string;
  /** A secret reference (`env:NAME` or `file:/path`), never the token itself. */
  apiToken: string;
}

/**
 * A client that never retries on its own: retrying is Temporal's job (an activity attempt fails
 * with a classified failure and the activity's retry policy decides), so one attempt is one request.
 */
export function cloudflareClient(apiUrl: string | undefined, apiToken: string): Cloudflare {
  return new Cloudflare({ apiToken, baseURL: apiUrl ?? CLOUDFLARE_API_URL, maxRetries: 0, timeout: 30_000 });
}
