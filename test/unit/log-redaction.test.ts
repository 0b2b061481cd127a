// Issue 11, item 7: secrets are redacted from logs by key name at any depth (arrays too), and
// strings that are keys or tokens are redacted whatever their key. Before, only top-level keys were.
import { JsonLogger } from '../../src/logging';

function logged(message: string, meta: Record<string, unknown>): Record<string, unknown> {
  const lines: string[] = [];
  new JsonLogger('INFO', (line) => lines.push(line)).info(message, meta);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

// Fake secrets, assembled at run time so secret scanners do not flag this file.
const token = 'dop_v1_' + 'abcdef0123456789'.repeat(4);
const keyBlock = '-----BEGIN OPENSSH ' + 'PRIVATE KEY-----\nAAAA';

test('nested secret keys are redacted at any depth, in arrays too', () => {
  const entry = logged('connected', {
    db: { host: 'db.internal', password: 'hunter2', options: { sslmode: 'require', passphrase: 'p' } },
    targets: [
      { name: 'a', credentials: { apiKey: 'k1' } },
      { name: 'b', token: 't2' },
    ],
    headers: [['Authorization', 'Bearer x']],
    Authorization: 'Bearer y',
  });
  expect(entry).toMatchObject({
    db: { host: 'db.internal', password: '[redacted]', options: { sslmode: 'require', passphrase: '[redacted]' } },
    targets: [
      { name: 'a', credentials: '[redacted]' },
      { name: 'b', token: '[redacted]' },
    ],
    Authorization: '[redacted]',
  });
  expect(JSON.stringify(entry)).not.toMatch(/hunter2|"p"|k1|t2|Bearer y/);
});

test('a token or a private key is redacted whatever its key, in the message too', () => {
  const entry = logged(`calling with ${token}`, { note: token, list: ['fine', keyBlock], err: new Error(`bad key ${keyBlock}`) });
  expect(entry).toMatchObject({
    message: '[redacted]',
    note: '[redacted]',
    list: ['fine', '[redacted]'],
    err: { name: 'Error', message: '[redacted]' },
  });
  expect(JSON.stringify(entry)).not.toContain('abcdef0123456789');
});

test("the local cloud's token (dop_v1_local...) is redacted wherever it appears", () => {
  const local = 'dop_v1_local' + '0123456789abcdef'.repeat(3);
  const entry = logged('calling the local cloud', {
    request: { url: 'http://127.0.0.1:7300/v2/account', headers: [`Bearer ${local}`] },
    endpoint: { apiUrl: 'http://127.0.0.1:7300', token: local },
  });
  expect(JSON.stringify(entry)).not.toContain('0123456789abcdef');
});

test('a cycle does not stop the log line', () => {
  const meta: Record<string, unknown> = { name: 'loop', secret: 's' };
  meta.self = meta;
  expect(logged('cycle', meta)).toMatchObject({ name: 'loop', secret: '[redacted]', self: '[circular]' });
});
