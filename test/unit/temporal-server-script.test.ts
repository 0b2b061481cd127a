// scripts/temporal-server.sh resolution order, with a fake layout so no build happens here; the
// real build runs in scripts/test.sh, and test/production runs what it built.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';
import { readComposeTemporal } from '../helpers/compose-temporal';
import { tempDir } from '../helpers/temp';

const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'temporal-server.sh');
const systemPath = '/usr/bin:/bin';

/** The layout the script builds: both binaries and the image's two configuration files. */
function fakeLayout(dir: string, version: string): string {
  mkdirSync(path.join(dir, 'config', 'dynamicconfig'), { recursive: true });
  writeFileSync(path.join(dir, 'temporal-server'), `#!/bin/sh\necho "temporal version ${version}"\n`);
  writeFileSync(path.join(dir, 'temporal-sql-tool'), '#!/bin/sh\n');
  chmodSync(path.join(dir, 'temporal-server'), 0o755);
  chmodSync(path.join(dir, 'temporal-sql-tool'), 0o755);
  writeFileSync(path.join(dir, 'config', 'docker.yaml'), '# enable-template\n');
  writeFileSync(path.join(dir, 'config', 'dynamicconfig', 'docker.yaml'), '');
  return dir;
}

function run(env: Record<string, string>) {
  const result = spawnSync('bash', [SCRIPT], { env: { HOME: os.tmpdir(), ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

test('TEMPORAL_SERVER_DIR wins when it holds the whole layout at the pinned version', () => {
  const dir = fakeLayout(tempDir('server'), '1.29.1');
  expect(run({ PATH: systemPath, TEMPORAL_SERVER_DIR: dir })).toMatchObject({ status: 0, stdout: dir });
});

test('TEMPORAL_SERVER_DIR without the layout is an error that names it', () => {
  const dir = tempDir('server');
  const result = run({ PATH: systemPath, TEMPORAL_SERVER_DIR: dir });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain(`TEMPORAL_SERVER_DIR=${dir} does not hold temporal-server 1.29.1`);
});

test('the cache is used at the pinned version only', () => {
  const cache = tempDir('server-cache');
  const cached = fakeLayout(path.join(cache, 'temporal-server-v1.29.1'), '1.29.1');
  expect(run({ PATH: systemPath, OPSFLOW_CACHE_DIR: cache })).toMatchObject({ status: 0, stdout: cached });
  // A copy of another version is not taken: with no Go on PATH the script says how to get one.
  const stale = tempDir('server-cache');
  fakeLayout(path.join(stale, 'temporal-server-v1.29.1'), '1.28.0');
  const result = run({ PATH: systemPath, OPSFLOW_CACHE_DIR: stale });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('Go is not installed to build it');
  expect(result.stderr).toContain('TEMPORAL_SERVER_DIR');
});

test('the pinned version is the one docker-compose.temporal.yml runs', () => {
  const pinned = /PINNED_VERSION="([\d.]+)"/.exec(readFileSync(SCRIPT, 'utf8'))?.[1];
  expect(pinned).toBe(readComposeTemporal().serverVersion);
});
