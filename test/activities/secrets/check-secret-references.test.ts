// The secrets preflight activity on its own: each reason a reference does not resolve, told apart,
// every one reported, and nothing of a value in what it returns.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSecretActivities } from '../../../src/activities/secrets/check-secret-references';

const root = mkdtempSync(path.join(os.tmpdir(), 'opsflow-secret-check-'));
const secretsDir = path.join(root, 'secrets');
mkdirSync(secretsDir);
writeFileSync(path.join(secretsDir, 'db'), 'file-value-0815\n');
writeFileSync(path.join(root, 'outside'), 'outside-value-0815');
symlinkSync(path.join(root, 'outside'), path.join(secretsDir, 'escape'));
mkdirSync(path.join(secretsDir, 'a-folder'));

const env: NodeJS.ProcessEnv = {
  OPSFLOW_SECRETS_DIR: secretsDir,
  OPSFLOW_SECRET_DB: 'env-value-0815',
  OPSFLOW_SECRET_EMPTY: '',
  UNLISTED: 'unlisted-value-0815',
};
const { checkSecretReferences } = createSecretActivities({ env: () => env });

test('every present reference passes, and each missing one is named with its reason', async () => {
  const result = await checkSecretReferences({
    references: {
      DB_ENV: 'env:OPSFLOW_SECRET_DB',
      DB_FILE: `file:${secretsDir}/db`,
      NOT_SET: 'env:OPSFLOW_SECRET_NOPE',
      EMPTY: 'env:OPSFLOW_SECRET_EMPTY',
      UNLISTED: 'env:UNLISTED',
      OWN: 'env:DIGITALOCEAN_TOKEN',
      NO_FILE: `file:${secretsDir}/nope`,
      OUTSIDE: `file:${root}/outside`,
      ESCAPE: `file:${secretsDir}/escape`,
      FOLDER: `file:${secretsDir}/a-folder`,
    },
  });
  expect(result.missing.map(({ name, problem }) => [name, problem])).toEqual([
    ['NOT_SET', 'not set'],
    ['EMPTY', 'not set'],
    ['UNLISTED', 'not allowed'],
    ['OWN', 'not allowed'],
    ['NO_FILE', 'file missing'],
    ['OUTSIDE', 'not allowed'],
    ['ESCAPE', 'not allowed'],
    ['FOLDER', 'unreadable'],
  ]);
  expect(result.missing.find((m) => m.name === 'UNLISTED')?.reason).toContain('OPSFLOW_SECRET_ENV');
  expect(result.missing.find((m) => m.name === 'OUTSIDE')?.reason).toContain('OPSFLOW_SECRETS_DIR');
  expect(JSON.stringify(result)).not.toMatch(/value-0815/);
});

test('the environment is read at each call: a variable or file that appears is found without a new activity object', async () => {
  const refs = { LATE: 'env:OPSFLOW_SECRET_LATE', LATE_FILE: `file:${secretsDir}/late` };
  expect((await checkSecretReferences({ references: refs })).missing.map((m) => m.problem)).toEqual(['not set', 'file missing']);
  env.OPSFLOW_SECRET_LATE = 'late-value';
  writeFileSync(path.join(secretsDir, 'late'), 'late-file-value');
  expect(await checkSecretReferences({ references: refs })).toEqual({ missing: [] });
});

test('with only a resolver (as tests wire SSH activities), what it cannot resolve is reported as not set', async () => {
  const check = createSecretActivities({
    resolve: (ref) => (ref === 'env:KNOWN' ? 'known-value' : Promise.reject(new Error(`no ${ref}`))),
  });
  expect(await check.checkSecretReferences({ references: { A: 'env:KNOWN', B: 'env:UNKNOWN' } })).toEqual({
    missing: [{ name: 'B', ref: 'env:UNKNOWN', problem: 'not set', reason: 'no env:UNKNOWN' }],
  });
});
