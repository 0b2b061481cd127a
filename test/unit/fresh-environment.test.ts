// Which provisioning runs may skip their first look-ups (issue 17): only one whose environment's
// inventory shows nothing made under its marks since the environment was new or last destroyed.
import { isFreshEnvironment } from '../../src/workflows/environment/fresh-environment';
import { emptyInventory, MAX_OPERATIONS, type Inventory, type OperationRecord } from '../../src/workflows/environment/inventory';

const self = { workflowId: 'provision-shop', runId: 'run-2' };
const op = (operation: OperationRecord['operation'], outcome: OperationRecord['outcome'], runId: string): OperationRecord => ({
  workflowId: `${operation}-shop`,
  runId,
  operation,
  outcome,
  startedAt: '2026-12-02T10:00:00Z',
});
const withOps = (state: Inventory['state'], operations: OperationRecord[]): Inventory => ({ ...emptyInventory('shop'), state, operations });
const mine: OperationRecord = { ...op('provision', 'running', 'run-2'), workflowId: 'provision-shop' };

test('a new environment whose only operation is this run is fresh', () => {
  expect(isFreshEnvironment(withOps('new', [mine]), self)).toBe(true);
});

test('after a destroy that succeeded, earlier runs no longer count; deploys never do', () => {
  const ops = [
    op('provision', 'succeeded', 'run-1'),
    op('deploy', 'succeeded', 'd1'),
    op('destroy', 'succeeded', 'x1'),
    op('deploy', 'failed', 'd2'),
    mine,
  ];
  expect(isFreshEnvironment(withOps('destroyed', ops), self)).toBe(true);
});

test('an earlier provision, rollout or failover since (kept, failed, abandoned) means look first', () => {
  for (const earlier of [
    op('provision', 'failed', 'run-1'),
    op('provision', 'abandoned', 'run-1'),
    op('rollout', 'succeeded', 'r1'),
    op('failover', 'failed', 'f1'),
  ])
    expect([earlier.operation, earlier.outcome, isFreshEnvironment(withOps('new', [earlier, mine]), self)]).toEqual([
      earlier.operation,
      earlier.outcome,
      false,
    ]);
  // A destroy that failed may have left things too.
  expect(isFreshEnvironment(withOps('new', [op('provision', 'succeeded', 'run-1'), op('destroy', 'failed', 'x1'), mine]), self)).toBe(
    false,
  );
});

test('a provisioned environment, no inventory (runs from before the claim) or a full, trimmed record means look first', () => {
  expect(isFreshEnvironment(withOps('provisioned', [mine]), self)).toBe(false);
  expect(isFreshEnvironment(undefined, self)).toBe(false);
  const full = [...Array.from({ length: MAX_OPERATIONS - 1 }, (_, i) => op('deploy', 'succeeded', `d${i}`)), mine];
  expect(isFreshEnvironment(withOps('new', full), self)).toBe(false);
});
