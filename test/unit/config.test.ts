// Small pure pieces: Temporal connection settings, SSH key references, log redaction.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JsonLogger } from '../../src/logging';
import { configuredSshKeys } from '../../src/ssh-keys';
import { describeTarget, loadTemporalTarget } from '../../src/temporal/connection';
import { sshKeyChecks } from '../../src/client/doctor';
import { parseWorkerEnvironment } from '../../src/specs/worker-environment';
import { tempDir } from '../helpers/temp';
import { generateEd25519 } from '../helpers/ssh-keys';

describe('Temporal connection settings', () => {
  test('default to the local dev server', () => {
    // A state folder of its own: a running `npm start` in the checkout records its stack there.
    const target = loadTemporalTarget({ HOME: tempDir('home'), OPSFLOW_STATE_DIR: tempDir('state') });
    expect(target.connectionOptions.address).toBe('127.0.0.1:7233');
    expect(target.namespace).toBe('default');
  });

  test("follow Temporal's environment variables, and never print the API key", () => {
    const target = loadTemporalTarget({
      HOME: tempDir('home'),
      TEMPORAL_ADDRESS: 'ops.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ops.a1b2c',
      TEMPORAL_API_KEY: 'secret-key-value',
    });
    expect(target.connectionOptions.address).toBe('ops.a1b2c.tmprl.cloud:7233');
    expect(target.namespace).toBe('ops.a1b2c');
    expect(target.connectionOptions.apiKey).toBe('secret-key-value');
    expect(describeTarget(target)).toBe('ops.a1b2c.tmprl.cloud:7233 namespace ops.a1b2c, TLS, API key');
  });
});

describe('SSH key references', () => {
  test('parse name=path pairs and expand ~', () => {
    expect(configuredSshKeys({ OPSFLOW_SSH_KEYS: 'deploy=~/.ssh/id_ed25519, ops=/keys/ops' })).toEqual([
      { name: 'deploy', path: path.join(os.homedir(), '.ssh/id_ed25519') },
      { name: 'ops', path: '/keys/ops' },
    ]);
    expect(configuredSshKeys({})).toEqual([]);
  });

  test('a malformed entry is refused with the entry named', () => {
    expect(() => configuredSshKeys({ OPSFLOW_SSH_KEYS: 'deploy' })).toThrow(
      'OPSFLOW_SSH_KEYS entry "deploy" must look like name=/path/to/private_key',
    );
  });

  test('doctor accepts a private key and explains every other case', () => {
    const dir = tempDir('keys');
    const pair = generateEd25519();
    writeFileSync(path.join(dir, 'good'), pair.private);
    writeFileSync(path.join(dir, 'public'), pair.public);
    writeFileSync(path.join(dir, 'junk'), 'not a key');
    const results = sshKeyChecks({ OPSFLOW_SSH_KEYS: `good=${dir}/good,public=${dir}/public,junk=${dir}/junk,missing=${dir}/missing` });
    expect(results.map((r) => [r.name, r.state])).toEqual([
      ['ssh key good', 'ok'],
      ['ssh key public', 'fail'],
      ['ssh key junk', 'fail'],
      ['ssh key missing', 'fail'],
    ]);
    expect(results[0]?.detail).toBe(`${dir}/good (ssh-ed25519)`);
    expect(results[1]?.detail).toContain('holds a public key');
    expect(results[2]?.detail).toContain('is not a usable private key');
    expect(results[3]?.detail).toBe(`cannot read ${dir}/missing: ENOENT`);
  });
});

describe('structured logs', () => {
  test('are one JSON object per line with secrets redacted', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('INFO', (line) => lines.push(line));
    logger.debug('hidden');
    logger.info('provisioned', { droplet: 42, apiToken: 'dop_v1_x', dbPassword: 'hunter2' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'INFO',
      message: 'provisioned',
      droplet: 42,
      apiToken: '[redacted]',
      dbPassword: '[redacted]',
    });
  });
});

describe('worker settings', () => {
  test('defaults apply and empty variables count as unset', () => {
    expect(parseWorkerEnvironment({ OPSFLOW_LOG_LEVEL: '' })).toMatchObject({
      OPSFLOW_LOG_LEVEL: 'INFO',
      OPSFLOW_METRICS_ADDRESS: '127.0.0.1:9464',
    });
  });

  test('every bad variable is named in one message', () => {
    expect(() =>
      parseWorkerEnvironment({
        OPSFLOW_LOG_LEVEL: 'LOUD',
        OPSFLOW_METRICS_ADDRESS: '9464',
        DIGITALOCEAN_API_URL: 'api.digitalocean.com',
        DIGITALOCEAN_REQUESTS_PER_MINUTE: '400',
      }),
    ).toThrow(
      /^invalid worker settings: OPSFLOW_LOG_LEVEL: .*; OPSFLOW_METRICS_ADDRESS: .*; DIGITALOCEAN_API_URL: .*; DIGITALOCEAN_REQUESTS_PER_MINUTE: must be a whole number from 1 to 250/,
    );
  });

  test('a share of the account budget is a whole number of requests a minute', () => {
    expect(parseWorkerEnvironment({ DIGITALOCEAN_REQUESTS_PER_MINUTE: '120' })).toMatchObject({ DIGITALOCEAN_REQUESTS_PER_MINUTE: '120' });
    expect(() => parseWorkerEnvironment({ DIGITALOCEAN_REQUESTS_PER_MINUTE: '2.5' })).toThrow(
      /DIGITALOCEAN_REQUESTS_PER_MINUTE: must be a whole number/,
    );
    expect(() => parseWorkerEnvironment({ DIGITALOCEAN_REQUESTS_PER_MINUTE: '0' })).toThrow(
      /DIGITALOCEAN_REQUESTS_PER_MINUTE: must be a whole number/,
    );
  });
});
