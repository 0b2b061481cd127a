// Issue 11, item 7: the state folder (.opsflow: keys, tokens, logs, Temporal history) is the
// user's alone: 0700, and what opsflow writes in it 0600, whatever the umask, tightening what an
// older version left open. The Temporal dev server is started under umask 077, so the history
// database it creates is private too.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnDevServer } from '../../src/devstack/dev-server';
import { ensureStateDir, openPrivateLog } from '../../src/paths';
import { tempDir } from '../helpers/temp';

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
const dir = tempDir('state-dir');
let umask: number;

beforeAll(() => {
  umask = process.umask(0o022); // the usual one, under which files come out 0644
});
afterAll(() => {
  process.umask(umask);
});

test('the state folder is created 0700, and an open one left by an older version is tightened', () => {
  const fresh = path.join(dir, 'fresh', '.opsflow');
  expect(ensureStateDir({ OPSFLOW_STATE_DIR: fresh })).toBe(fresh);
  expect(mode(fresh)).toBe('700');
  const old = path.join(dir, 'old');
  mkdirSync(old, { mode: 0o755 });
  chmodSync(old, 0o755);
  ensureStateDir({ OPSFLOW_STATE_DIR: old });
  expect(mode(old)).toBe('700');
});

test('log files are opened 0600, and an existing 0644 one is tightened', () => {
  const log = path.join(dir, 'worker.log');
  closeSync(openPrivateLog(log));
  expect(mode(log)).toBe('600');
  const older = path.join(dir, 'temporal.log');
  writeFileSync(older, 'old lines\n', { mode: 0o644 });
  chmodSync(older, 0o644);
  closeSync(openPrivateLog(older));
  expect(mode(older)).toBe('600');
});

test('the dev server creates its history database 0600, and this process keeps its umask', async () => {
  // A stand-in for the Temporal CLI that creates the --db-filename it is given, as the server does.
  const fakeCli = path.join(dir, 'fake-temporal');
  writeFileSync(fakeCli, '#!/bin/sh\nwhile [ "$1" != "--db-filename" ]; do shift; done\necho history > "$2"\n', { mode: 0o755 });
  const dbFile = path.join(dir, 'temporal.db');
  const child = spawnDevServer({ cliPath: fakeCli, ip: '127.0.0.1', port: 1, uiPort: 2, dbFile, logFile: path.join(dir, 'dev.log') });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(0);
  expect(mode(dbFile)).toBe('600');
  expect(mode(path.join(dir, 'dev.log'))).toBe('600');
  // The umask was changed only around the spawn.
  const probe = path.join(dir, 'probe');
  execFileSync('touch', [probe]);
  expect(mode(probe)).toBe('644');
});
