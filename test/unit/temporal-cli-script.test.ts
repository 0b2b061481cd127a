// scripts/temporal-cli.sh resolution order, with fake binaries so no build happens here; the real
// build is exercised by every fresh CI run (global-setup calls the same script).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_CLI_SCRIPT } from '../../src/devstack/temporal-cli';
import { tempDir } from '../helpers/temp';

function fakeTemporal(dir: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'temporal');
  writeFileSync(file, `#!/bin/sh\necho "temporal version ${version} (Server 1.29.1, UI 2.42.1)"\n`);
  chmodSync(file, 0o755);
  return file;
}

function run(env: Record<string, string>) {
  const result = spawnSync('bash', [TEMPORAL_CLI_SCRIPT], { env: { HOME: os.tmpdir(), ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

const tmp = () => tempDir('cli');
const systemPath = '/usr/bin:/bin';

test('TEMPORAL_CLI_PATH wins when set', () => {
  const cli = fakeTemporal(tmp(), '9.9.9');
  expect(run({ PATH: systemPath, TEMPORAL_CLI_PATH: cli })).toMatchObject({ status: 0, stdout: cli });
});

test('TEMPORAL_CLI_PATH that is not executable is an error that names it', () => {
  const result = run({ PATH: systemPath, TEMPORAL_CLI_PATH: '/nonexistent/temporal' });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('TEMPORAL_CLI_PATH=/nonexistent/temporal is not an executable file');
});

test('temporal on PATH is used only at the pinned version', () => {
  const binDir = tmp();
  const onPath = fakeTemporal(binDir, '1.5.1');
  expect(run({ PATH: `${binDir}:${systemPath}`, OPSFLOW_CACHE_DIR: tmp() })).toMatchObject({ status: 0, stdout: onPath });

  const wrongDir = tmp();
  fakeTemporal(wrongDir, '1.4.0');
  const cache = tmp();
  const cached = fakeTemporal(path.join(cache, 'temporal-cli-v1.5.1'), '1.5.1');
  expect(run({ PATH: `${wrongDir}:${systemPath}`, OPSFLOW_CACHE_DIR: cache })).toMatchObject({ status: 0, stdout: cached });
});

test('with no CLI and no Go it says how to install one', () => {
  const result = run({ PATH: systemPath, OPSFLOW_CACHE_DIR: tmp() });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('Go is not installed to build it');
  expect(result.stderr).toContain('TEMPORAL_CLI_PATH');
});

test('the real cached CLI is the pinned version', () => {
  const cli = process.env.OPSFLOW_TEMPORAL_CLI as string;
  expect(execFileSync(cli, ['--version'], { encoding: 'utf8' })).toMatch(/^temporal version 1\.5\.1 /);
});
