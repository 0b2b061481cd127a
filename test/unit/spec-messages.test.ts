// Issue 13, items 7 and 8: what a user reads when a spec is wrong, word for word. The bad value is
// echoed with the valid ones; a misspelt field gets a "did you mean"; cross-field problems come in
// the same error as field problems; a YAML mistake keeps its code frame; a time-zone typo and zstd
// are refused when the policy is read (`schedules apply --dry-run` included), not at the first run.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { stringify } from 'yaml';
import { buildCli } from '../../src/client/cli';
import { backupPolicyJsonSchema, parseBackupPolicy } from '../../src/specs/backup-policy';
import { SpecError } from '../../src/specs/common';
import { compressionProblem } from '../../src/specs/compression-support';
import { parseDeployReleaseInput, type DeployInputError } from '../../src/specs/deploy-release';
import { environmentJsonSchema, parseEnvironmentSpec } from '../../src/specs/environment';
import { loadBackupPolicies, loadEnvironmentSpec, readYamlFile } from '../../src/specs/load';
import { closestMatch, editDistance } from '../../src/specs/messages';
import { timeZoneProblem } from '../../src/specs/time-zone';
import { baseSpec, EXAMPLES_DIR, type Spec } from '../fixtures/invalid-environment-specs';
import { tempDir } from '../helpers/temp';

const dir = tempDir('spec-messages');
const REGIONS = 'ams3, blr1, fra1, lon1, nyc1, nyc3, sfo3, sgp1, syd1, tor1';
const SIZES = 'c-2, g-2vcpu-8gb, s-1vcpu-1gb, s-1vcpu-2gb, s-1vcpu-512mb-10gb, s-2vcpu-2gb, s-2vcpu-4gb, s-4vcpu-8gb, s-8vcpu-16gb';
const stackB = (): Spec => structuredClone(readYamlFile(path.join(EXAMPLES_DIR, 'backup-stack-b.yaml')) as Spec);

/** `file:line:col` of the key of the first field written `key: value`. */
function placeOf(file: string, value: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.endsWith(`: ${value}`));
  if (line < 0) throw new Error(`${value} is not a field value in ${file}`);
  return `${file}:${line + 1}:${lines[line]!.search(/\S/) + 1}`;
}

/** The problems a spec is refused with (each `path: message`), or a failure if it is accepted. */
function problemsOf(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error('the spec was accepted');
}

const environmentProblems = (change: (s: Spec) => void) => {
  const spec = baseSpec();
  change(spec);
  return problemsOf(() => parseEnvironmentSpec(spec));
};
const policyProblems = (change: (s: Spec) => void) => {
  const policy = stackB();
  change(policy);
  return problemsOf(() => parseBackupPolicy(policy));
};

describe('a bad value is echoed with the valid ones', () => {
  test.each<[string, (s: Spec) => void, string]>([
    ['region', (s) => (s.region = 'london'), `region: "london" is not a region; valid: ${REGIONS}`],
    ['region missing', (s) => delete s.region, `region: is required: a region; valid: ${REGIONS}`],
    ['region close to a real one', (s) => (s.region = 'fra2'), `region: "fra2" is not a region; did you mean "fra1"?; valid: ${REGIONS}`],
    [
      'size',
      (s) => (s.droplets[0].size = 's-1vcpu-1g'),
      `droplets.0.size: "s-1vcpu-1g" is not a droplet size; did you mean "s-1vcpu-1gb"?; valid: ${SIZES}`,
    ],
    ['size as a number', (s) => (s.droplets[0].size = 1024), `droplets.0.size: 1024 is not a droplet size; valid: ${SIZES}`],
    [
      'image',
      (s) => (s.droplets[0].image = 'windows-11'),
      'droplets.0.image: "windows-11" is not a droplet image; valid: debian-12-x64, docker-20-04, ubuntu-22-04-x64, ubuntu-24-04-x64',
    ],
    [
      'an enum without a noun of its own',
      (s) => (s.volumes[0].filesystem = 'ntfs'),
      'volumes.0.filesystem: "ntfs" is not one of the choices; valid: ext4, xfs',
    ],
    [
      'a wrong type, with what was written',
      (s) => (s.healthChecks[0].port = '3000'),
      'healthChecks.0.port: must be a number, got the string "3000"',
    ],
    [
      'a fraction where a whole number goes',
      (s) => (s.droplets[0].count = 1.5),
      'droplets.0.count: must be a whole number, got the number 1.5',
    ],
    ['a missing field', (s) => delete s.ssh.key, 'ssh.key: is required (a string)'],
    [
      'a pattern with no message of its own',
      (s) => (s.ssh.user = 'Root'),
      'ssh.user: "Root" does not match the pattern /^[a-z_][a-z0-9_-]*$/',
    ],
    ['a number over its bound', (s) => (s.volumes[0].sizeGb = 20000), 'volumes.0.sizeGb: must be at most 16384, got 20000'],
    ['a number under its bound', (s) => (s.ssh.port = 0), 'ssh.port: must be at least 1, got 0'],
    ['an empty list where one is needed', (s) => (s.firewall.inbound = []), 'firewall.inbound: needs at least 1 item'],
    [
      'an empty string where text is needed',
      (s) => (s.bootstrap.systemdUnits[0].content = ''),
      'bootstrap.systemdUnits.0.content: must not be empty',
    ],
    [
      'a shell string where an argv list goes',
      (s) => (s.bootstrap.commands = ['apt-get update && rm -rf /']),
      'bootstrap.commands.0: must be a list, got the string "apt-get update && rm -rf /"',
    ],
  ])('%s', (_what, change, expected) => {
    expect(environmentProblems(change)).toEqual([expected]);
  });

  test('a long value is cut short rather than filling the screen', () => {
    expect(environmentProblems((s) => (s.region = 'x'.repeat(100)))).toEqual([
      `region: "${'x'.repeat(56)}... is not a region; valid: ${REGIONS}`,
    ]);
  });

  test('backup policies alike: compression, target kind, overlap', () => {
    expect(policyProblems((p) => (p.compression = 'xz'))).toEqual(['compression: "xz" is not a compression; valid: gzip, none, zstd']);
    expect(policyProblems((p) => (p.targets[0].kind = 'oracle'))).toEqual([
      'targets.0.kind: "oracle" is not a kind opsflow knows; valid: directory, droplet-snapshot, mariadb, mysql, postgresql, volume-snapshot',
    ]);
    expect(policyProblems((p) => (p.schedule.overlap = 'maybe'))).toEqual([
      'schedule.overlap: "maybe" is not one of the choices; valid: allow-all, buffer-one, cancel-other, skip',
    ]);
  });
});

describe('"did you mean" for a misspelt field', () => {
  test.each<[string, (s: Spec) => void, string]>([
    ['top level, a letter left out', (s) => (s.healtChecks = []), '(top level): unknown field "healtChecks"; did you mean "healthChecks"?'],
    ['two letters swapped', (s) => (s.dorplets = []), '(top level): unknown field "dorplets"; did you mean "droplets"?'],
    ['other letter case', (s) => (s.OnFailure = 'keep'), '(top level): unknown field "OnFailure"; did you mean "onFailure"?'],
    ['nested', (s) => (s.droplets[0].sise = 's-1vcpu-1gb'), 'droplets.0: unknown field "sise"; did you mean "size"?'],
    [
      'nothing close: the valid fields instead',
      (s) => (s.ssh.keyfile = '/root/.ssh/id'),
      'ssh: unknown field "keyfile"; valid fields: user, port, key, hostKeys, waitSeconds',
    ],
  ])('%s', (_what, change, expected) => {
    expect(environmentProblems(change)).toEqual([expected]);
  });

  test('in a backup policy too, inside a target', () => {
    expect(policyProblems((p) => (p.targets[0].databse = ['x']))).toEqual([
      'targets.0: unknown field "databse"; did you mean "databases"?',
    ]);
  });

  test('the distance counts a swap as one edit, and a short word is not "corrected" into another', () => {
    expect(editDistance('sevrices', 'services')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closestMatch('servcies', ['volumes', 'services', 'images'])).toBe('services');
    expect(closestMatch('ab', ['cd', 'ef'])).toBeUndefined();
    expect(closestMatch('xyzzy', ['droplets', 'volumes'])).toBeUndefined();
  });
});

describe('cross-field problems are reported with field problems, in one error', () => {
  test('environment: a bad region, a bad size and a misspelt field, with a name used twice and an unknown reserved-IP droplet', () => {
    const problems = environmentProblems((s) => {
      s.region = 'london';
      s.droplets.push({ name: 'app', size: 'huge' });
      s.reservedIp = { droplet: 'web' };
      s.healtChecks = [];
    });
    expect(problems).toEqual([
      `region: "london" is not a region; valid: ${REGIONS}`,
      `droplets.1.size: "huge" is not a droplet size; valid: ${SIZES}`,
      '(top level): unknown field "healtChecks"; did you mean "healthChecks"?',
      'droplets.1.name: droplet name app is used twice',
      "reservedIp.droplet: web is not one of this environment's droplets (app, app)",
    ]);
  });

  test('checks that need the droplet names wait while droplets itself is broken, rather than say "not one of ()"', () => {
    expect(environmentProblems((s) => (s.droplets = []))).toEqual(['droplets: needs at least 1 item']);
  });

  test('a field too broken to read is reported, not a crash', () => {
    expect(environmentProblems((s) => (s.ssh = null))).toEqual(['ssh: must be a mapping of fields, got null']);
  });

  test('backup policy: a target named twice with a bad bucket; cron and every with a bad time zone', () => {
    const problems = policyProblems((p) => {
      p.destination.bucket = 'Bad_Bucket';
      p.targets[1].name = p.targets[0].name;
      p.schedule.every = '6h';
      p.schedule.timeZone = 'Europe/Berlni';
    });
    expect(problems).toEqual([
      'destination.bucket: must be an S3 bucket name',
      'schedule.timeZone: "Europe/Berlni" is not a time zone; did you mean "Europe/Berlin"? (an IANA name such as UTC, Europe/Berlin or America/New_York)',
      'schedule.cron: give exactly one of cron or every',
      `targets.1.name: target name ${stackB().targets[0].name} is used twice`,
    ]);
  });
});

test('deployRelease input: field and cross-field problems in one error', () => {
  const hostKey = `SHA256:${'a'.repeat(43)}`;
  const input = {
    environment: 'stack-a',
    hosts: [
      { instance: 'app', address: '127.0.0.1', hostKey },
      { instance: 'app', address: '127.0.0.1', hostKey: 'yes' },
    ],
    ssh: { key: 'deploy' },
    directory: '/opt/app',
    images: { 'auth service': 'ghcr.io/acme/auth:2.0.2', web: 'ghcr.io/acme/web' },
    healthChecks: [],
  };
  let problems: string[] = [];
  try {
    parseDeployReleaseInput(input);
  } catch (err) {
    problems = (err as DeployInputError).problems;
  }
  expect(problems).toEqual([
    'hosts.1.hostKey: must be an OpenSSH SHA256 fingerprint (the one provisioning pinned)',
    'images.web: must be an image with a tag, like ghcr.io/acme/auth:2.0.2',
    'images.auth service: is not a compose service name (letters, digits, ".", "_" and "-", starting with a letter or digit)',
    'hosts.1.instance: app is listed twice',
  ]);
});

describe('a problem in a file names its line', () => {
  const spec = [
    'name: stack-a', //                   1
    'region: london', //                  2
    'droplets:', //                       3
    '  - name: app', //                   4
    '    size: s-1vcpu-1gb', //           5
    '    sise: s-1vcpu-1gb', //           6
    'ssh:', //                            7
    '  port: 0', //                       8
    'healthChecks:', //                   9
    '  - { name: web, port: "3000" }', // 10
    '',
  ].join('\n');

  test('each field problem after file:line:col of its key (a missing one: of the mapping it belongs in)', () => {
    const file = path.join(dir, 'located.yaml');
    writeFileSync(file, spec);
    expect(problemsOf(() => loadEnvironmentSpec(file))).toEqual([
      `${file}:2:1: region: "london" is not a region; valid: ${REGIONS}`,
      `${file}:6:5: droplets.0: unknown field "sise"; did you mean "size"?`,
      `${file}:8:3: ssh.port: must be at least 1, got 0`,
      `${file}:7:1: ssh.key: is required (a string)`,
      `${file}:10:18: healthChecks.0.port: must be a number, got the string "3000"`,
    ]);
  });
});

describe('YAML mistakes keep their code frame', () => {
  test('the line, a caret under the column, and file:line:col', () => {
    const file = path.join(dir, 'indent.yaml');
    writeFileSync(file, 'name: stack-a\nregion: fra1\ndroplets:\n  - name: app\n   size: s-1vcpu-1gb\n');
    let message = '';
    try {
      readYamlFile(file);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      [
        'invalid environment spec:',
        `  - ${file}:5:1: not valid YAML or JSON: Sequence item without - indicator at line 5, column 1:`,
        '    ',
        '      - name: app',
        '       size: s-1vcpu-1gb',
        '    ^',
      ].join('\n'),
    );
  });

  test('`opsflow provision` prints it so, before connecting anywhere', async () => {
    const file = path.join(dir, 'tab.yaml');
    writeFileSync(file, 'name: stack-a\nregion: [fra1\n');
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
    try {
      await expect(buildCli().parseAsync(['provision', file], { from: 'user' })).rejects.toThrow(
        `invalid environment spec:\n  - ${file}:3:1: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1:\n    \n    region: [fra1\n    \n    ^`,
      );
    } finally {
      process.env.TEMPORAL_ADDRESS = saved;
    }
  });

  test('a key written twice', () => {
    const file = path.join(dir, 'twice.yaml');
    writeFileSync(file, 'name: stack-a\nregion: fra1\nregion: lon1\n');
    expect(() => readYamlFile(file)).toThrow(
      `${file}:3:1: not valid YAML or JSON: Map keys must be unique at line 3, column 1:\n    \n    region: fra1\n    region: lon1\n    ^`,
    );
  });
});

describe('time zones and compression are checked when the policy is read', () => {
  test.each<[string, string | undefined]>([
    ['UTC', undefined],
    ['Europe/Berlin', undefined],
    ['US/Eastern', undefined],
    [
      'Europe/Berlni',
      '"Europe/Berlni" is not a time zone; did you mean "Europe/Berlin"? (an IANA name such as UTC, Europe/Berlin or America/New_York)',
    ],
    ['Mars/Olympus_Mons', '"Mars/Olympus_Mons" is not a time zone (an IANA name such as UTC, Europe/Berlin or America/New_York)'],
    ['europe/berlin', '"europe/berlin" must be spelt as the time-zone database spells it: "Europe/Berlin"'],
    ['utc', '"utc" must be spelt as the time-zone database spells it: "UTC"'],
  ])('time zone %s', (name, expected) => {
    expect(timeZoneProblem(name)).toBe(expected);
  });

  test('zstd: the reason is the running Node when it lacks zstd, the backup steps when it has it', () => {
    expect(compressionProblem('gzip')).toBeUndefined();
    expect(compressionProblem('zstd', { node: '20.20.2', zlib: {} })).toBe(
      "zstd needs Node 22.15 or 23.8 or later (zlib's zstd), and this is Node 20.20.2; use gzip or none",
    );
    expect(compressionProblem('zstd', { node: '24.1.0', zlib: { createZstdCompress: () => undefined } })).toBe(
      'zstd is not written by the backup steps yet (they write gzip or none), although this Node has it; use gzip or none',
    );
  });

  function policyFile(name: string, change: (p: Spec) => void): string {
    const policy = stackB();
    change(policy);
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(policy));
    return file;
  }

  test('loadBackupPolicies names both, with the file, in one error', () => {
    const file = policyFile('zstd-and-zone', (p) => {
      p.compression = 'zstd';
      p.schedule.timeZone = 'Europe/Berlni';
    });
    const problems = problemsOf(() => loadBackupPolicies(file));
    expect(problems).toEqual([
      `${placeOf(file, 'Europe/Berlni')}: schedule.timeZone: "Europe/Berlni" is not a time zone; did you mean "Europe/Berlin"? (an IANA name such as UTC, Europe/Berlin or America/New_York)`,
      `${placeOf(file, 'zstd')}: compression: ${compressionProblem('zstd')}`,
    ]);
  });

  test('`opsflow schedules apply --dry-run` refuses them before connecting to Temporal', async () => {
    const zone = policyFile('zone-only', (p) => (p.schedule.timeZone = 'Europe/Berlni'));
    const file = policyFile('zstd-only', (p) => (p.compression = 'zstd'));
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:1'; // nothing listens: the refusal must come first
    try {
      await expect(buildCli().parseAsync(['schedules', 'apply', zone, '--dry-run'], { from: 'user' })).rejects.toThrow(
        `invalid backup policy spec:\n  - ${placeOf(zone, 'Europe/Berlni')}: schedule.timeZone: "Europe/Berlni" is not a time zone; did you mean "Europe/Berlin"?`,
      );
      const error = await buildCli()
        .parseAsync(['schedules', 'apply', file, '--dry-run'], { from: 'user' })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(error).toBeInstanceOf(SpecError);
      expect((error as Error).message).toBe(
        `invalid backup policy spec:\n  - ${placeOf(file, 'zstd')}: compression: ${compressionProblem('zstd')}`,
      );
    } finally {
      process.env.TEMPORAL_ADDRESS = saved;
    }
  });
});

describe('the JSON Schema an editor completes from', () => {
  // ajv's default export validates draft 7, as VS Code's YAML extension does.
  const ajv = new Ajv({ allErrors: true }); // strict: an unknown keyword or format in the schema fails the compile

  test('environment: enums of regions and sizes, a description on every top-level field, examples', () => {
    type Property = { description?: string; examples?: unknown[]; enum?: string[]; items?: { properties: Record<string, Property> } };
    const schema = environmentJsonSchema() as { $schema: string; properties: Record<string, Property> };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.properties.region!.enum!.slice().sort().join(', ')).toBe(REGIONS);
    expect(schema.properties.droplets!.items!.properties.size!.enum!.slice().sort().join(', ')).toBe(SIZES);
    for (const [field, property] of Object.entries(schema.properties)) {
      expect({ field, description: typeof property.description, examples: Array.isArray(property.examples) }).toEqual({
        field,
        description: 'string',
        examples: true,
      });
    }
  });

  test('environment: the examples validate against it, and a bad region does not', () => {
    const validate = ajv.compile(environmentJsonSchema() as object);
    for (const file of ['stack-a.yaml', 'stack-b.yaml', 'stack-c.yaml']) {
      const spec = readYamlFile(path.join(EXAMPLES_DIR, file));
      expect({ file, valid: validate(spec), errors: validate.errors ?? null }).toEqual({ file, valid: true, errors: null });
    }
    expect(validate({ ...baseSpec(), region: 'london' })).toBe(false);
    expect(validate.errors).toEqual([expect.objectContaining({ instancePath: '/region', keyword: 'enum' })]);
  });

  test('`opsflow schema environment` prints it; the region and size descriptions say what each slug is', async () => {
    const printed: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      await buildCli().parseAsync(['schema', 'environment'], { from: 'user' });
    } finally {
      log.mockRestore();
    }
    expect(printed).toHaveLength(1);
    const schema = JSON.parse(printed[0]!) as {
      properties: { region: { description: string }; droplets: { items: { properties: { size: { description: string } } } } };
    };
    expect(schema).toEqual(environmentJsonSchema());
    expect(schema.properties.region.description).toContain('lon1 (London 1)');
    expect(schema.properties.droplets.items.properties.size.description).toContain('s-1vcpu-1gb (1 GB, 1 vCPU, 25 GB disk, $6/month)');
    await expect(buildCli().parseAsync(['schema', 'enviroment'], { from: 'user' })).rejects.toThrow(
      'schema: "enviroment" is not a spec kind; did you mean "environment"?; valid: backup-policy, cluster-backup-policy, deploy-analysis, environment, rollout',
    );
  });

  test('backup policy: descriptions, and the examples validate', () => {
    const schema = backupPolicyJsonSchema() as { properties: Record<string, { description?: string }> };
    for (const [field, property] of Object.entries(schema.properties))
      expect({ field, description: typeof property.description }).toEqual({ field, description: 'string' });
    const validate = ajv.compile(schema);
    for (const file of ['backup-stack-b.yaml', 'backup-stack-b-snapshots.yaml', 'backup-stack-d.yaml']) {
      const policy = readYamlFile(path.join(EXAMPLES_DIR, file));
      expect({ file, valid: validate(policy), errors: validate.errors ?? null }).toEqual({ file, valid: true, errors: null });
    }
  });
});
