// Issue 13 item 5: after a failure the final state, the reason and what was undone (and what not)
// are shown by the status query, the Web UI's current details, `opsflow status` and the live
// progress, each line once. The tracker's workflow APIs are replaced by recorders here (the real
// server path is test/workflows/environment/status-after-rollback.test.ts).
const details: string[] = [];
const upserts: unknown[] = [];
let handler: (() => unknown) | undefined;
jest.mock('@temporalio/workflow', () => ({
  patched: () => true,
  upsertSearchAttributes: (attributes: unknown) => upserts.push(attributes),
  defineQuery: (name: string) => name,
  setHandler: (_query: string, fn: () => unknown) => (handler = fn),
  setCurrentDetails: (text: string) => details.push(text),
  workflowInfo: () => ({ workflowId: 'provision-stack-a' }),
}));

import { ProgressPrinter } from '../../src/client/progress';
import { formatProvisionResult, formatStatus } from '../../src/client/format-status';
import { StatusTracker, type OperationStatus } from '../../src/workflows/shared/status';
import { compensationRemoves } from '../../src/workflows/shared/status-outcome';

function rolledBackProvision(failed: { name: string; error: string }[] = []): OperationStatus {
  const tracker = new StatusTracker('provisionEnvironment', ['create VPC', 'create droplets', 'bootstrap', 'health gate']);
  tracker.step('create VPC');
  tracker.recordResource({ kind: 'vpc', id: 'v1', name: 'stack-a-net' });
  tracker.step('create droplets');
  tracker.recordResource({ kind: 'droplet', id: '11', name: 'stack-a-app' });
  tracker.recordResource({ kind: 'reserved_ip', id: '10.0.0.9' });
  tracker.step('bootstrap');
  tracker.finish('rolling back');
  const compensated = ['delete droplets', 'delete VPC'].filter((c) => !failed.some((f) => f.name === c));
  tracker.rolledBack({ compensated, failed }, 'runCommand: exit 1');
  return handler!() as OperationStatus;
}

beforeEach(() => {
  details.length = 0;
  upserts.length = 0;
});

test('the tracker records the final state, the reason and what the rollback undid', () => {
  const status = rolledBackProvision();
  expect(status.step).toBe('rolled back');
  // The run list's OpsOutcome column says the same, once.
  expect(upserts).toEqual([[{ key: expect.objectContaining({ name: 'OpsOutcome' }), value: 'rolled back' }]]);
  expect(status.completedSteps).toEqual(['create VPC', 'create droplets']);
  expect(status.failedSteps).toEqual(['bootstrap: runCommand: exit 1']);
  expect(status.outcome).toEqual({
    state: 'rolled back',
    reason: 'runCommand: exit 1',
    undone: ['delete droplets', 'delete VPC'],
    notUndone: [],
    kept: [],
  });
  expect(status.resources.map((r) => [r.kind, r.step, r.undone ?? false])).toEqual([
    ['vpc', 'create VPC', true],
    ['droplet', 'create droplets', true],
    ['reserved_ip', 'create droplets', false],
  ]);
  expect(details.at(-1)).toBe('**provisionEnvironment**: rolled back; runCommand: exit 1; undone: delete droplets, delete VPC');
});

test('a rollback that could not undo everything says so and keeps the resource as existing', () => {
  const status = rolledBackProvision([{ name: 'delete VPC', error: 'vpc in use' }]);
  expect(status.outcome?.state).toBe('rollback incomplete');
  expect(status.resources.find((r) => r.kind === 'vpc')?.undone).toBeUndefined();
  expect(details.at(-1)).toBe(
    '**provisionEnvironment**: rollback incomplete; runCommand: exit 1; undone: delete droplets; not undone: delete VPC (vpc in use)',
  );
});

test('a backup run with a failed target lists that step as failed, not done', () => {
  const tracker = new StatusTracker('runBackups', ['validate policy', 'back up', 'apply retention', 'report']);
  tracker.step('validate policy');
  tracker.step('back up');
  tracker.recordResource({ kind: 'backup', id: 'k1', name: 'db/app' });
  tracker.failCurrent('db/billing: pg_dump: connection refused');
  tracker.step('apply retention');
  tracker.step('report');
  tracker.failed('backups of nightly failed: db/billing: pg_dump: connection refused', { stepFailed: false });
  const status = handler!() as OperationStatus;
  expect(status.completedSteps).toEqual(['validate policy', 'apply retention', 'report']);
  expect(status.failedSteps).toEqual(['back up: db/billing: pg_dump: connection refused']);
  expect(status.outcome?.state).toBe('failed');
  expect(details.at(-1)).toBe('**runBackups**: failed; backups of nightly failed: db/billing: pg_dump: connection refused');
});

test('compensations remove the resources they name, and only those', () => {
  expect(compensationRemoves('delete droplets', { kind: 'droplet' })).toBe(true);
  expect(compensationRemoves('delete VPC', { kind: 'vpc' })).toBe(true);
  expect(compensationRemoves('release reserved IP', { kind: 'reserved_ip' })).toBe(true);
  expect(compensationRemoves('delete volume stack-a-data', { kind: 'volume', name: 'stack-a-data' })).toBe(true);
  expect(compensationRemoves('delete volume stack-a-data', { kind: 'volume', name: 'stack-a-logs' })).toBe(false);
  expect(compensationRemoves('detach volume stack-a-data', { kind: 'volume', name: 'stack-a-data' })).toBe(false);
});

test('opsflow status shows the final state, the reason, what was undone and what still exists', () => {
  const text = formatStatus({
    workflowId: 'provision-stack-a',
    type: 'provisionEnvironment',
    execution: 'FAILED',
    startTime: new Date('2026-12-01T00:00:00Z'),
    failure: { type: 'RolledBack', message: 'runCommand: exit 1; rolled back 2 step(s)' },
    status: rolledBackProvision(),
  });
  expect(text.split('\n').slice(2)).toEqual([
    '  state: rolled back',
    '  reason: runCommand: exit 1',
    '  done: create VPC → create droplets',
    '  failed step: bootstrap: runCommand: exit 1',
    '  undone: delete droplets, delete VPC',
    '  resources still existing:',
    '    reserved_ip  10.0.0.9',
    '  resources deleted by the rollback:',
    '    vpc          v1  stack-a-net',
    '    droplet      11  stack-a-app',
  ]);
});

test('the progress printer prints each line once, resources under their step, the rollback with what it undid', () => {
  let out = '';
  const printer = new ProgressPrinter({ write: (t) => ((out += t), true) }, () => 0);
  const status = rolledBackProvision([{ name: 'delete VPC', error: 'vpc in use' }]);
  const rollingBack: OperationStatus = { ...status, step: 'rolling back', outcome: undefined };
  for (let i = 0; i < 5; i++) printer.show(rollingBack);
  for (let i = 0; i < 3; i++) printer.show(status);
  expect(out.split('\n')).toEqual([
    '  ✔ create VPC',
    '    + vpc         stack-a-net v1',
    '  ✔ create droplets',
    '    + droplet     stack-a-app 11',
    '    + reserved_ip 10.0.0.9',
    '  ✖ bootstrap: runCommand: exit 1',
    '  ↺ rolling back',
    '    - delete droplets',
    '    ! delete VPC failed: vpc in use',
    '  ✖ rollback incomplete; runCommand: exit 1; undone: delete droplets; not undone: delete VPC (vpc in use)',
    '',
  ]);
});

test('long service names do not run into the image column', () => {
  const text = formatProvisionResult({
    environment: 'stack-b',
    droplets: [],
    volumes: [],
    application: { directory: '/srv/app', images: { web: 'nginx:1.27', 'celery-beat-scheduler': 'app:1.0' } },
  } as never);
  expect(text.split('\n').slice(-2)).toEqual(['    web                    nginx:1.27', '    celery-beat-scheduler  app:1.0']);
});
