// One HTTP request with its path sent byte for byte: fetch and URL would resolve `..`, read `//v2`
// as a host and re-encode, which is exactly what a test of path handling must not have done for it.
// A connection of its own each time: the server closes one after a request it could not read.
import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as is; a string body gets a content-length, a chunks array is sent chunked. */
  body?: string | Buffer | Buffer[];
  /** Source address, such as a droplet's 127.N.x.y. */
  localAddress?: string;
}

export function rawRequest(apiUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        localAddress: request.localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
          resolve({ status: res.statusCode ?? 0, headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined });
        });
      },
    );
    req.on('error', reject);
    if (Array.isArray(request.body)) {
      // A chunked body, so no content-length tells the server its size in advance.
      for (const chunk of request.body) req.write(chunk);
      req.end();
    } else {
      req.end(request.body);
    }
  });
}
