// The few API server calls the local cloud makes itself (readiness, registering and removing a
// node pool's nodes), over HTTPS pinned to the cluster's CA with the admin token.
import { request } from 'node:https';

export interface KubeResponse {
  status: number;
  body: string;
}

export class KubeClient {
  constructor(
    private readonly server: string,
    private readonly caPem: string,
    private readonly token: string,
  ) {}

  call(method: string, path: string, body?: unknown, timeoutMs = 5_000, contentType = 'application/json'): Promise<KubeResponse> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.caPem,
          timeout: timeoutMs,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like call(), but any status outside `accepted` is an error naming the call and the answer. */
  async expect(method: string, path: string, body: unknown, accepted: number[], contentType?: string): Promise<KubeResponse> {
    const response = await this.call(method, path, body, undefined, contentType);
    if (!accepted.includes(response.status)) {
      throw new Error(`${method} ${path} answered ${response.status}: ${response.body.slice(0, 500)}`);
    }
    return response;
  }
}
