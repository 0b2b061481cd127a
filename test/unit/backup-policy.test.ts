// The backup policy spec: the examples for stacks B and D parse; bad policies are refused with
// the field named.
import path from 'node:path';
import { SpecError } from '../../src/specs/common';
import { backupPolicyJsonSchema, parseBackupPolicy } from '../../src/specs/backup-policy';
import { readYamlFile } from '../../src/specs/load';

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const examples = path.join(__dirname, '..', '..', 'examples');
const stackB = (): Spec => structuredClone(readYamlFile(path.join(examples, 'backup-stack-b.yaml')) as Spec);

test.each(['backup-stack-b', 'backup-stack-b-snapshots', 'backup-stack-d'])('%s parses', (name) => {
  const policy = parseBackupPolicy(readYamlFile(path.join(examples, `${name}.yaml`)));
  expect(policy.targets.length).toBeGreaterThan(0);
  expect(policy.retention.minVerified).toBeGreaterThanOrEqual(3);
});

const invalid: [string, (s: Spec) => void, string][] = [
  ['no targets', (s) => (s.targets = []), 'targets: '],
  ['unknown database kind', (s) => (s.targets[0].kind = 'oracle'), 'targets.0'],
  [
    'database target in two places',
    (s) => (s.targets[0].connection = { host: 'db', port: 5432, user: 'u' }),
    'give exactly one of `in` (a droplet container) or `connection`',
  ],
  [
    'password written inline',
    (s) =>
      (s.targets[0] = {
        name: 'x',
        kind: 'postgresql',
        databases: ['a'],
        connection: { host: 'db', port: 5432, user: 'u', password: 'hunter2' },
      }),
    'must be a secret reference',
  ],
  ['target named twice', (s) => (s.targets[1].name = 'postgres'), 'targets.1.name: target name postgres is used twice'],
  ['bad bucket', (s) => (s.destination.bucket = 'Bad_Bucket'), 'destination.bucket: must be an S3 bucket name'],
  ['access key inline', (s) => (s.destination.accessKey = 'AKIAEXAMPLE'), 'destination.accessKey: must be a secret reference'],
  ['retention without days', (s) => delete s.retention.keepDays, 'retention.keepDays: '],
  ['floor of zero', (s) => (s.retention.minVerified = 0), 'retention.minVerified: '],
  ['both cron and interval', (s) => (s.schedule.every = '6h'), 'schedule.cron: give exactly one of cron or every'],
  ['bad cron', (s) => (s.schedule.cron = 'nightly'), 'schedule.cron: must be a 5-field cron expression'],
  ['bad overlap policy', (s) => (s.schedule.overlap = 'maybe'), 'schedule.overlap: '],
  ['webhook inline', (s) => (s.notify.webhook = 'https://hooks.slack.com/services/T/B/X'), 'notify.webhook: must be a secret reference'],
  // Issue 11, items 5 and 7: a prefix that climbs out of its folder, keys the worker keeps for itself, plain http.
  ['prefix climbing out', (s) => (s.destination.prefix = '../../etc/'), 'destination.prefix: must not contain .., . or // parts'],
  ['prefix absolute', (s) => (s.destination.prefix = '/etc/'), 'destination.prefix: must not start with /'],
  ['prefix with an empty part', (s) => (s.destination.prefix = 'nightly//x/'), 'destination.prefix: must not contain .., . or // parts'],
  [
    "access key naming the worker's token",
    (s) => (s.destination.accessKey = 'env:DIGITALOCEAN_TOKEN'),
    "destination.accessKey: names one of the worker's own settings",
  ],
  [
    'Spaces endpoint over plain http',
    (s) => (s.destination.endpoint = 'http://fra1.digitaloceanspaces.com'),
    'destination.endpoint: must use https (http is allowed only for 127.0.0.0/8, ::1 and localhost, not fra1.digitaloceanspaces.com)',
  ],
  [
    'Spaces endpoint posing as loopback',
    (s) => (s.destination.endpoint = 'http://127.0.0.1.nip.io:9000'),
    'destination.endpoint: must use https',
  ],
  [
    'Spaces endpoint not http at all',
    (s) => (s.destination.endpoint = 'ftp://127.0.0.1/'),
    'destination.endpoint: must be an https URL, not ftp:',
  ],
];

test.each(invalid)('refused: %s', (_what, breakIt, expected) => {
  const spec = stackB();
  breakIt(spec);
  const err = (() => {
    try {
      parseBackupPolicy(spec);
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(SpecError);
  expect((err as SpecError).problems.join('\n')).toContain(expected);
});

test('the JSON Schema describes the policy', () => {
  const schema = backupPolicyJsonSchema() as { properties: Record<string, unknown> };
  expect(Object.keys(schema.properties)).toEqual(
    expect.arrayContaining(['name', 'targets', 'destination', 'retention', 'schedule', 'notify']),
  );
});
