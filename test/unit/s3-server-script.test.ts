// The local cloud's S3 server script waits on another build's lock out loud, as temporal-cli.sh
// does (both use scripts/lib/pinned-build.sh): the holder named, progress repeated. A gate (a
// process holding the lock until the test closes its stdin) keeps the wait open; nothing is built.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';
import { tempDir } from '../helpers/temp';

const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 's3-server.sh');
const PINNED_COMMIT = '7aac2a2c5b7c882e68c1ce017d8256be2feea27f';

test('waiting on another MinIO build names the holder and goes on when its binary is there', async () => {
  const cache = tempDir('s3-lock');
  const lock = path.join(cache, '.minio.lock');
  const holder = spawn('flock', [lock, 'sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => holder.stdout.on('data', (c: Buffer) => c.toString().includes('locked') && resolve()));

  const child = spawn('bash', [SCRIPT], {
    env: { HOME: os.tmpdir(), PATH: `/usr/local/go/bin:/usr/bin:/bin`, OPSFLOW_CACHE_DIR: cache, OPSFLOW_PROGRESS_INTERVAL: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const secondReport = new Promise<void>((resolve) =>
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if ((stderr.match(/still waiting/g) ?? []).length >= 2) resolve();
    }),
  );
  const done = new Promise<number | null>((resolve) => child.once('close', resolve));
  await secondReport;
  expect(stderr).toContain(
    `s3-server: waiting for the build lock ${lock}, held by pid ${holder.pid} (flock ${lock} sh -c echo locked; exec cat, running `,
  );
  expect(stderr).toContain("another clone or test run is building MinIO (the local cloud's S3 server) 7aac2a2c5b7c (typically 5-15 min)");
  expect(stderr).toMatch(
    new RegExp(
      `still waiting for MinIO \\(the local cloud's S3 server\\) 7aac2a2c5b7c after \\d+m\\d\\ds \\(lock held by pid ${holder.pid} `,
    ),
  );

  // The holder's build is done: the pinned binary is in the cache and the lock is let go.
  const dir = path.join(cache, 'minio-v0.0.0-20260212201848-7aac2a2c5b7c');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'minio'), `#!/bin/sh\necho "minio version DEVELOPMENT.2026-02-12T20-18-48Z (commit-id=${PINNED_COMMIT})"\n`);
  chmodSync(path.join(dir, 'minio'), 0o755);
  holder.stdin.end();
  expect(await done).toBe(0);
  expect(stdout.trim()).toBe(path.join(dir, 'minio'));
});
