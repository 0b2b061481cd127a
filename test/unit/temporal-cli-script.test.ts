// scripts/temporal-cli.sh resolution order, with fake binaries so no build happens here; the real
// build is exercised by every fresh CI run (global-setup calls the same script).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

// No silent waits: another build's lock and the build itself both report, every
// OPSFLOW_PROGRESS_INTERVAL seconds (1 here), what they wait for. Gates hold each wait open until
// the test has seen the lines it expects, so nothing here depends on timing.
describe('progress while waiting', () => {
  /** Resolves once `text()` matches, checked on every chunk the child writes to stderr. */
  function whenStderr(child: ChildProcess, text: () => string, pattern: RegExp): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pattern.test(text())) resolve();
      };
      child.stderr?.on('data', check);
      child.once('exit', (code) => reject(new Error(`exited ${code} before ${pattern}:\n${text()}`)));
    });
  }

  function startScript(env: Record<string, string>) {
    const child = spawn('bash', [TEMPORAL_CLI_SCRIPT], { env: { HOME: os.tmpdir(), OPSFLOW_PROGRESS_INTERVAL: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return { child, stdout: () => stdout.trim(), stderr: () => stderr, done };
  }

  /** A `go` that must not be run (the lock holder builds); present because the script checks for Go first. */
  function goNeverRun(): string {
    const dir = tmp();
    writeFileSync(path.join(dir, 'go'), '#!/bin/sh\necho "go must not run here" >&2\nexit 99\n');
    chmodSync(path.join(dir, 'go'), 0o755);
    return dir;
  }

  test('waiting on another build names the holder, repeats what it reports, and goes on when it is done', async () => {
    const cache = tmp();
    const lock = path.join(cache, '.temporal-cli.lock');
    // The gate: another process holds the build lock until the test closes its stdin.
    const holder = spawn('flock', [lock, 'sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.on('data', (c: Buffer) => c.toString().includes('locked') && resolve()));
    // What a building holder writes for the clones that wait on it.
    writeFileSync(
      path.join(cache, '.temporal-cli.status'),
      `pid ${holder.pid} started building the Temporal CLI v1.5.1 at 00:00:00 UTC\n2m10s elapsed; 40 modules downloaded, 300 of at most ~1300 packages compiled (now: go.temporal.io/server/common)\n`,
    );

    const script = startScript({ PATH: `${goNeverRun()}:${systemPath}`, OPSFLOW_CACHE_DIR: cache });
    await whenStderr(script.child, script.stderr, /(still waiting[^\n]*\n[^]*){2}/);

    const lines = script.stderr();
    expect(lines).toContain(
      `temporal-cli: waiting for the build lock ${lock}, held by pid ${holder.pid} (flock ${lock} sh -c echo locked; exec cat, running 0m`,
    );
    expect(lines).toContain('another clone or test run is building the Temporal CLI v1.5.1 (typically 3-15 min)');
    expect(lines).toMatch(
      new RegExp(
        `still waiting for the Temporal CLI v1\\.5\\.1 after \\d+m\\d\\ds \\(lock held by pid ${holder.pid} [^\\n]*\\); it reports: 2m10s elapsed; 40 modules downloaded, 300 of at most ~1300 packages compiled`,
      ),
    );

    // The holder finished: its binary is in the cache, and it lets go of the lock.
    const built = fakeTemporal(path.join(cache, 'temporal-cli-v1.5.1'), '1.5.1');
    holder.stdin.end();
    expect(await script.done).toBe(0);
    expect(script.stdout()).toBe(built);
    expect(script.stderr()).toMatch(/got the build lock after \d+m\d\ds\./);
    expect(script.stderr()).not.toContain('go must not run here');
  });

  /** A `go install -v` stand-in: reports modules and packages, then waits for the test's gate file. */
  function fakeGo(gate: string, exitCode = 0): string {
    const dir = tmp();
    writeFileSync(
      path.join(dir, 'go'),
      [
        '#!/bin/sh',
        'if [ "$1" = version ]; then echo "go version go1.24.0 linux/amd64"; exit 0; fi',
        'for m in a b c; do echo "go: downloading example.com/$m v1.0.0" >&2; done',
        'echo example.com/a/pkg >&2; echo example.com/b/pkg >&2',
        `while [ ! -e '${gate}' ]; do sleep 0.1; done`,
        exitCode === 0
          ? `printf '#!/bin/sh\\necho "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"\\n' > "$GOBIN/temporal"; chmod 755 "$GOBIN/temporal"`
          : 'echo "example.com/b/pkg: compile: out of memory" >&2',
        `exit ${exitCode}`,
      ].join('\n') + '\n',
    );
    chmodSync(path.join(dir, 'go'), 0o755);
    return dir;
  }

  test('the build itself reports modules and packages until it is done, and keeps a status for waiters', async () => {
    const cache = tmp();
    const gate = path.join(tmp(), 'go-may-finish');
    const script = startScript({ PATH: `${fakeGo(gate)}:${systemPath}`, OPSFLOW_CACHE_DIR: cache });
    await whenStderr(
      script.child,
      script.stderr,
      /3 modules downloaded, 2 of at most ~1300 packages compiled \(now: example\.com\/b\/pkg\)/,
    );
    expect(script.stderr()).toContain(
      'temporal-cli: building the Temporal CLI v1.5.1: first run on this machine only, typically 3-15 min; progress every 1 s.',
    );
    expect(script.stderr()).toMatch(
      /temporal-cli: building the Temporal CLI v1\.5\.1: \d+m\d\ds elapsed; 3 modules downloaded, 2 of at most ~1300 packages compiled \(now: example\.com\/b\/pkg\); typically 3-15 min\n/,
    );
    // A clone waiting on the lock reads this file.
    const status = readFileSync(path.join(cache, '.temporal-cli.status'), 'utf8');
    expect(status).toMatch(
      new RegExp(`^pid ${script.child.pid} started building the Temporal CLI v1\\.5\\.1 at \\d\\d:\\d\\d:\\d\\d UTC\\n`),
    );
    expect(status).toContain('3 modules downloaded, 2 of at most ~1300 packages compiled');

    writeFileSync(gate, '');
    expect(await script.done).toBe(0);
    expect(script.stdout()).toBe(path.join(cache, 'temporal-cli-v1.5.1', 'temporal'));
    expect(script.stderr()).toMatch(/built the Temporal CLI v1\.5\.1 in \d+ s \(3 modules downloaded, 2 packages compiled\)\./);
    expect(existsSync(path.join(cache, '.temporal-cli.status'))).toBe(false);
  });

  test('a failed build says so with the tail of its output, and leaves no binary', async () => {
    const cache = tmp();
    const gate = path.join(tmp(), 'go-may-finish');
    writeFileSync(gate, '');
    const script = startScript({ PATH: `${fakeGo(gate, 2)}:${systemPath}`, OPSFLOW_CACHE_DIR: cache });
    expect(await script.done).toBe(2);
    expect(script.stdout()).toBe('');
    expect(script.stderr()).toMatch(
      /building the Temporal CLI v1\.5\.1 failed \(exit 2\) after \d+m\d\ds; the last lines of its output:\n/,
    );
    expect(script.stderr()).toContain('  example.com/b/pkg: compile: out of memory');
    expect(existsSync(path.join(cache, 'temporal-cli-v1.5.1', 'temporal'))).toBe(false);
  });
});
