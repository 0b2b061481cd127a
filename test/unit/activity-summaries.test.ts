// The line the Web UI shows for each activity call: what it acts on, word for word, and never a
// secret (environment values, secret references' targets, a command's environment).
import path from 'node:path';
import { createActivities, createCloudActivities } from '../../src/activities';
import { loadBackupPolicies } from '../../src/specs/load';
import { activitySummary, DESCRIBED_ACTIVITIES } from '../../src/workflows/shared/activity-summaries';

const [policy] = loadBackupPolicies(path.join(__dirname, '../../examples/backup-stack-b.yaml')).policies;
const host = { instance: 'app', host: '127.100.0.3', port: 22, user: 'root', key: 'deploy', fingerprints: ['SHA256:x'] };

test('every activity the worker registers has a describer (a new one fails here until it gets one)', () => {
  const main = Object.keys(createActivities({ opsflowVersion: 'test', providers: [] }));
  const cloud = Object.keys(createCloudActivities({} as never));
  // The DigitalOcean worker registers the names runs from before the provider seam call too.
  expect(cloud).toEqual(expect.arrayContaining(['ensureVpc', 'ensureDroplets', 'waitForDropletsActive', 'ensureReservedIp']));
  expect([...main, ...cloud].filter((name) => !DESCRIBED_ACTIVITIES.includes(name))).toEqual([]);
});

test('cloud steps name what they create, where', () => {
  expect(
    activitySummary('ensureServers', {
      names: ['stack-a-app'],
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
      region: 'ams3',
      tags: [],
      sshKeyFingerprints: ['aa:bb'],
    }),
  ).toBe('create droplet stack-a-app (s-1vcpu-1gb, ubuntu-24-04-x64) in ams3');
  expect(activitySummary('ensureNetwork', { name: 'stack-a-vpc', region: 'ams3', ipRange: '10.10.10.0/24' })).toBe(
    'create VPC stack-a-vpc (10.10.10.0/24) in ams3',
  );
  expect(activitySummary('deleteServersTagged', { tag: 'opsflow-env:stack-a' })).toBe('delete every droplet tagged opsflow-env:stack-a');
  // A run from before the provider seam sends dropletId, not serverId.
  expect(activitySummary('attachVolume', { volumeId: 'v-1', dropletId: 7, region: 'ams3' })).toBe('attach volume v-1 to droplet 7');
  expect(activitySummary('ensureDroplets', { names: ['a', 'b'], size: 's', image: 'i', region: 'r' })).toBe(
    'create droplets a, b (s, i) in r',
  );
});

test('host steps name the command and the host, never the environment or a value', () => {
  expect(activitySummary('runRemoteCommand', { ...host, script: 'x', args: ['/srv/app'], label: 'docker compose pull and up' })).toBe(
    'run docker compose pull and up on app (127.100.0.3)',
  );
  const apt = activitySummary('runRemoteCommand', { ...host, argv: ['apt-get', 'update'], env: { DEBIAN_FRONTEND: 'noninteractive' } });
  expect(apt).toBe('run apt-get update on app (127.100.0.3)');
  const env = activitySummary('writeEnvFile', {
    ...host,
    path: '/srv/app/.env',
    values: { LOG_LEVEL: 'debug', API_PASSWORD: 'hunter2-plain' },
    secrets: { DATABASE_URL: 'env:OPSFLOW_SECRET_DB_URL' },
  });
  expect(env).toBe('write /srv/app/.env on app (127.100.0.3) (2 values, 1 secret resolved on the worker)');
  expect(env).not.toMatch(/hunter2|OPSFLOW_SECRET_DB_URL|debug/);
  expect(activitySummary('waitForSsh', { host: '127.100.0.3', port: 2222, user: 'root', timeoutMs: 1 })).toBe(
    'wait for SSH on 127.100.0.3:2222 as root and pin its host key',
  );
});

test('backup steps name the tool, the database and where it goes', () => {
  expect(activitySummary('backupDatabase', { policy, target: 'postgres', database: 'orders', takenAt: '2026-12-02T02:00:00.000Z' })).toBe(
    'pg_dump orders of postgres (postgresql in stack-b/platform/postgres) to s3://stack-b-backups/nightly/stack-b-nightly/postgres/orders/20261202T020000Z.pgdump.gz',
  );
  expect(activitySummary('backupDirectory', { policy, target: 'media', takenAt: '2026-12-02T02:00:00.000Z' })).toBe(
    'tar /mnt/media on stack-b/platform to s3://stack-b-backups/nightly/stack-b-nightly/media/archive/20261202T020000Z.tar.gz',
  );
  const summaries = policy!.targets.map((t) => activitySummary('backupDatabase', { policy, target: t.name, database: 'x', takenAt: '' }));
  for (const s of summaries) expect(s).not.toMatch(/OPSFLOW_SECRET|accessKey|secretKey/);
});

test('a summary is one line of at most 200 characters; an input it cannot read falls back to the activity name', () => {
  const long = activitySummary('runRemoteCommand', { ...host, argv: ['echo', 'x'.repeat(300), '\nsecond line'] });
  expect(long.length).toBe(200);
  expect(long).not.toContain('\n');
  expect(long.endsWith('…')).toBe(true);
  expect(activitySummary('ensureServers', { names: 'not a list' })).toBe('ensureServers');
  expect(activitySummary('someNewActivity', { a: 1 })).toBe('someNewActivity');
});
