// Errors in DigitalOcean's shape: {id, message, request_id}, with the status codes it uses.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what = 'resource') => new ApiError(404, 'not_found', `The ${what} you were accessing could not be found.`);
export const unprocessable = (message: string) => new ApiError(422, 'unprocessable_entity', message);
export const badRequest = (message: string) => new ApiError(400, 'bad_request', message);
export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unable to authenticate you');
export const tooManyRequests = () => new ApiError(429, 'too_many_requests', 'API Rate limit exceeded.');
export const serverError = (status: number) =>
  new ApiError(status, status === 503 ? 'service_unavailable' : 'server_error', status === 503 ? 'Service is temporarily unavailable.' : 'Server was unable to give you a response.');
