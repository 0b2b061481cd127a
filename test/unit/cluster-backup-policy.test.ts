// The cluster backup policy: stack D's four schedules from one file (three cluster policies run
// backupCluster, the database one runBackups), and bad input refused naming the field.
import path from 'node:path';
import { scheduleOptions } from '../../src/client/schedules';
import { SpecError } from '../../src/specs/common';
import { parseClusterBackupPolicy } from '../../src/specs/cluster-backup-policy';
import { loadBackupPolicies } from '../../src/specs/load';

const example = path.join(__dirname, '../../examples/backup-stack-d-cluster.yaml');

test("examples/backup-stack-d-cluster.yaml holds stack D's four schedules", () => {
  const { group, policies, clusterPolicies } = loadBackupPolicies(example);
  const schedules = [...policies, ...clusterPolicies].map((p) => scheduleOptions(p, group));
  expect(
    schedules.map((s) => [
      s.scheduleId,
      s.action.workflowType,
      s.spec.cronExpressions?.[0] ?? `every ${String(s.spec.intervals?.[0]?.every)}`,
    ]),
  ).toEqual([
    ['backup-stack-d-databases', 'runBackups', 'every 6h'],
    ['backup-stack-d-cluster', 'backupCluster', '0 2 * * *'],
    ['backup-stack-d-config', 'backupCluster', '0 3 * * *'],
    ['backup-stack-d-weekly', 'backupCluster', '0 1 * * 0'],
  ]);
  expect(clusterPolicies.find((p) => p.name === 'stack-d-config')?.resources.kinds).toEqual(['ConfigMap', 'Secret']);
  expect(clusterPolicies.map((p) => [p.name, p.volumeSnapshots])).toEqual([
    ['stack-d-cluster', true],
    ['stack-d-config', false],
    ['stack-d-weekly', true],
  ]);
});

const good = {
  name: 'shop-cluster',
  kind: 'cluster',
  environment: 'stack-d',
  cluster: 'stack-d',
  resources: { namespaces: ['shop'] },
  destination: { bucket: 'backups', accessKey: 'env:A', secretKey: 'env:B' },
  retention: { keepDays: 7 },
  schedule: { cron: '0 2 * * *' },
};

function problems(input: unknown): string[] {
  try {
    parseClusterBackupPolicy(input);
    return [];
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
}

test('a good policy parses; bad fields are named', () => {
  expect(problems(good)).toEqual([]);
  expect(problems({ ...good, resources: { namespaces: [] } })).toEqual([expect.stringMatching(/^resources\.namespaces: /)]);
  expect(problems({ ...good, resources: { namespaces: ['shop'], labelSelector: 'app==web,tier in (a,b),!legacy' } })).toEqual([]);
  expect(problems({ ...good, resources: { namespaces: ['shop'], labelSelector: 'app=web,,x' } })).toEqual([
    expect.stringContaining('resources.labelSelector: "" is not a label selector requirement'),
  ]);
  expect(problems({ ...good, resources: { namespaces: ['shop'], kinds: ['configmap'] } })).toEqual([
    'resources.kinds.0: must be a kind as in a manifest, such as ConfigMap or Deployment',
  ]);
  expect(problems({ ...good, destination: { ...good.destination, accessKey: 'AKIA123' } })[0]).toMatch(/^destination\.accessKey: /);
});
