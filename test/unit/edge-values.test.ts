// Issue 11, items 5 and 7: values refused at the edge that used to pass and fail (or leak) later:
// restore keys outside their policy's folder, `--set` values, cloud endpoints over plain http.
import path from 'node:path';
import { parseSets } from '../../src/client/deploy';
import { DigitalOceanClient } from '../../src/integrations/digitalocean/client';
import { DigitalOceanApiError } from '../../src/integrations/digitalocean/errors';
import { parseBackupPolicy } from '../../src/specs/backup-policy';
import { endpointProblem, isLoopbackHost } from '../../src/specs/endpoint-url';
import { readYamlFile } from '../../src/specs/load';
import { restoreKeyProblem } from '../../src/specs/restore-key';
import { parseWorkerEnvironment } from '../../src/specs/worker-environment';

const policy = parseBackupPolicy(readYamlFile(path.join(__dirname, '..', '..', 'examples', 'backup-stack-b.yaml'), 'backup policy'));

describe('restore keys', () => {
  const folder = `${policy.destination.prefix}${policy.name}/`;

  test("a key of the policy's own is accepted", () => {
    expect(restoreKeyProblem(policy, `${folder}postgres/platform/20260301T020000Z.sql.gz`)).toBeUndefined();
  });

  test.each([
    [
      'another policy',
      'nightly/other-policy/postgres/platform/20260301T020000Z.sql.gz',
      `must be a backup of policy ${policy.name}: a key under ${folder}`,
    ],
    ['outside any prefix', 'etc/passwd', 'must be a backup of policy'],
    ['climbing out of the folder', `${folder}../../etc/passwd`, 'must not contain .., . or empty parts'],
    ['absolute', `/${folder}x.sql.gz`, 'must not contain .., . or empty parts'],
    ['the folder itself', folder, 'must not contain .., . or empty parts'],
    ['with a line break', `${folder}x\n.sql`, 'must be a plain object key'],
    ['not a string', 42, 'must be a backup key'],
  ])('refused: %s', (_what, key, expected) => {
    expect(restoreKeyProblem(policy, key)).toContain(expected);
  });
});

describe('opsflow deploy --set', () => {
  test('good values pass', () => {
    expect(parseSets(['auth=2.0.2', 'frontend=ghcr.io/acme/frontend:1.5.0'])).toEqual({
      auth: '2.0.2',
      frontend: 'ghcr.io/acme/frontend:1.5.0',
    });
  });

  test.each([
    ["auth=2.0.2'", "--set auth=2.0.2': not a tag"],
    ['auth=2.0.2\nEVIL=1', '--set auth: not a tag'],
    ['auth=$(id)', '--set auth=$(id): not a tag'],
    ['auth service=2.0.2', '--set auth service=2.0.2: auth service is not a compose service name'],
    ['=2.0.2', 'write service=tag'],
  ])('refused before connecting: %j', (value, expected) => {
    expect(() => parseSets([value])).toThrow(expected);
  });
});

describe('cloud endpoints: https, or http on loopback only', () => {
  test.each(['localhost', '127.0.0.1', '127.5.6.7', '[::1]', 'api.localhost'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  test.each(['10.0.0.1', '128.0.0.1', '127.0.0.1.nip.io', '127.1', 'localhost.evil.com', '[::2]', '0.0.0.0'])(
    '%s is not loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );

  test('http to a remote API is refused with the reason', () => {
    expect(endpointProblem('http://api.digitalocean.com')).toBe(
      'must use https (http is allowed only for 127.0.0.0/8, ::1 and localhost, not api.digitalocean.com)',
    );
    expect(endpointProblem('https://api.digitalocean.com')).toBeUndefined();
    expect(endpointProblem('http://127.0.0.1:7300')).toBeUndefined();
    expect(endpointProblem('http://[::1]:7300')).toBeUndefined();
  });

  test('the worker refuses http DIGITALOCEAN_API_URL, SPACES_ENDPOINT and LINODE_API_URL at start, naming each', () => {
    expect(() =>
      parseWorkerEnvironment({
        DIGITALOCEAN_API_URL: 'http://api.digitalocean.com',
        SPACES_ENDPOINT: 'http://fra1.digitaloceanspaces.com',
        LINODE_API_URL: 'http://api.linode.com',
      }),
    ).toThrow(
      /^invalid worker settings: DIGITALOCEAN_API_URL: must use https .*; LINODE_API_URL: must use https .*; SPACES_ENDPOINT: must use https/,
    );
    expect(
      parseWorkerEnvironment({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:7300', SPACES_ENDPOINT: 'https://fra1.digitaloceanspaces.com' }),
    ).toMatchObject({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:7300' });
  });

  test('the DigitalOcean client will not send its token over plain http to another machine', () => {
    const make = (apiUrl: string) => () => new DigitalOceanClient({ token: 'dop_v1_x', apiUrl });
    expect(make('http://api.digitalocean.com')).toThrow(DigitalOceanApiError);
    expect(make('http://api.digitalocean.com')).toThrow('DigitalOcean API URL http://api.digitalocean.com: must use https');
    expect(make('https://api.digitalocean.com')).not.toThrow();
    expect(make('http://127.0.0.1:7300')).not.toThrow();
  });
});
