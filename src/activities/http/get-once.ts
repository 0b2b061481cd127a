// One bounded GET to a site's front, for the failover's observers and traffic sample: http or https,
// an optional Host header (an address serving several names), the body drained, and a timeout that
// fails with code 'timeout'. The URL check names the field, as an activity's input error should.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export function httpUrlOf(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw failure(STEP_FAILURE.InvalidHealthCheck, `url: ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw failure(STEP_FAILURE.InvalidHealthCheck, `url: ${url.protocol} is not http or https`);
  return url;
}

export function getOnce(url: URL, options: { host?: string; timeoutMs: number; userAgent?: string }): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = {};
  if (options.userAgent) headers['user-agent'] = options.userAgent;
  if (options.host) headers.host = options.host;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, timeout: options.timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'timeout' })));
    req.on('error', reject);
    req.end();
  });
}
