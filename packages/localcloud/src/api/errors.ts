// Errors in DigitalOcean's shape: {id, message, request_id}, with the status codes it uses.
import type { Duplex } from 'node:stream';

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
  new ApiError(
    status,
    status === 503 ? 'service_unavailable' : 'server_error',
    status === 503 ? 'Service is temporarily unavailable.' : 'Server was unable to give you a response.',
  );

/**
 * An error the HTTP framework raised before a route ran (body too large, wrong content type, bad
 * length), in DigitalOcean's shape with its own status; anything else is a 500.
 */
export function fromFrameworkError(error: unknown, bodyLimitBytes: number): ApiError {
  if (error instanceof ApiError) return error;
  const status = (error as { statusCode?: number }).statusCode ?? 500;
  if (status === 413) return new ApiError(413, 'request_entity_too_large', `The request body is larger than ${bodyLimitBytes} bytes.`);
  if (status === 415)
    return new ApiError(415, 'unsupported_media_type', 'The request body must be sent as Content-Type: application/json.');
  if (status >= 400 && status < 500) return new ApiError(status, status === 400 ? 'bad_request' : 'client_error', (error as Error).message);
  return new ApiError(500, 'server_error', 'Server was unable to give you a response.');
}

/**
 * For a request the HTTP parser could not read (no path, bad header): still DigitalOcean's shape.
 * It never became a request, so nothing counts or logs it; the connection is closed.
 */
export function answerUnreadableRequest(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, id, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'request_header_fields_too_large', 'The request headers are too large.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'The request was not received in time.']
        : [400, 'Bad Request', 'bad_request', 'The request could not be read as HTTP.'];
  const body = JSON.stringify({ id, message });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(error);
}
