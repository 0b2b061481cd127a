// Cloudflare API v4's envelope: every answer is {success, errors: [{code, message}], messages,
// result, result_info?}, failures included, so clients read one shape whatever happened.
import { ApiError } from '../api/errors';

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

/**
 * Codes Cloudflare answers with: 10000 (authentication), 971 (rate limit), 7000 (no such route),
 * 7003 (an identifier that names nothing), 1004 (DNS validation), 1061 (zone exists), 81057
 * (identical record exists), 1002 for the load balancing API's validation errors.
 */
export const CODES = {
  authentication: 10000,
  rateLimited: 971,
  noRoute: 7000,
  unknownIdentifier: 7003,
  dnsValidation: 1004,
  zoneExists: 1061,
  recordExists: 81057,
  invalid: 1002,
  serverError: 10001,
} as const;

export class CloudflareError extends Error {
  constructor(
    readonly status: number,
    readonly errors: { code: number; message: string }[],
  ) {
    super(errors.map((e) => e.message).join('; '));
  }
}

export const invalid = (messages: string[], code: number = CODES.invalid) =>
  new CloudflareError(
    400,
    messages.map((message) => ({ code, message })),
  );

export const unknownIdentifier = (path: string) =>
  new CloudflareError(404, [
    { code: CODES.unknownIdentifier, message: `Could not route to ${path}, perhaps your object identifier is invalid?` },
  ]);

export function success<T>(result: T, resultInfo?: ResultInfo) {
  return { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) };
}

export function failure(error: CloudflareError) {
  return { success: false, errors: error.errors, messages: [], result: null };
}

/**
 * Anything the shared gate or the framework raised (401, 429, an injected fault, a body too large),
 * in Cloudflare's envelope with its status kept.
 */
export function asCloudflareError(error: unknown): CloudflareError {
  if (error instanceof CloudflareError) return error;
  if (error instanceof ApiError) {
    const code =
      error.status === 401
        ? CODES.authentication
        : error.status === 429
          ? CODES.rateLimited
          : error.status >= 500
            ? CODES.serverError
            : CODES.invalid;
    const message = error.status === 401 ? 'Authentication error' : error.message;
    return new CloudflareError(error.status, [{ code, message }]);
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500)
    return new CloudflareError(status, [{ code: CODES.invalid, message: (error as Error).message }]);
  return new CloudflareError(500, [{ code: CODES.serverError, message: 'Internal server error' }]);
}
