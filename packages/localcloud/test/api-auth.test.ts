// The local cloud's API and control API check what the router matches: encoded, doubled, dotted
// and re-cased paths reach nothing without the right token, are rate-limited and logged like any
// request, and the control API takes only its own token. Bodies over the limit get 413, other
// content types 415, and a 401 carries the ratelimit-* headers the spec documents.
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalCloud } from '../src';
import { CONTROL_TOKEN_HEADER } from '../src/api/credentials';
import { BODY_LIMIT_BYTES } from '../src/api/server';
import type { LoggedRequest } from '../src/request-log';
import { responseHeaderViolations, responseViolations } from '../../../test/helpers/contract';
import { startLocalCloud } from '../../../test/helpers/localcloud';
import { rawRequest, type RawResponse } from '../../../test/helpers/raw-http';
import { generateEd25519 } from '../../../test/helpers/ssh-keys';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cloud: LocalCloud;
let stateDir: string;
beforeAll(async () => {
  ({ cloud, stateDir } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
});
afterAll(async () => {
  await cloud?.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };
const send = (
  method: string,
  p: string,
  headers: Record<string, string> = {},
  body?: string | Buffer | Buffer[],
  localAddress?: string,
): Promise<RawResponse> => rawRequest(cloud.apiUrl, { method, path: p, headers, body, localAddress });

async function control(method: string, what: string, body?: unknown): Promise<Body> {
  const r = await send(
    method,
    `/_localcloud/${what}`,
    { ...cloud.controlHeaders, ...json },
    body === undefined ? undefined : JSON.stringify(body),
  );
  expect(r.status).toBe(200);
  return r.body as Body;
}

const requestsSince = async (seq: number) =>
  (await control('GET', `requests?since=${seq}`)) as { total: number; requests: LoggedRequest[] };
const newKey = () => JSON.stringify({ name: 'planted', public_key: generateEd25519().public });

// Every way found (or likely) to make a prefix check and a decoding router disagree.
const API_BYPASSES: [method: string, path: string, refused: number][] = [
  ['GET', '/%762/account', 401],
  ['GET', '/%76%32/account', 401],
  ['GET', '/v%32/account', 401],
  ['GET', '/%56%32/account', 401],
  ['GET', '/V2/account', 401],
  ['GET', '/v2/Account', 401],
  ['GET', '//v2/account', 401],
  ['GET', '/v2//account', 401],
  ['GET', '/./v2/account', 401],
  ['GET', '/x/../v2/account', 401],
  ['GET', '/x/%2e%2e/v2/account', 401],
  ['GET', '/v2/account/', 401],
  ['GET', '/v2%2Faccount', 400],
  ['GET', '/v2%2faccount', 400],
  ['GET', '/v2%5Caccount', 400],
  ['GET', '/v2\\account', 400],
  ['GET', '/v2/account%00', 400],
  ['GET', '/v2/acc%ount', 400],
  ['GET', '/v2/%c3%28', 400],
  ['GET', '/../v2/account', 400],
  ['POST', '/%762/account/keys', 401],
  ['POST', '//v2/account/keys', 401],
  ['POST', '/v2/./account/keys', 401],
  ['POST', '/V2/account/keys', 401],
  ['POST', '/v2%2Faccount%2Fkeys', 400],
];
const CONTROL_BYPASSES: [method: string, path: string, refused: number][] = [
  ['GET', '/_localcloud/inventory', 401],
  ['GET', '/%5flocalcloud/inventory', 401],
  ['GET', '/%5Flocalcloud/inventory', 401],
  ['GET', '/%5F%6cocalcloud/inventory', 401],
  ['GET', '/_LocalCloud/inventory', 401],
  ['GET', '/_LOCALCLOUD/inventory', 401],
  ['GET', '//_localcloud/inventory', 401],
  ['GET', '/v2/../_localcloud/inventory', 401],
  ['GET', '/v2/%2e%2e/_localcloud/inventory', 401],
  ['GET', '/v2/%2E%2E/%5flocalcloud/requests', 401],
  ['GET', '/v2%2F..%2F_localcloud/inventory', 400],
  ['POST', '/%5flocalcloud/reset', 401],
  ['PUT', '/%5flocalcloud/rate-limit', 401],
  ['PUT', '/%5flocalcloud/faults', 401],
  ['PUT', '/v2/../_localcloud/faults', 401],
];
const bodyFor = (method: string, p: string) =>
  method === 'GET'
    ? undefined
    : /keys/i.test(p)
      ? newKey()
      : /faults/.test(p)
        ? JSON.stringify({ rules: [{ path: '/', errorRate: 1 }] })
        : /rate-limit/.test(p)
          ? '{"perMinute":1,"perHour":1}'
          : '{}';

test('encoded, doubled, dotted and re-cased paths get nothing without the token, and change nothing', async () => {
  const before = {
    inventory: await control('GET', 'inventory'),
    faults: await control('GET', 'faults'),
    seq: (await requestsSince(0)).total,
  };
  const attempts = [...API_BYPASSES, ...CONTROL_BYPASSES];
  const credentials: Record<string, Record<string, string>> = {
    none: {},
    'a wrong token': bearer('dop_v1_wrong'),
    'the control token as a bearer token': bearer(cloud.controlToken),
  };
  const refused: string[] = [];
  const remaining: number[] = [];
  for (const [name, headers] of Object.entries(credentials)) {
    for (const [method, p, status] of attempts) {
      const r = await send(method, p, { ...headers, ...json }, bodyFor(method, p));
      if (r.status !== status) refused.push(`${method} ${p} with ${name}: ${r.status}, expected ${status}`);
      remaining.push(Number(r.headers.get('ratelimit-remaining')));
      expect(r.body).toMatchObject({ id: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
    }
  }
  expect(refused).toEqual([]);

  // Nothing changed: no key planted, no fault set, no reset, the budget as it was.
  expect(await control('GET', 'inventory')).toEqual(before.inventory);
  expect(await control('GET', 'faults')).toEqual(before.faults);
  expect(cloud.rateLimits.budget).toEqual({ perMinute: 100_000, perHour: 100_000 });
  // Counted: every attempt spent one request of the budget for requests without a valid token...
  expect(remaining).toEqual(remaining.map((_, i) => remaining[0]! - i));
  // ...and logged, with the path as checked and as sent.
  const log = (await requestsSince(before.seq)).requests;
  expect(log).toHaveLength(attempts.length * Object.keys(credentials).length);
  expect(log.slice(0, attempts.length).map((r) => [r.method, r.sent ?? r.url, r.status])).toEqual(attempts);
  expect(log.find((r) => r.sent === '/%762/account')).toMatchObject({ url: '/v2/account', status: 401 });
  expect(log.find((r) => r.sent === '/v2/../_localcloud/inventory')).toMatchObject({ url: '/_localcloud/inventory', status: 401 });
});

test('a request line the HTTP parser cannot read gets a 400 in the same shape, and reaches nothing', async () => {
  const r = await send('GET', 'v2/account');
  expect([r.status, r.body]).toEqual([400, { id: 'bad_request', message: expect.any(String) }]);
});

test('with the API token, the same paths route to what was checked: the API, never the control API', async () => {
  const token = bearer(cloud.token);
  expect((await send('GET', '/%762/account', token)).status).toBe(200);
  expect((await send('GET', '//v2/./account', token)).status).toBe(200);
  expect((await send('GET', '/x/../v2/account', token)).status).toBe(200);
  const planted = await send('POST', '/%762/account/keys', { ...token, ...json }, newKey());
  expect(planted.status).toBe(201);
  expect((await send('DELETE', `/v2/account/keys/${(planted.body as Body).ssh_key.id}`, token)).status).toBe(204);
  // Case is not folded for routing (DigitalOcean's paths are lower case), only for the control check.
  expect((await send('GET', '/V2/account', token)).status).toBe(404);
  for (const [method, p, status] of CONTROL_BYPASSES) {
    expect([method, p, (await send(method, p, { ...token, ...json }, bodyFor(method, p))).status]).toEqual([method, p, status]);
  }
  // The control token opens the control API by any spelling of its path, since that is what is routed.
  expect((await send('GET', '/v2/../_localcloud/inventory', cloud.controlHeaders)).status).toBe(200);
  expect((await send('GET', '/%5flocalcloud/inventory', cloud.controlHeaders)).status).toBe(200);
  expect((await send('GET', '/_LOCALCLOUD/inventory', cloud.controlHeaders)).status).toBe(404);
});

test("requests without a valid token spend a budget of their own: limited, never the account's", async () => {
  const limited = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 3, perHour: 1000 } });
  try {
    const attempt = () => rawRequest(limited.cloud.apiUrl, { method: 'GET', path: '/%762/account' });
    const statuses: [number, string | null][] = [];
    for (let i = 0; i < 4; i++) {
      const r = await attempt();
      statuses.push([r.status, r.headers.get('ratelimit-remaining')]);
    }
    expect(statuses).toEqual([
      [401, '2'],
      [401, '1'],
      [401, '0'],
      [429, '0'],
    ]);
    const account = await rawRequest(limited.cloud.apiUrl, { method: 'GET', path: '/v2/account', headers: bearer(limited.cloud.token) });
    expect([account.status, account.headers.get('ratelimit-remaining')]).toEqual([200, '2']);
  } finally {
    await limited.cloud.stop();
  }
});

test('the control API takes its own token, from the machine only, new at every start', async () => {
  const inventory = '/_localcloud/inventory';
  const refusals: [string, Record<string, string>][] = [
    ['no credential', {}],
    ['the API token', bearer(cloud.token)],
    ['the API token in the control header', { [CONTROL_TOKEN_HEADER]: cloud.token }],
    ['a wrong control token', { [CONTROL_TOKEN_HEADER]: cloud.controlToken.slice(0, -1) + (cloud.controlToken.endsWith('0') ? '1' : '0') }],
    ['the control token as a bearer token', bearer(cloud.controlToken)],
  ];
  for (const [name, headers] of refusals) expect([name, (await send('GET', inventory, headers)).status]).toEqual([name, 401]);
  expect((await send('GET', inventory, cloud.controlHeaders)).status).toBe(200);
  // The control token opens nothing of the DigitalOcean API.
  expect((await send('GET', '/v2/account', cloud.controlHeaders)).status).toBe(401);
  // From a droplet's address, the right token is refused too (droplets are 127.<hostNetwork>.x.y).
  const dropletAddress = `127.${cloud.ctx.hostNetwork}.0.9`;
  expect((await send('GET', inventory, cloud.controlHeaders, undefined, dropletAddress)).status).toBe(401);
  expect((await send('GET', '/v2/account', bearer(cloud.token), undefined, dropletAddress)).status).toBe(200);

  // Kept for the CLI and tests in a file only the owner reads; not the API token.
  const file = path.join(stateDir, 'control-token');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readFileSync(file, 'utf8').trim()).toBe(cloud.controlToken);
  expect(cloud.controlToken).not.toBe(cloud.token);
});

test('a restart makes a new control token and the old one stops working', async () => {
  const first = await startLocalCloud({ sshHosts: false });
  const old = first.cloud.controlHeaders;
  await first.cloud.stop();
  const second = await startLocalCloud({ sshHosts: false, stateDir: first.stateDir });
  try {
    expect(second.cloud.token).toBe(first.cloud.token);
    expect(second.cloud.controlToken).not.toBe(first.cloud.controlToken);
    expect((await rawRequest(second.cloud.apiUrl, { method: 'GET', path: '/_localcloud/inventory', headers: old })).status).toBe(401);
    expect(
      (await rawRequest(second.cloud.apiUrl, { method: 'GET', path: '/_localcloud/inventory', headers: second.cloud.controlHeaders }))
        .status,
    ).toBe(200);
  } finally {
    await second.cloud.stop();
  }
});

test("a body over the limit is a 413 and another content type a 415, in DigitalOcean's error shape", async () => {
  const token = bearer(cloud.token);
  const seq = (await requestsSince(0)).total;
  const huge = JSON.stringify({ name: 'huge', public_key: 'x'.repeat(BODY_LIMIT_BYTES) });
  const cases: [what: string, response: Promise<RawResponse>, status: number, id: string][] = [
    ['a body over the limit', send('POST', '/v2/account/keys', { ...token, ...json }, huge), 413, 'request_entity_too_large'],
    [
      'a chunked body over the limit',
      send('POST', '/v2/account/keys', { ...token, ...json }, [Buffer.from(huge.slice(0, 600_000)), Buffer.from(huge.slice(600_000))]),
      413,
      'request_entity_too_large',
    ],
    ['text/plain', send('POST', '/v2/account/keys', { ...token, 'content-type': 'text/plain' }, newKey()), 415, 'unsupported_media_type'],
    [
      'a form',
      send('POST', '/v2/account/keys', { ...token, 'content-type': 'application/x-www-form-urlencoded' }, 'name=x&public_key=y'),
      415,
      'unsupported_media_type',
    ],
    ['no content type', send('POST', '/v2/account/keys', token, newKey()), 415, 'unsupported_media_type'],
    [
      'a control call over the limit',
      send('PUT', '/_localcloud/faults', { ...cloud.controlHeaders, ...json }, huge),
      413,
      'request_entity_too_large',
    ],
    [
      'a control call as text/plain',
      send('PUT', '/_localcloud/faults', { ...cloud.controlHeaders, 'content-type': 'text/plain' }, '{}'),
      415,
      'unsupported_media_type',
    ],
    // Without the token, nothing is read: the refusal is the 401.
    ['an unauthenticated body over the limit', send('POST', '/v2/account/keys', json, huge), 401, 'Unauthorized'],
  ];
  for (const [what, response, status, id] of cases) {
    const r = await response;
    expect([what, r.status, (r.body as Body).id]).toEqual([what, status, id]);
    expect(r.body).toMatchObject({ message: expect.any(String), request_id: expect.any(String) });
    if (what.startsWith('a control')) continue;
    expect(responseViolations('POST', '/v2/account/keys', r.status, r.body)).toEqual([]);
    expect(responseHeaderViolations('POST', '/v2/account/keys', r.status, r.headers)).toEqual([]);
  }
  expect((await control('GET', 'inventory')).ssh_keys).toEqual([]);
  expect((await control('GET', 'faults')).rules).toEqual([]);
  // The API calls among them are logged with their status; the authorized control calls are not.
  expect((await requestsSince(seq)).requests.map((r) => r.status).sort()).toEqual([401, 413, 413, 415, 415, 415]);
});

test('a 401 carries the ratelimit-* headers the spec documents for it, and the check can fail', async () => {
  for (const headers of [{}, bearer('dop_v1_wrong')]) {
    const r = await send('GET', '/v2/account', headers);
    expect(r.status).toBe(401);
    expect(responseViolations('GET', '/v2/account', 401, r.body)).toEqual([]);
    expect(responseHeaderViolations('GET', '/v2/account', 401, r.headers)).toEqual([]);
    expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
  }
  expect(responseHeaderViolations('GET', '/v2/account', 401, new Headers())).toHaveLength(3);
  expect(
    responseHeaderViolations(
      'GET',
      '/v2/account',
      401,
      new Headers({ 'ratelimit-limit': 'lots', 'ratelimit-remaining': '1', 'ratelimit-reset': '2' }),
    ),
  ).toHaveLength(1);
});
