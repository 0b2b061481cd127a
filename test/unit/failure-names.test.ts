// The CLI names failures by today's types, and says the recorded one beside it for runs that
// older opsflow versions wrote (deployRelease's ReleaseRolledBack / RollbackFailed).
import { failureName, formatFailure, formatStatus } from '../../src/client/format-status';

test("today's names are shown as they are; legacy ones with today's name first", () => {
  expect(failureName('RolledBack')).toBe('RolledBack');
  expect(failureName('ReleaseRolledBack')).toBe('RolledBack, recorded as ReleaseRolledBack');
  expect(failureName('RollbackFailed')).toBe('RollbackIncomplete, recorded as RollbackFailed');
  expect(formatFailure('InvalidInput', 'images.auth: must be an image with a tag')).toBe(
    'InvalidInput: images.auth: must be an image with a tag',
  );
  expect(formatFailure(undefined, 'cancelled')).toBe('cancelled');
});

test('opsflow status shows how a failed run ended, with or without step details', () => {
  const base = {
    workflowId: 'deploy-stack-a-1',
    type: 'deployRelease',
    execution: 'FAILED',
    startTime: new Date('2026-12-01T00:00:00Z'),
    closeTime: new Date('2026-12-01T00:01:00Z'),
  };
  const failure = { type: 'ReleaseRolledBack', message: 'release auth 2.0.3 failed; rolled back' };
  const withSteps = formatStatus({
    ...base,
    failure,
    status: {
      operation: 'deployRelease',
      workflowId: base.workflowId,
      step: 'rolled back',
      completedSteps: ['validate input'],
      remainingSteps: [],
      resources: [],
    },
  });
  expect(withSteps).toContain(
    '  step: rolled back\n  failed: RolledBack, recorded as ReleaseRolledBack: release auth 2.0.3 failed; rolled back',
  );
  const withoutSteps = formatStatus({ ...base, failure, statusError: 'no worker answered' });
  expect(withoutSteps).toContain(
    '  failed: RolledBack, recorded as ReleaseRolledBack: release auth 2.0.3 failed; rolled back\n  (no step details: no worker answered)',
  );
  expect(formatStatus({ ...base, execution: 'COMPLETED', statusError: 'x' })).not.toContain('failed:');
});
