// `opsflow codec-server`: the remote codec Temporal's Web UI and `temporal` CLI call to show
// encrypted payloads in clear (POST /encode and /decode, body {"payloads": [...]} with base64
// metadata values and data, X-Namespace header). Every encode or decode needs the bearer token,
// from an Authorization header (the CLI's --codec-auth, the Web UI with an identity provider) or
// the cookie GET / hands out (the Web UI with "include cross-origin credentials"). Browsers are
// answered only from the configured origins.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

export const DEFAULT_UI_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const COOKIE = 'opsflow-codec';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The bearer token every encode and decode must present. */
  token: string;
  /** Web UI origins allowed to call from a browser. */
  origins: string[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth) return /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? '';
  const cookie = (req.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${COOKIE}=`));
  return cookie ? decodeURIComponent(cookie.slice(COOKIE.length + 1)) : undefined;
}

function fromJson(body: unknown): Payload[] {
  const payloads = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'body.payloads must be an array');
  return payloads.map((p: JsonPayload, i) => {
    if (typeof p !== 'object' || p === null) throw new HttpError(400, `body.payloads[${i}] must be an object`);
    const metadata: Record<string, Uint8Array> = {};
    for (const [key, value] of Object.entries(p.metadata ?? {})) {
      if (typeof value !== 'string') throw new HttpError(400, `body.payloads[${i}].metadata.${key} must be a base64 string`);
      metadata[key] = Buffer.from(value, 'base64');
    }
    if (p.data !== undefined && typeof p.data !== 'string') throw new HttpError(400, `body.payloads[${i}].data must be a base64 string`);
    return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
  });
}

function toJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
      data: b64(p.data),
    })),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const LOGIN_PAGE = `<!doctype html><title>opsflow codec server</title>
<form method="post" action="/session"><p>Codec server token: <input name="token" type="password" autofocus>
<button>Let this browser decode</button></p></form>`;

export function createCodecServer(options: CodecServerOptions): Server {
  const expected = digest(options.token);
  const authorized = (req: IncomingMessage) => {
    const token = presentedToken(req);
    return token !== undefined && timingSafeEqual(digest(token), expected);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const route = `${req.method} ${new URL(req.url ?? '/', 'http://codec').pathname}`;
    // The login page posts to this server itself: its own origin, which a browser sets and another
    // site cannot. Everything else from a browser must come from an allowed Web UI origin.
    const ownLogin = route === 'POST /session' && origin === `http://${req.headers.host}`;
    if (origin !== undefined && !ownLogin) {
      if (!options.origins.includes(origin)) throw new HttpError(403, `origin ${origin} is not allowed (--origin)`);
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (route === 'GET /') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(LOGIN_PAGE);
      return;
    }
    if (route === 'POST /session') {
      const token = new URLSearchParams(await readBody(req)).get('token') ?? '';
      if (!timingSafeEqual(digest(token), expected)) throw new HttpError(401, 'wrong token');
      res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('This browser may now decode payloads through this codec server.\n');
      return;
    }
    if (route !== 'POST /encode' && route !== 'POST /decode') throw new HttpError(404, 'POST /encode or /decode');
    if (!authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'a valid bearer token is required (Authorization: Bearer <token>)');
    }
    // application/json also forces a browser to ask first (CORS preflight) instead of posting blind.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'Content-Type must be application/json');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'body is not JSON');
    }
    const payloads = fromJson(body);
    let result: Payload[];
    try {
      result = route === 'POST /encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
    } catch (err) {
      throw new HttpError(422, err instanceof Error ? err.message : String(err));
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(toJson(result)));
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : 'internal error';
      if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: message }));
    });
  });
}
