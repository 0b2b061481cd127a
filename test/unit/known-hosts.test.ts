// known_hosts lookups as OpenSSH does them: plain and hashed names, [host]:port, wildcards and
// negations, @revoked and @cert-authority markers, junk ignored. OpenSSH's own ssh-keygen hashes
// the file and, with -F, says which lines it finds, as a cross-check.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knownHostsName, lookupKnownHosts, readKnownHosts } from '../../src/integrations/ssh/known-hosts';
import { fingerprintOf, generateEd25519 } from '@opsflow/localcloud';

const [a, b, c, d, e] = Array.from({ length: 5 }, () => generateEd25519().public.split(' ').slice(0, 2).join(' '));
const fp = (key: string) => fingerprintOf(key as string);
const dir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-known-hosts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILE = [
  '# comment line',
  '',
  `203.0.113.10 ${a}`,
  `[203.0.113.10]:2222 ${b}`,
  `db.example.com,203.0.113.11 ${c} a comment`,
  `10.0.0.* ${d}`,
  `10.0.1.*,!10.0.1.5 ${e}`,
  `@revoked 203.0.113.12 ${a}`,
  `203.0.113.12 ${a}`,
  `203.0.113.12 ${b}`,
  `@cert-authority *.example.org ${c}`,
  `203.0.113.13 ssh-ed25519 not-base64!`,
  `203.0.113.13 ssh-rsa ${(a as string).split(' ')[1]}`,
  `@unknown-marker 203.0.113.14 ${a}`,
].join('\n');

test.each([
  ['203.0.113.10', 22, [a]],
  ['203.0.113.10', 2222, [b]],
  ['203.0.113.11', 22, [c]],
  ['DB.Example.com', 22, [c]],
  ['203.0.113.11', 2200, []],
  ['10.0.0.77', 22, [d]],
  ['10.0.1.4', 22, [e]],
  ['10.0.1.5', 22, []],
  ['203.0.113.12', 22, [b]],
  ['203.0.113.13', 22, []],
  ['203.0.113.14', 22, []],
  ['198.51.100.1', 22, []],
])('%s port %i', (host, port, keys) => {
  expect(lookupKnownHosts(FILE, host as string, port as number).fingerprints).toEqual((keys as string[]).map(fp));
});

test('revoked keys and certificate authorities are reported, not accepted', () => {
  expect(lookupKnownHosts(FILE, '203.0.113.12', 22)).toEqual({
    fingerprints: [fp(b as string)],
    revoked: [fp(a as string)],
    certificateAuthorities: 0,
  });
  expect(lookupKnownHosts(FILE, 'web.example.org', 22)).toEqual({ fingerprints: [], revoked: [], certificateAuthorities: 1 });
  expect(knownHostsName('Host', 22)).toBe('host');
  expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
});

test('a file hashed by ssh-keygen -H finds the same keys, and ssh-keygen -F agrees', async () => {
  const file = path.join(dir, 'known_hosts');
  writeFileSync(file, [`203.0.113.10 ${a}`, `[203.0.113.10]:2222 ${b}`, `db.example.com,203.0.113.11 ${c}`, ''].join('\n'));
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  const hashed = readFileSync(file, 'utf8');
  expect(hashed).not.toMatch(/203\.0\.113|example/);
  for (const [host, port, keys] of [
    ['203.0.113.10', 22, [a]],
    ['203.0.113.10', 2222, [b]],
    ['203.0.113.11', 22, [c]],
    ['db.example.com', 22, [c]],
    ['203.0.113.11', 2222, []],
  ] as const) {
    const ours = await readKnownHosts(file, host, port);
    expect([host, port, ours.fingerprints]).toEqual([host, port, keys.map((k) => fp(k as string))]);
    let found = '';
    try {
      found = execFileSync('ssh-keygen', ['-F', knownHostsName(host, port), '-f', file], { encoding: 'utf8' });
    } catch {
      found = ''; // exit 1: not found
    }
    const theirs = found
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => fp(l.split(' ').slice(1, 3).join(' ')));
    expect(theirs).toEqual(ours.fingerprints);
  }
  expect(await readKnownHosts(path.join(dir, 'missing'), '203.0.113.10', 22)).toEqual({
    fingerprints: [],
    revoked: [],
    certificateAuthorities: 0,
    fileExists: false,
  });
});
