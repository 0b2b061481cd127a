// How a command finds Temporal: explicit settings (TEMPORAL_ADDRESS, the config profile) win; else
// the stack `opsflow up` recorded, while its process lives; else the default. A failed connection
// names the address tried, where it came from, and how to change it.
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectClient } from '../../src/client/opsflow-client';
import { lookUpRecordedStack, recordedLocalCloudEnv, recordStack, type RecordedStack } from '../../src/devstack/recorded-stack';
import { loadTemporalTarget, TemporalUnreachableError } from '../../src/temporal/connection';
import { freePort } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

/** A home with no Temporal config file, and a state folder of its own. */
function freshEnv(): NodeJS.ProcessEnv {
  const root = tempDir('recorded');
  return { HOME: path.join(root, 'home'), OPSFLOW_STATE_DIR: path.join(root, 'state') };
}

function stack(address: string, pid = process.pid): RecordedStack {
  return {
    pid,
    address,
    uiUrl: 'http://127.0.0.1:28233',
    metricsUrl: 'http://127.0.0.1:29464/metrics',
    localcloudUrl: 'http://127.0.0.1:28080',
    startedAt: '2026-12-01T00:00:00.000Z',
  };
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const done = spawnSync('true');
  expect(done.status).toBe(0);
  return done.pid as number;
}

test('with nothing set and nothing recorded, the default dev server address', () => {
  const target = loadTemporalTarget(freshEnv());
  expect(target.connectionOptions.address).toBe('127.0.0.1:7233');
  expect(target.addressSource).toBe('the default');
  expect(target.note).toBeUndefined();
});

test('the record is private (0600 in a 0700 folder) and its address is used while up lives', () => {
  const env = freshEnv();
  const file = recordStack(stack('127.0.0.1:27233'), env);
  expect(file).toBe(path.join(env.OPSFLOW_STATE_DIR as string, 'stack.json'));
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);

  const target = loadTemporalTarget(env);
  expect(target.connectionOptions.address).toBe('127.0.0.1:27233');
  expect(target.addressSource).toBe(`the local stack \`opsflow up\` recorded in ${file}`);
  expect(lookUpRecordedStack(env)).toMatchObject({ state: 'running', stack: { localcloudUrl: 'http://127.0.0.1:28080' } });
});

test('TEMPORAL_ADDRESS and a config profile win over the record', () => {
  const env = freshEnv();
  recordStack(stack('127.0.0.1:27233'), env);
  const fromVariable = loadTemporalTarget({ ...env, TEMPORAL_ADDRESS: 'temporal.internal:7233' });
  expect(fromVariable.connectionOptions.address).toBe('temporal.internal:7233');
  expect(fromVariable.addressSource).toBe('TEMPORAL_ADDRESS');

  const profile = path.join(env.OPSFLOW_STATE_DIR as string, 'temporal.toml');
  writeFileSync(profile, '[profile.default]\naddress = "profile.example:7233"\n');
  const fromProfile = loadTemporalTarget({ ...env, TEMPORAL_CONFIG_FILE: profile });
  expect(fromProfile.connectionOptions.address).toBe('profile.example:7233');
  expect(fromProfile.addressSource).toBe("Temporal's config profile");
});

test('a record whose up is gone is ignored, with a note that says so', () => {
  const env = freshEnv();
  const pid = deadPid();
  const file = recordStack(stack('127.0.0.1:27233', pid), env);
  const target = loadTemporalTarget(env);
  expect(target.connectionOptions.address).toBe('127.0.0.1:7233');
  expect(target.note).toBe(
    `ignoring ${file}: the stack it records (Temporal at 127.0.0.1:27233, started 2026-12-01T00:00:00.000Z by pid ${pid}) is no longer running`,
  );

  writeFileSync(file, '{ not json');
  expect(loadTemporalTarget(env).note).toMatch(new RegExp(`^ignoring ${file}: it is not a stack record \\(`));
});

test('a connection failure names the address tried, where it came from, and how to change it', async () => {
  const env = freshEnv();
  // A port nothing listens on (freePort closed it again), recorded as if up had it.
  const address = `127.0.0.1:${await freePort()}`;
  const file = recordStack(stack(address), env);
  const notes: string[] = [];
  const failure = await connectClient(env, 1000, (line) => notes.push(line)).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(failure).toBeInstanceOf(TemporalUnreachableError);
  const message = (failure as Error).message;
  expect(message).toContain(`cannot reach Temporal at ${address} (address from the local stack \`opsflow up\` recorded in ${file}): `);
  expect(message).toContain('opsflow up --port <port>');
  expect(message).toContain('TEMPORAL_ADDRESS');
  expect(notes).toEqual([]);

  const explicit = await connectClient({ ...env, TEMPORAL_ADDRESS: address }, 1000).catch((err: Error) => err);
  expect((explicit as Error).message).toContain(`cannot reach Temporal at ${address} (address from TEMPORAL_ADDRESS): `);
});

test("the running stack's local cloud is offered only when no DIGITALOCEAN_* variable is set", () => {
  const env = freshEnv();
  expect(recordedLocalCloudEnv(env)).toBeUndefined();
  const tokenFile = path.join(tempDir('token'), 'token');
  writeFileSync(tokenFile, 'local-token\n', { mode: 0o600 });
  recordStack({ ...stack('127.0.0.1:27233'), localcloudTokenFile: tokenFile }, env);
  expect(recordedLocalCloudEnv(env)).toEqual({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:28080', DIGITALOCEAN_TOKEN: 'local-token' });
  expect(recordedLocalCloudEnv({ ...env, DIGITALOCEAN_TOKEN: 'dop_v1_real' })).toBeUndefined();
  expect(recordedLocalCloudEnv({ ...env, DIGITALOCEAN_API_URL: 'https://api.example' })).toBeUndefined();
  recordStack({ ...stack('127.0.0.1:27233', deadPid()), localcloudTokenFile: tokenFile }, env);
  expect(recordedLocalCloudEnv(env)).toBeUndefined();
});
