// Issue 11, item 5: a spec's secret references get only what the worker is configured to hand
// out. The spec schema refuses the worker's own settings and climbing paths at the edge; the
// worker's resolver refuses anything outside its allowlist (OPSFLOW_SECRET_ENV, default
// OPSFLOW_SECRET_*) and files outside its OPSFLOW_SECRETS_DIR, links followed.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { secretResolver } from '../../src/backups/secrets';
import { secretRef } from '../../src/specs/common';
import { parseWorkerEnvironment } from '../../src/specs/worker-environment';
import { tempDir } from '../helpers/temp';

const dir = tempDir('secret-refs');
const secretsDir = path.join(dir, 'secrets');
const outside = path.join(dir, 'id_rsa');

beforeAll(() => {
  mkdirSync(secretsDir);
  writeFileSync(path.join(secretsDir, 'db-password'), 'hunter2\n');
  writeFileSync(outside, 'not for droplets');
  symlinkSync(outside, path.join(secretsDir, 'sneaky'));
  writeFileSync(path.join(secretsDir, 'large'), 'x'.repeat(65 * 1024));
});

const workerEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  DIGITALOCEAN_TOKEN: 'dop_v1_the-worker-s-own',
  TEMPORAL_API_KEY: 'temporal-key',
  OPSFLOW_SECRET_DB: 'from-the-allowed-prefix',
  STACK_A_POSTGRES_PASSWORD: 'stack-a',
  OPSFLOW_SECRETS_DIR: secretsDir,
  ...extra,
});

async function outcome(resolve: (ref: string) => Promise<string>, ref: string): Promise<string> {
  return resolve(ref).then(
    (value) => `value ${value}`,
    (err: Error) => `refused: ${err.message}`,
  );
}

test("the spec schema refuses the worker's own settings and paths that climb, and keeps the rest", () => {
  const refused = [
    'env:DIGITALOCEAN_TOKEN',
    'env:DIGITALOCEAN_API_URL',
    'env:TEMPORAL_API_KEY',
    'env:LINODE_TOKEN',
    'env:AWS_SECRET_ACCESS_KEY',
    'env:OPSFLOW_SSH_KEYS',
    'file:/run/secrets/../../root/.ssh/id_rsa',
    'file:/run/secrets//x',
    'file:/run/./secrets/x',
    'file:relative',
    'hunter2',
  ];
  expect(refused.filter((ref) => secretRef.safeParse(ref).success)).toEqual([]);
  const accepted = ['env:OPSFLOW_SECRET_DB', 'env:STACK_A_POSTGRES_PASSWORD', 'file:/run/secrets/db-password'];
  expect(accepted.filter((ref) => !secretRef.safeParse(ref).success)).toEqual([]);
});

test('by default the worker hands out OPSFLOW_SECRET_* only, never its own token even if listed', async () => {
  const resolve = secretResolver(workerEnv());
  expect(await outcome(resolve, 'env:OPSFLOW_SECRET_DB')).toBe('value from-the-allowed-prefix');
  expect(await outcome(resolve, 'env:STACK_A_POSTGRES_PASSWORD')).toBe(
    'refused: secret env:STACK_A_POSTGRES_PASSWORD: the worker hands out only OPSFLOW_SECRET_* (its OPSFLOW_SECRET_ENV), not STACK_A_POSTGRES_PASSWORD',
  );
  expect(await outcome(resolve, 'env:DIGITALOCEAN_TOKEN')).toBe(
    "refused: secret env:DIGITALOCEAN_TOKEN: DIGITALOCEAN_TOKEN is one of the worker's own settings or credentials, which it never hands out",
  );
  const careless = secretResolver(workerEnv({ OPSFLOW_SECRET_ENV: 'DIGITALOCEAN_TOKEN,TEMPORAL_*,STACK_A_*' }));
  expect(await outcome(careless, 'env:DIGITALOCEAN_TOKEN')).toMatch(/^refused: .*never hands out/);
  expect(await outcome(careless, 'env:TEMPORAL_API_KEY')).toMatch(/^refused: .*never hands out/);
  expect(await outcome(careless, 'env:STACK_A_POSTGRES_PASSWORD')).toBe('value stack-a');
  expect(await outcome(careless, 'env:OPSFLOW_SECRET_DB')).toMatch(
    /^refused: .*the worker hands out only DIGITALOCEAN_TOKEN, TEMPORAL_\*, STACK_A_\*/,
  );
});

test('file: references resolve only inside the secrets folder, links followed', async () => {
  const resolve = secretResolver(workerEnv());
  expect(await outcome(resolve, `file:${secretsDir}/db-password`)).toBe('value hunter2');
  expect(await outcome(resolve, `file:${outside}`)).toBe(
    `refused: secret file:${outside}: the worker reads secrets only from files inside ${secretsDir} (its OPSFLOW_SECRETS_DIR)`,
  );
  expect(await outcome(resolve, 'file:/etc/hostname')).toMatch(/^refused: .*only from files inside/);
  expect(await outcome(resolve, `file:${secretsDir}/sneaky`)).toMatch(/^refused: .*only from files inside/);
  expect(await outcome(resolve, `file:${secretsDir}/large`)).toMatch(/^refused: .*not a regular file of at most 64 KiB/);
  // The default folder is Docker's /run/secrets: this machine's /root is never in it.
  expect(await outcome(secretResolver({}), 'file:/root/.ssh/id_rsa')).toMatch(
    /^refused: secret file:\/root\/.ssh\/id_rsa: (cannot read it|the worker reads secrets only from files inside \/run\/secrets)/,
  );
});

test('the worker refuses a malformed allowlist or secrets folder at start', () => {
  expect(() => parseWorkerEnvironment({ OPSFLOW_SECRET_ENV: 'STACK A, *' })).toThrow(/OPSFLOW_SECRET_ENV: must look like/);
  expect(() => parseWorkerEnvironment({ OPSFLOW_SECRETS_DIR: 'secrets' })).toThrow(/OPSFLOW_SECRETS_DIR: must be an absolute path/);
  expect(parseWorkerEnvironment({ OPSFLOW_SECRET_ENV: 'OPSFLOW_SECRET_*, STACK_A_POSTGRES_PASSWORD' })).toMatchObject({
    OPSFLOW_SECRET_ENV: 'OPSFLOW_SECRET_*, STACK_A_POSTGRES_PASSWORD',
  });
});

test('a literal value where a secret reference belongs is never echoed in the error', () => {
  for (const literal of [12345678, 'hunter2', true]) {
    const result = secretRef.safeParse(literal);
    expect(result.success).toBe(false);
    const message = result.error!.issues.map((issue) => issue.message).join('; ');
    expect(message).toMatch(/must be a secret reference/);
    expect(message).not.toContain(String(literal));
  }
  // A missing one is still said to be required.
  expect(secretRef.safeParse(undefined).error!.issues[0]!.message).not.toMatch(/not a literal/);
});
