// Workflow ids have one home: every id opsflow starts is built by src/names/workflow-ids.ts, and
// the suffix that keeps deploy/destroy ids apart differs even for starts in the same millisecond.
import {
  backupScheduleId,
  backupWorkflowId,
  checkWorkerWorkflowId,
  deployWorkflowId,
  destroyWorkflowId,
  environmentWorkflowId,
  provisionWorkflowId,
  retentionWorkflowId,
  uniqueSuffix,
  verifyBackupWorkflowId,
} from '../../src/names/workflow-ids';

test('each operation has its own prefix and the environment in its id', () => {
  expect([
    environmentWorkflowId('stack-a'),
    provisionWorkflowId('stack-a'),
    deployWorkflowId('stack-a', '17'),
    destroyWorkflowId('stack-a', '17'),
  ]).toEqual(['environment-stack-a', 'provision-stack-a', 'deploy-stack-a-17', 'destroy-stack-a-17']);
  expect([backupWorkflowId('stack-b-nightly'), backupScheduleId('stack-b-nightly'), checkWorkerWorkflowId('abc')]).toEqual([
    'backup-stack-b-nightly',
    'backup-stack-b-nightly',
    'check-worker-abc',
  ]);
});

test("a backup run's children are named after the run (as recorded histories have them)", () => {
  expect([
    verifyBackupWorkflowId('backup-b', 'postgres', 'accounts'),
    verifyBackupWorkflowId('backup-b', 'files', undefined),
    retentionWorkflowId('backup-b'),
  ]).toEqual(['backup-b-verify-postgres-accounts', 'backup-b-verify-files-archive', 'backup-b-retention']);
});

test('unique suffixes differ for starts in the same millisecond, and start over in the next', () => {
  const at = 1_800_000_000_000;
  const same = [uniqueSuffix(at), uniqueSuffix(at), uniqueSuffix(at)];
  expect(same).toEqual([String(at), `${at}-1`, `${at}-2`]);
  expect(new Set(same.map((s) => deployWorkflowId('stack-a', s))).size).toBe(3);
  expect(uniqueSuffix(at + 1)).toBe(String(at + 1));
});

test('the default suffix is the clock, as the ids started before this module used', () => {
  const before = Date.now();
  const suffix = Number(uniqueSuffix().split('-')[0]);
  expect(suffix).toBeGreaterThanOrEqual(before);
  expect(suffix).toBeLessThanOrEqual(Date.now());
});
