// Errors in Linode's shape: {"errors": [{"reason": ..., "field": ...}]}, one entry per problem,
// each naming the request field it is about when there is one. The cloud's own errors (401, 429,
// faults, framework refusals) are ApiErrors; here they are worded as Linode words them.
import { ApiError } from '../../errors';

export interface LinodeErrorEntry {
  reason: string;
  field?: string;
}

export class LinodeApiError extends ApiError {
  constructor(
    status: number,
    readonly errors: LinodeErrorEntry[],
  ) {
    super(status, 'linode_error', errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; '));
  }
}

export const linodeNotFound = () => new LinodeApiError(404, [{ reason: 'Not found' }]);
export const linodeBadRequest = (reason: string, field?: string) => new LinodeApiError(400, [{ reason, ...(field ? { field } : {}) }]);

/** The body Linode sends for an error of this status. */
export function linodeErrorBody(error: ApiError): { errors: LinodeErrorEntry[] } {
  if (error instanceof LinodeApiError) return { errors: error.errors };
  switch (error.status) {
    case 401:
      return { errors: [{ reason: 'Invalid Token' }] };
    case 404:
      return { errors: [{ reason: 'Not found' }] };
    case 429:
      return { errors: [{ reason: 'Too Many Requests' }] };
    default:
      return { errors: [{ reason: error.message }] };
  }
}
