// The API server calls the local cloud makes itself (readiness, registering and removing a node
// pool's nodes, the pod runner's watch and status writes), over HTTPS pinned to the cluster's CA
// with the admin token.
import { request } from 'node:https';

export interface KubeResponse {
  status: number;
  body: string;
}

/** One line of a watch: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (then `object` is a Status). */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** A watch the API server refused (410 Gone: the resource version is too old; list again). */
export class WatchRefused extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`watch answered ${status}: ${body.slice(0, 300)}`);
  }
}

export class KubeClient {
  constructor(
    readonly server: string,
    readonly caPem: string,
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

  /**
   * Follows a watch (`path` with watch=1): `onEvent` gets each event as it arrives. Resolves when the
   * server ends the stream (its timeoutSeconds) or `signal` aborts; rejects on a refusal
   * (WatchRefused), a broken connection, or no byte for `idleMs` (bookmarks arrive about every minute).
   */
  watch<T>(path: string, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal, idleMs = 150_000): Promise<void> {
    const url = new URL(path, this.server);
    return new Promise((resolve, reject) => {
      if (signal.aborted) return resolve();
      const req = request(
        url,
        { method: 'GET', ca: this.caPem, timeout: idleMs, headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => reject(new WatchRefused(res.statusCode ?? 0, Buffer.concat(chunks).toString())));
            res.on('error', reject);
            return;
          }
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffered += chunk;
            let newline: number;
            while ((newline = buffered.indexOf('\n')) !== -1) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              if (!line) continue;
              try {
                onEvent(JSON.parse(line) as WatchEvent<T>);
              } catch (error) {
                req.destroy(error as Error);
                return;
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
        },
      );
      const abort = () => {
        req.destroy();
        resolve();
      };
      signal.addEventListener('abort', abort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', abort));
      req.on('timeout', () => req.destroy(new Error(`watch ${url.pathname}: nothing for ${idleMs} ms`)));
      req.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
      req.end();
    });
  }
}
