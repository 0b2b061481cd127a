// Issue 11, item 7: follow-redirects (under axios, under digitalocean-js) is pinned past its
// published fixes by an npm override (1.15.4: URL parsing, GHSA-jchw-25xp-jwwc; 1.15.6:
// Proxy-Authorization kept across hosts, CVE-2024-28849). The library still works through it: the
// DigitalOcean client follows a redirect, and drops the token when the redirect leaves the host.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DigitalOceanClient } from '../../src/integrations/digitalocean/client';

const FIXED = [1, 15, 6];
const atLeast = (version: string, floor: number[]) => {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < floor.length; i++) if ((parts[i] ?? 0) !== floor[i]) return (parts[i] ?? 0) > floor[i]!;
  return true;
};

/** The follow-redirects a package resolves from its own folder. */
function followRedirectsVersionFor(pkg: string): string {
  const from = path.dirname(require.resolve(`${pkg}/package.json`));
  return (JSON.parse(readFileSync(require.resolve('follow-redirects/package.json', { paths: [from] }), 'utf8')) as { version: string })
    .version;
}

const account = {
  account: {
    droplet_limit: 25,
    floating_ip_limit: 3,
    email: 'ops@example.com',
    uuid: 'u',
    email_verified: true,
    status: 'active',
    status_message: '',
  },
};
let origin: Server;
let elsewhere: Server;
const seen: { server: string; url: string; authorization?: string }[] = [];

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
const record = (server: string, url: string | undefined, headers: IncomingHttpHeaders) =>
  seen.push({ server, url: url ?? '', authorization: headers.authorization });

let originPort: number;
let elsewherePort: number;
beforeAll(async () => {
  elsewhere = createServer((req, res) => {
    record('elsewhere', req.url, req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(account));
  });
  elsewherePort = await listen(elsewhere);
  origin = createServer((req, res) => {
    record('origin', req.url, req.headers);
    if (req.url === '/v2/account') return void res.writeHead(302, { location: '/v2/account/moved' }).end();
    if (req.url === '/v2/account/moved')
      return void res.writeHead(302, { location: `http://localhost:${elsewherePort}/v2/account/elsewhere` }).end();
    res.writeHead(404).end();
  });
  originPort = await listen(origin);
});
afterAll(async () => {
  await Promise.all([origin, elsewhere].map((s) => new Promise((r) => s?.close(r))));
});

test('every copy digitalocean-js and axios load is past the published fixes', () => {
  for (const pkg of ['digitalocean-js', 'axios'])
    expect({ pkg, fixed: atLeast(followRedirectsVersionFor(pkg), FIXED) }).toEqual({ pkg, fixed: true });
});

test('the DigitalOcean client follows redirects through it, and the token stays with the host it was meant for', async () => {
  const client = new DigitalOceanClient({ token: 'dop_v1_redirect-test', apiUrl: `http://127.0.0.1:${originPort}` });
  const info = await client.call('account', (lib) => lib.account.getUserInformation());
  expect(info).toMatchObject({ email: 'ops@example.com', droplet_limit: 25 });
  expect(seen).toEqual([
    { server: 'origin', url: '/v2/account', authorization: 'Bearer dop_v1_redirect-test' },
    { server: 'origin', url: '/v2/account/moved', authorization: 'Bearer dop_v1_redirect-test' },
    // Another host (localhost is not 127.0.0.1 to follow-redirects): the Authorization header is dropped.
    { server: 'elsewhere', url: '/v2/account/elsewhere', authorization: undefined },
  ]);
});
