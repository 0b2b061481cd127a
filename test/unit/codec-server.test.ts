// `opsflow codec-server` over real HTTP: what the Web UI and the temporal CLI send (Temporal's
// remote codec protocol), answered only with the token and, for browsers, only to allowed origins.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { buildCli } from '../../src/client/cli';
import { createCodecServer, DEFAULT_UI_ORIGINS } from '../../src/client/codec-server';
import { EncryptionCodec } from '../../src/temporal/codec/encryption-codec';
import { parseCodecKeys } from '../../src/temporal/codec/keys';

const TOKEN = randomBytes(24).toString('base64url');
const UI = 'http://127.0.0.1:8233';
const codec = new EncryptionCodec(parseCodecKeys(`k1:${randomBytes(32).toString('base64')}`, 'test'));
let server: Server;
let base: string;

beforeAll(async () => {
  server = createCodecServer({ codec, token: TOKEN, origins: DEFAULT_UI_ORIGINS });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections(); // fetch keeps connections alive
  await closed;
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const clearPayload = () => {
  const p = defaultPayloadConverter.toPayload({ password: 'correct-horse-battery' });
  return { metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, b64(v)])), data: b64(p.data!) };
};
const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
    body: JSON.stringify(body),
  });
const auth = { Authorization: `Bearer ${TOKEN}` };

test('encode then decode through the server gives the value back; the encoded form holds none of it', async () => {
  const encoded = await post('/encode', { payloads: [clearPayload()] }, auth);
  expect(encoded.status).toBe(200);
  const body = (await encoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
  expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
  expect(Buffer.from(body.payloads[0]!.data, 'base64').toString('latin1')).not.toContain('correct-horse');
  const decoded = await post('/decode', body, auth);
  expect(decoded.status).toBe(200);
  expect(await decoded.json()).toEqual({ payloads: [clearPayload()] });
});

test('no token, a wrong token or a wrong scheme is refused with 401 and nothing decoded', async () => {
  const [encoded] = await codec.encode([defaultPayloadConverter.toPayload('secret-value')]);
  const body = {
    payloads: [
      {
        metadata: { encoding: b64(encoded!.metadata!.encoding!), 'encryption-key-id': b64(encoded!.metadata!['encryption-key-id']!) },
        data: b64(encoded!.data!),
      },
    ],
  };
  const attempts: Record<string, string>[] = [
    {},
    { Authorization: 'Bearer not-the-token' },
    { Authorization: `Basic ${TOKEN}` },
    { Cookie: 'opsflow-codec=nope' },
  ];
  for (const headers of attempts) {
    const response = await post('/decode', body, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.text()).not.toContain('secret-value');
  }
});

test('CORS: the Web UI origin gets its preflight answered and may send credentials; another origin is refused', async () => {
  const preflight = await fetch(`${base}/decode`, {
    method: 'OPTIONS',
    headers: {
      Origin: UI,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe(UI);
  expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
  expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toEqual(expect.stringContaining('x-namespace'));
  const fromUi = await post('/encode', { payloads: [] }, { ...auth, Origin: UI });
  expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI);

  const evil = await fetch(`${base}/decode`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  expect(evil.status).toBe(403);
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  expect((await post('/decode', { payloads: [] }, { ...auth, Origin: 'http://evil.example' })).status).toBe(403);
});

test('a browser session: the token posted to /session sets an HttpOnly cookie that decodes; a wrong one sets none', async () => {
  const wrong = await fetch(`${base}/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'token=nope',
  });
  expect(wrong.status).toBe(401);
  expect(wrong.headers.get('set-cookie')).toBeNull();
  const right = await fetch(`${base}/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(TOKEN)}`,
  });
  expect(right.status).toBe(200);
  const cookie = right.headers.get('set-cookie')!;
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  expect((await post('/encode', { payloads: [clearPayload()] }, { Cookie: cookie.split(';')[0]! })).status).toBe(200);
});

test('the login page works in a browser: its own origin may post the token; another site may not', async () => {
  const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const body = `token=${encodeURIComponent(TOKEN)}`;
  const own = await fetch(`${base}/session`, { method: 'POST', headers: { ...form, Origin: base }, body });
  expect(own.status).toBe(200);
  expect(own.headers.get('set-cookie')).toMatch(/HttpOnly/);
  const evil = await fetch(`${base}/session`, { method: 'POST', headers: { ...form, Origin: 'http://evil.example' }, body });
  expect(evil.status).toBe(403);
  expect(evil.headers.get('set-cookie')).toBeNull();
  // Its own origin opens nothing else: decoding from the codec server's page is still refused.
  expect((await post('/decode', { payloads: [] }, { ...auth, Origin: base })).status).toBe(403);
});

test('bad requests name what is wrong: content type, body shape, unknown key id', async () => {
  const text = await fetch(`${base}/decode`, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: '{}' });
  expect(text.status).toBe(415);
  const shape = await post('/decode', { payloads: [{ data: 5 }] }, auth);
  expect(shape.status).toBe(400);
  expect(await shape.json()).toEqual({ error: 'body.payloads[0].data must be a base64 string' });
  const unknown = await post(
    '/decode',
    {
      payloads: [
        {
          metadata: { encoding: b64(Buffer.from('binary/encrypted')), 'encryption-key-id': b64(Buffer.from('k7')) },
          data: b64(randomBytes(40)),
        },
      ],
    },
    auth,
  );
  expect(unknown.status).toBe(422);
  expect(((await unknown.json()) as { error: string }).error).toContain('encrypted with key k7');
  expect((await fetch(`${base}/other`, { method: 'POST', headers: auth })).status).toBe(404);
});

describe('opsflow codec-server refuses to start', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
  const start = (args: string[]) => buildCli().parseAsync(['codec-server', '--port', '1', ...args], { from: 'user' });

  test("without the worker's keys", async () => {
    delete process.env.OPSFLOW_CODEC_KEYS;
    delete process.env.OPSFLOW_CODEC_KEY_FILE;
    await expect(start([])).rejects.toThrow(
      'no payload encryption keys: set OPSFLOW_CODEC_KEY_FILE or OPSFLOW_CODEC_KEYS as for the worker',
    );
  });

  test('without a token, or with a short one', async () => {
    process.env.OPSFLOW_CODEC_KEYS = `k1:${randomBytes(32).toString('base64')}`;
    delete process.env.OPSFLOW_CODEC_SERVER_TOKEN;
    await expect(start([])).rejects.toThrow('the codec server needs a token: set OPSFLOW_CODEC_SERVER_TOKEN or pass --token-file');
    process.env.OPSFLOW_CODEC_SERVER_TOKEN = 'short';
    await expect(start([])).rejects.toThrow('at least 16 characters');
  });
});
