// The environment spec: the three examples parse, and bad specs are refused before anything is
// created, each with a message that names the field.
import path from 'node:path';
import { SpecError } from '../../src/specs/common';
import { dropletInstances, environmentJsonSchema, parseEnvironmentSpec } from '../../src/specs/environment';
import { loadEnvironmentSpec, readYamlFile } from '../../src/specs/load';

const examples = path.join(__dirname, '..', '..', 'examples');
type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// Fake secrets, assembled at run time so secret scanners do not flag this file.
const FAKE_TOKEN = 'dop_v1_' + '0123456789abcdef'.repeat(2);
const fakeKeyHeader = (kind: string) => '-----BEGIN ' + kind + ' PRIVATE KEY-----';

const base = (): Spec => structuredClone(readYamlFile(path.join(examples, 'stack-a.yaml')) as Spec);

test.each(['stack-a', 'stack-b', 'stack-c'])('%s parses, with its compose file inlined', (name) => {
  const spec = loadEnvironmentSpec(path.join(examples, `${name}.yaml`));
  expect(spec.name).toBe(name);
  expect(spec.application?.compose).toContain('services:');
});

test('defaults fill in, and instances are named from count', () => {
  const spec = parseEnvironmentSpec({ ...base(), droplets: [{ name: 'app', size: 's-1vcpu-1gb' }, { name: 'worker', size: 's-1vcpu-1gb', count: 2 }] });
  expect(spec.onFailure).toBe('rollback');
  expect(spec.droplets[0]?.image).toBe('ubuntu-22-04-x64');
  expect(dropletInstances(spec).map((i) => i.instance)).toEqual(['app', 'worker-1', 'worker-2']);
  expect(spec.firewall?.inbound[0]?.sources).toEqual(['0.0.0.0/0', '::/0']);
});

// [what is wrong, how to break the spec, the field path and words the message must contain]
const invalid: [string, (s: Spec) => void, string][] = [
  ['name missing', (s) => delete s.name, 'name: '],
  ['name with capitals', (s) => (s.name = 'Stack-A'), 'name: must be lowercase'],
  ['name too long', (s) => (s.name = 'a'.repeat(40)), 'name: must be at most 32'],
  ['region missing', (s) => delete s.region, 'region: '],
  ['unknown region', (s) => (s.region = 'mars1'), 'region: is not a region opsflow knows'],
  ['unknown field (typo)', (s) => (s.dropletz = []), '(top level): Unrecognized key: "dropletz"'],
  ['no droplets', (s) => (s.droplets = []), 'droplets: '],
  ['droplet size unknown', (s) => (s.droplets[0].size = 's-64vcpu-1tb'), 'droplets.0.size: is not a droplet size'],
  ['droplet size wrong type', (s) => (s.droplets[0].size = 1024), 'droplets.0.size: '],
  ['droplet count zero', (s) => (s.droplets[0].count = 0), 'droplets.0.count: '],
  ['droplet count not integer', (s) => (s.droplets[0].count = 1.5), 'droplets.0.count: '],
  ['droplet image unknown', (s) => (s.droplets[0].image = 'windows-11'), 'droplets.0.image: '],
  ['droplet name duplicated', (s) => s.droplets.push({ ...s.droplets[0] }), 'droplets.1.name: droplet name app is used twice'],
  ['too many droplets', (s) => (s.droplets = Array.from({ length: 3 }, (_, i) => ({ name: `d${i}x`, size: 's-1vcpu-1gb', count: 10 }))), 'droplets: 30 droplets in all; the account limit is 25'],
  ['bad tag', (s) => (s.droplets[0].tags = ['has space']), 'droplets.0.tags.0: '],
  ['VPC range not a CIDR', (s) => (s.vpc.ipRange = '10.10.0.0'), 'vpc.ipRange: must be an IPv4 CIDR'],
  ['VPC range with host bits', (s) => (s.vpc.ipRange = '10.10.0.5/16'), 'vpc.ipRange: must be an IPv4 CIDR'],
  ['VPC range public', (s) => (s.vpc.ipRange = '8.8.0.0/16'), 'vpc.ipRange: 8.8.0.0/16 is not a private range'],
  ['VPC range too large', (s) => (s.vpc.ipRange = '10.0.0.0/8'), 'vpc.ipRange: 10.0.0.0/8: the prefix must be from /16 to /28'],
  ['firewall port out of range', (s) => (s.firewall.inbound[0].ports = '70000'), 'firewall.inbound.0.ports: must be within 1-65535'],
  ['firewall range backwards', (s) => (s.firewall.inbound[2].ports = '8084-8081'), 'firewall.inbound.2.ports: must be within 1-65535, low end first'],
  ['firewall port not a number', (s) => (s.firewall.inbound[0].ports = 'ssh'), 'firewall.inbound.0.ports: must be a port'],
  ['firewall protocol unknown', (s) => (s.firewall.inbound[0].protocol = 'icmpv9'), 'firewall.inbound.0.protocol: '],
  ['firewall source not a CIDR', (s) => (s.firewall.inbound[0].sources = ['everyone']), 'firewall.inbound.0.sources.0: must be an IPv4 CIDR'],
  ['overlapping firewall rules', (s) => s.firewall.inbound.push({ protocol: 'tcp', ports: '8080-8090' }), 'firewall.inbound.3: overlaps firewall.inbound.2 (tcp 8081-8084 and 8080-8090)'],
  ['volume on an unknown droplet', (s) => (s.volumes[0].droplet = 'db'), 'volumes.0.droplet: db is not one of this environment\'s droplets (app)'],
  ['volume without size', (s) => delete s.volumes[0].sizeGb, 'volumes.0.sizeGb: '],
  ['volume too large', (s) => (s.volumes[0].sizeGb = 20000), 'volumes.0.sizeGb: '],
  ['volume mounted on /etc', (s) => (s.volumes[0].mountPoint = '/etc/data'), 'volumes.0.mountPoint: must not be / or a system directory'],
  ['volume mount point relative', (s) => (s.volumes[0].mountPoint = 'mnt/data'), 'volumes.0.mountPoint: must be an absolute path'],
  ['volume filesystem unknown', (s) => (s.volumes[0].filesystem = 'ntfs'), 'volumes.0.filesystem: '],
  ['reserved IP on an unknown droplet', (s) => (s.reservedIp.droplet = 'web'), 'reservedIp.droplet: web is not one of this environment\'s droplets'],
  ['ssh key missing', (s) => delete s.ssh.key, 'ssh.key: '],
  ['ssh key written inline', (s) => (s.ssh.key = fakeKeyHeader('OPENSSH') + '\nabc'), 'ssh.key: must name a key from OPSFLOW_SSH_KEYS, not hold the key itself'],
  ['ssh port out of range', (s) => (s.ssh.port = 0), 'ssh.port: '],
  ['bad host key fingerprint', (s) => (s.ssh.hostKeys = { app: 'MD5:aa:bb' }), 'ssh.hostKeys.app: must be an OpenSSH SHA256 fingerprint'],
  ['secret written inline', (s) => (s.application.environment.POSTGRES_PASSWORD = 'hunter2'), 'application.environment.POSTGRES_PASSWORD: looks like a secret written inline'],
  ['token value inline', (s) => (s.application.environment.DEPLOY = FAKE_TOKEN), 'application.environment.DEPLOY: holds what looks like a private key or API token'],
  ['secret reference malformed', (s) => (s.application.secrets.POSTGRES_PASSWORD = 'hunter2'), 'application.secrets.POSTGRES_PASSWORD: must be a secret reference'],
  ['private key in a bootstrap file', (s) => (s.bootstrap.files = [{ path: '/root/.ssh/id', content: fakeKeyHeader('RSA') }]), 'bootstrap.files.0.content: holds what looks like a private key'],
  ['bootstrap command as a shell string', (s) => (s.bootstrap.commands = ['apt-get update && rm -rf /']), 'bootstrap.commands.0: '],
  ['bootstrap directory with ..', (s) => (s.bootstrap.directories[0].path = '/opt/../etc'), 'bootstrap.directories.0.path: must not contain ..'],
  ['systemd unit badly named', (s) => (s.bootstrap.systemdUnits[0].name = 'booking'), 'bootstrap.systemdUnits.0.name: must be a unit file name'],
  ['application without compose', (s) => delete s.application.composeFile, 'application.composeFile: needs composeFile (or compose)'],
  ['image without a tag', (s) => (s.application.images.frontend = 'ghcr.io/acme/frontend'), 'application.images.frontend: must be an image with a tag'],
  ['health check port wrong type', (s) => (s.healthChecks[0].port = '3000'), 'healthChecks.0.port: '],
  ['health check path relative', (s) => (s.healthChecks[0].path = 'health'), 'healthChecks.0.path: must start with /'],
  ['health check named twice', (s) => (s.healthChecks[1].name = 'frontend'), 'healthChecks.1.name: health check frontend is named twice'],
  ['onFailure unknown', (s) => (s.onFailure = 'ignore'), 'onFailure: '],
];

test.each(invalid)('refused: %s', (_what, breakIt, expected) => {
  const spec = base();
  breakIt(spec);
  let error: unknown;
  try {
    parseEnvironmentSpec(spec);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(SpecError);
  expect((error as SpecError).problems.join('\n')).toContain(expected);
});

test('at least 30 kinds of bad spec are covered', () => {
  expect(invalid.length).toBeGreaterThanOrEqual(30);
});

test('every problem in a spec is reported at once', () => {
  const spec = base();
  spec.region = 'mars1';
  spec.droplets[0].size = 'huge';
  const err = (() => {
    try {
      parseEnvironmentSpec(spec);
    } catch (e) {
      return e as SpecError;
    }
  })();
  expect(err?.problems).toEqual(expect.arrayContaining([expect.stringContaining('region:'), expect.stringContaining('droplets.0.size:')]));
});

test('the JSON Schema describes the spec for editors', () => {
  const schema = environmentJsonSchema() as { properties: Record<string, unknown>; required: string[] };
  expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['name', 'region', 'vpc', 'firewall', 'droplets', 'volumes', 'reservedIp', 'ssh', 'bootstrap', 'application', 'healthChecks', 'onFailure']));
  expect(schema.required).toEqual(expect.arrayContaining(['name', 'region', 'droplets', 'ssh']));
});

test('wrong types anywhere give a SpecError, never a crash', () => {
  const paths: string[][] = [['name'], ['region'], ['vpc'], ['vpc', 'ipRange'], ['firewall'], ['firewall', 'inbound'], ['droplets'], ['volumes'], ['volumes', '0'], ['reservedIp'], ['ssh'], ['ssh', 'hostKeys'], ['bootstrap'], ['bootstrap', 'files'], ['application'], ['application', 'environment'], ['healthChecks'], ['healthChecks', '0']];
  for (const at of paths) {
    for (const junk of [null, 42, 'x', [], {}, true]) {
      const spec = base();
      let holder: Spec = spec;
      for (const key of at.slice(0, -1)) holder = holder[key];
      holder[at.at(-1) as string] = junk;
      try {
        parseEnvironmentSpec(spec);
      } catch (err) {
        expect({ at: at.join('.'), junk, error: (err as Error).name }).toEqual({ at: at.join('.'), junk, error: 'SpecError' });
      }
    }
  }
});
