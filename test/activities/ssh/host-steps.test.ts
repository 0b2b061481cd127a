// SSH activities in a real activity context (MockActivityEnvironment: heartbeats, cancellation)
// against a real OpenSSH server: waiting for SSH to come up and learning its host key, commands
// with streamed progress, failures classified, cancellation that stops the remote command, SFTP
// uploads, and secrets kept out of heartbeats, logs and failure messages.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSshActivities, type SshActivities } from '../../../src/activities/ssh/host-steps';
import { freePort } from '../../helpers/processes';
import { generateEd25519 } from '../../helpers/ssh-keys';
import { startSshd, type Sshd } from '../../helpers/sshd';

const key = generateEd25519();
const SECRET = `pg-${Math.random().toString(36).slice(2)}-s3cr3t`;
let sshd: Sshd;
let activities: SshActivities;
let host: { host: string; port: number; user: string; fingerprints: string[] };

beforeAll(async () => {
  sshd = await startSshd({ authorizedKeys: [key.public] });
  host = { host: sshd.host, port: sshd.port, user: sshd.user, fingerprints: [sshd.hostFingerprint] };
  activities = createSshActivities({
    privateKey: () => key.private,
    resolveSecret: (ref) => {
      if (ref === 'env:DB_PASSWORD') return SECRET;
      throw new Error(`no secret ${ref}`);
    },
    readyTimeoutMs: 5000,
    retryBackoffMs: { first: 100, max: 400 },
    heartbeatIntervalMs: 100,
  });
});
afterAll(async () => {
  await sshd?.stop();
});

interface Run<T> {
  result: Promise<T>;
  heartbeats: unknown[];
  logs: string[];
  env: MockActivityEnvironment;
}

/** Runs one activity in its own mock context, recording heartbeats and log lines. */
function run<K extends keyof SshActivities>(name: K, input: Parameters<SshActivities[K]>[0]): Run<Awaited<ReturnType<SshActivities[K]>>> {
  const logs: string[] = [];
  const logger: Logger = {
    log: (level: LogLevel, message: string, meta?: LogMetadata) => logs.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`),
    trace: (m, meta) => logs.push(`TRACE ${m} ${JSON.stringify(meta ?? {})}`),
    debug: (m, meta) => logs.push(`DEBUG ${m} ${JSON.stringify(meta ?? {})}`),
    info: (m, meta) => logs.push(`INFO ${m} ${JSON.stringify(meta ?? {})}`),
    warn: (m, meta) => logs.push(`WARN ${m} ${JSON.stringify(meta ?? {})}`),
    error: (m, meta) => logs.push(`ERROR ${m} ${JSON.stringify(meta ?? {})}`),
  };
  const env = new MockActivityEnvironment(undefined, { logger });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  type Result = Awaited<ReturnType<SshActivities[K]>>;
  const fn = activities[name] as unknown as (arg: unknown) => Promise<Result>;
  const result = env.run<[unknown], Result, typeof fn>(fn, input);
  result.catch(() => {}); // awaited by the test
  return { result, heartbeats, logs, env };
}

function running(commandLine: string): number {
  try {
    return execFileSync('pgrep', ['-x', '-f', commandLine], { encoding: 'utf8' }).trim().split('\n').length;
  } catch {
    return 0;
  }
}

async function eventually(check: () => boolean, withinMs: number): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('waitForSsh keeps trying (heartbeating each attempt) until sshd comes up, then returns its fingerprint', async () => {
  const port = await freePort();
  const waiting = run('waitForSsh', { host: '127.0.0.1', port, user: 'root', timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1200));
  const late = await startSshd({ authorizedKeys: [key.public], port });
  try {
    const { fingerprint, attempts } = await waiting.result;
    expect(fingerprint).toBe(late.hostFingerprint);
    expect(attempts).toBeGreaterThanOrEqual(3);
    // One heartbeat per attempt at least (the keep-alive repeats the current one in between).
    const seen = [...new Set((waiting.heartbeats as { attempt: number }[]).map((h) => h.attempt))];
    expect(seen).toEqual(Array.from({ length: attempts }, (_, i) => i + 1));
    expect((waiting.heartbeats as { attempt: number }[]).find((h) => h.attempt === 2)).toEqual({
      waitingFor: `ssh root@127.0.0.1:${port}`,
      attempt: 2,
      lastError: expect.stringContaining('ECONNREFUSED'),
    });
    expect(waiting.logs.join('\n')).toContain('SSH is up');
    // The fingerprint returned on first contact is then what the run pins.
    const pinned = await run('runRemoteCommand', { host: '127.0.0.1', port, user: 'root', fingerprints: [fingerprint], argv: ['hostname'] })
      .result;
    expect(pinned.exitCode).toBe(0);
  } finally {
    await late.stop();
  }
});

test('waitForSsh: a host key other than the expected fails at once; a host that never answers fails with SshUnreachable', async () => {
  const wrong = 'SHA256:' + 'x'.repeat(43);
  const mismatch = run('waitForSsh', { ...host, expectedFingerprints: [wrong], timeoutMs: 10_000 });
  const err = await mismatch.result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'SshHostKeyMismatch', nonRetryable: true });
  expect((err as Error).message).toContain(sshd.hostFingerprint);
  expect((err as Error).message).toContain(wrong);
  expect((mismatch.heartbeats as { attempt: number }[]).every((h) => h.attempt === 1)).toBe(true);

  expect(await run('waitForSsh', { ...host, expectedFingerprints: [sshd.hostFingerprint], timeoutMs: 5000 }).result).toEqual({
    fingerprint: sshd.hostFingerprint,
    attempts: 1,
  });

  const started = Date.now();
  const nobody = await run('waitForSsh', { host: '127.0.0.1', port: await freePort(), user: 'root', timeoutMs: 1000 }).result.catch(
    (e: unknown) => e,
  );
  expect(nobody).toMatchObject({ type: 'SshUnreachable', nonRetryable: true });
  expect((nobody as Error).message).toMatch(/did not answer within 1000 ms \(\d+ attempts\); last error: .*ECONNREFUSED/);
  expect(Date.now() - started).toBeLessThan(3000);
});

test('runRemoteCommand streams progress into heartbeat details: last lines and byte counts', async () => {
  const r = run('runRemoteCommand', {
    ...host,
    argv: ['bash', '-c', 'for i in $(seq 1 10); do echo "line $i"; sleep 0.1; done; echo warn >&2'],
  });
  const result = await r.result;
  expect(result).toMatchObject({ exitCode: 0, stdoutBytes: 71, stderrBytes: 5, stderrTail: 'warn\n' });
  expect(result.stdoutTail).toContain('line 10\n');
  const details = r.heartbeats as { command: string; stdoutBytes: number; lastLines: string[] }[];
  expect(details.length).toBeGreaterThanOrEqual(5);
  expect(details[0]).toMatchObject({
    host: `${sshd.host}:${sshd.port}`,
    command: `bash -c 'for i in $(seq 1 10); do echo "line $i"; sleep 0.1; done; echo warn >&2'`,
    stdoutBytes: 0,
    lastLines: [],
  });
  const middle = details.find((d) => d.stdoutBytes > 0 && d.stdoutBytes < 71);
  expect(middle?.lastLines.at(-1)).toMatch(/^line \d$/);
  expect(middle!.lastLines.length).toBeLessThanOrEqual(5);
  const counts = details.map((d) => d.stdoutBytes);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
});

test('a script with values as arguments and stdin; okExitCodes widen success', async () => {
  const result = await run('runRemoteCommand', {
    ...host,
    script: 'printf "[%s]" "$@"; tr a-z A-Z; exit 1',
    args: ['$(id)', "o'k"],
    stdin: 'quiet\n',
    label: 'shout',
    okExitCodes: [0, 1],
  }).result;
  expect(result).toMatchObject({ exitCode: 1, stdoutTail: "[$(id)][o'k]QUIET\n" });
});

test('a non-zero exit is a non-retryable RemoteCommandFailed naming the command, its exit code and stderr', async () => {
  const err = await run('runRemoteCommand', { ...host, argv: ['ls', '/no/such/dir'] }).result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'RemoteCommandFailed', nonRetryable: true });
  expect((err as Error).message).toMatch(
    /^ls exited with code 2 on 127\.0\.0\.1:\d+: ls: cannot access '\/no\/such\/dir': No such file or directory$/,
  );
  expect((err as ApplicationFailure).details?.[0]).toMatchObject({ exitCode: 2, command: 'ls /no/such/dir' });

  const script = await run('runRemoteCommand', { ...host, script: 'echo "step 3 broke" >&2; exit 7', label: 'bootstrap' }).result.catch(
    (e: unknown) => e,
  );
  expect((script as Error).message).toMatch(/^bootstrap exited with code 7 on .*: step 3 broke$/);
});

test('secrets: environment values reach the command but never heartbeats, logs, results or failure messages', async () => {
  const r = run('runRemoteCommand', {
    ...host,
    script:
      'printf %s "$DB_PASSWORD" | sha256sum; echo "connecting with $DB_PASSWORD"; sleep 0.4; echo "auth failed for $DB_PASSWORD and $API_TOKEN" >&2; exit 3',
    env: { API_TOKEN: 'tok-plain-but-private' },
    secretEnv: { DB_PASSWORD: 'env:DB_PASSWORD' },
  });
  const err = await r.result.catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'RemoteCommandFailed' });
  const { createHash } = await import('node:crypto');
  const details = (err as ApplicationFailure).details?.[0] as { stdoutTail: string; stderrTail: string; command: string };
  expect(details.stdoutTail).toContain(createHash('sha256').update(SECRET).digest('hex')); // it arrived
  expect((err as Error).message).toContain('auth failed for [redacted] and [redacted]');
  expect(details.command).toBe('API_TOKEN=[redacted] DB_PASSWORD=[redacted] bash -s (script)');
  const everything = JSON.stringify([(err as Error).message, (err as Error).stack, details, r.heartbeats, r.logs]);
  expect(r.heartbeats.some((h) => JSON.stringify(h).includes('connecting with [redacted]'))).toBe(true);
  expect(everything).not.toContain(SECRET);
  expect(everything).not.toContain('tok-plain-but-private');
  expect(everything).not.toContain('PRIVATE KEY');

  const missing = await run('runRemoteCommand', { ...host, argv: ['true'], secretEnv: { X: 'env:NOPE' } }).result.catch((e: unknown) => e);
  expect(missing).toMatchObject({ type: 'SecretUnavailable', nonRetryable: true });
});

test('cancelling the activity stops the remote command', async () => {
  const r = run('runRemoteCommand', { ...host, script: 'sleep 316 & sleep 317; wait' });
  await eventually(() => running('sleep 316') === 1 && running('sleep 317') === 1, 5000);
  r.env.cancel();
  const err = await r.result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CancelledFailure);
  await eventually(() => running('sleep 316') + running('sleep 317') === 0, 3000);
});

test('a command past its timeout is stopped and fails retryably (RemoteCommandTimedOut)', async () => {
  const err = await run('runRemoteCommand', { ...host, argv: ['sleep', '318'], timeoutMs: 300 }).result.catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'RemoteCommandTimedOut', nonRetryable: false });
  await eventually(() => running('sleep 318') === 0, 3000);
});

test('host keys and connections: pins required, a wrong pin is final, a closed port is retryable, bad input is final', async () => {
  expect(await run('runRemoteCommand', { ...host, fingerprints: [], argv: ['true'] }).result.catch((e: unknown) => e)).toMatchObject({
    type: 'InvalidSshInput',
    nonRetryable: true,
  });
  const wrong = await run('runRemoteCommand', { ...host, fingerprints: ['SHA256:' + 'y'.repeat(43)], argv: ['true'] }).result.catch(
    (e: unknown) => e,
  );
  expect(wrong).toMatchObject({ type: 'SshHostKeyMismatch', nonRetryable: true });
  const closed = await run('runRemoteCommand', { ...host, port: await freePort(), argv: ['true'] }).result.catch((e: unknown) => e);
  expect(closed).toMatchObject({ type: 'SshConnectionFailed', nonRetryable: false });
  expect(await run('runRemoteCommand', { ...host, argv: ['a'], script: 'b' }).result.catch((e: unknown) => e)).toMatchObject({
    type: 'InvalidSshInput',
  });
  expect(
    await run('runRemoteCommand', { ...host, argv: ['true'], env: { 'NOT-A-NAME': 'x' } }).result.catch((e: unknown) => e),
  ).toMatchObject({ type: 'InvalidSshInput' });

  const stranger = generateEd25519();
  const refused = createSshActivities({ privateKey: () => stranger.private });
  const env = new MockActivityEnvironment();
  const auth = await env.run(refused.runRemoteCommand, { ...host, argv: ['true'] }).catch((e: unknown) => e);
  expect(auth).toMatchObject({ type: 'SshAuthenticationFailed', nonRetryable: true });
  expect(JSON.stringify([(auth as Error).message, (auth as Error).stack])).not.toContain(stranger.private.split('\n')[1]!.slice(0, 16));
});

test('uploadFiles writes each file with its mode, creating directories, text or base64', async () => {
  const root = path.join(sshd.dir, 'upload');
  const binary = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
  const r = run('uploadFiles', {
    ...host,
    files: [
      { path: `${root}/etc/app/app.env`, content: 'MODE=prod\n', mode: 0o600 },
      { path: `${root}/etc/app/compose.yaml`, content: 'services: {}\n' },
      { path: `${root}/opt/bin/blob`, content: binary.toString('base64'), encoding: 'base64', mode: 0o755 },
    ],
  });
  expect(await r.result).toEqual({
    files: [
      { path: `${root}/etc/app/app.env`, bytes: 10 },
      { path: `${root}/etc/app/compose.yaml`, bytes: 13 },
      { path: `${root}/opt/bin/blob`, bytes: 7 },
    ],
  });
  expect(readFileSync(`${root}/etc/app/app.env`, 'utf8')).toBe('MODE=prod\n');
  expect(statSync(`${root}/etc/app/app.env`).mode & 0o777).toBe(0o600);
  expect(statSync(`${root}/etc/app/compose.yaml`).mode & 0o777).toBe(0o644);
  expect(readFileSync(`${root}/opt/bin/blob`).equals(binary)).toBe(true);
  expect(statSync(`${root}/opt/bin/blob`).mode & 0o777).toBe(0o755);
  expect(r.heartbeats).toEqual(
    [1, 2, 3].map((n, i) => ({
      host: `${sshd.host}:${sshd.port}`,
      uploading: [`${root}/etc/app/app.env`, `${root}/etc/app/compose.yaml`, `${root}/opt/bin/blob`][i],
      file: n,
      of: 3,
    })),
  );
  expect(JSON.stringify(r.heartbeats)).not.toContain('MODE=prod');

  expect(
    await run('uploadFiles', { ...host, files: [{ path: 'relative/path', content: '' }] }).result.catch((e: unknown) => e),
  ).toMatchObject({ type: 'InvalidSshInput' });
  const blocked = await run('uploadFiles', { ...host, files: [{ path: `${root}/etc/app/app.env/inside`, content: 'x' }] }).result.catch(
    (e: unknown) => e,
  );
  expect(blocked).toMatchObject({ type: 'SftpFailed' });
});
