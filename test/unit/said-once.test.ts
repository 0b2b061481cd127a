// Issue 13, item 7: "a long error is said once, not six times in one message". runBackups lists
// one failure per database and directory; when they fail for one reason (zstd refused, a missing
// bucket) the reason is said once after their names. The lines are made here as runBackups makes
// them: describeError over the failures Temporal hands the workflow.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { describeFailure } from '../../src/client/failure-text';
import { chainOnce, saidOnce } from '../../src/messages/said-once';
import { describeError } from '../../src/workflows/shared/saga';

const ZSTD = "compression: zstd needs Node 22.15 or 23.8 or later (zlib's zstd), and this is Node 20.20.2; use gzip or none";
const NO_BUCKET = 'NoSuchBucket (HTTP 404): The specified bucket does not exist.';

const activityFailed = (activityType: string, message: string) =>
  new ActivityFailure(
    'Activity task failed',
    activityType,
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    'worker',
    ApplicationFailure.create({ type: 'Unsupported', message, nonRetryable: true }),
  );
const childFailed = (cause: Error) =>
  new ChildWorkflowFailure(
    'default',
    { workflowId: 'run-retention', runId: 'r' },
    'applyRetention',
    RetryState.NON_RETRYABLE_FAILURE,
    cause,
  );

test('zstd refused for five databases and a directory: the reason once, after the six names', () => {
  const databases = ['accounts', 'billing', 'catalog', 'orders', 'users'];
  const failures = [
    ...databases.map((db) => `postgres/${db}: ${describeError(activityFailed('backupDatabase', ZSTD))}`),
    `media: ${describeError(activityFailed('backupDirectory', ZSTD))}`,
  ];
  expect(failures.join('; ').split(ZSTD)).toHaveLength(7); // as it was: six times
  expect(saidOnce(failures)).toEqual([
    `postgres/accounts, postgres/billing, postgres/catalog, postgres/orders, postgres/users, media: ${ZSTD}`,
  ]);
});

test('a missing bucket: each upload names its own key, the retention step fails through its child; the bucket is said once', () => {
  const failures = [
    `pg/a: ${describeError(activityFailed('backupDatabase', `checking pending uploads of runs/p/pg/a/1.sql.gz: ${NO_BUCKET}`))}`,
    `pg/b: ${describeError(activityFailed('backupDatabase', `checking pending uploads of runs/p/pg/b/1.sql.gz: ${NO_BUCKET}`))}`,
    `retention: ${describeError(childFailed(activityFailed('listBackups', `list backups: ${NO_BUCKET}`)))}`,
  ];
  expect(saidOnce(failures)).toEqual([`pg/a, pg/b, retention: ${NO_BUCKET}`]);
});

test('different reasons stay apart and keep their step; one failure is said as it was', () => {
  const one = `orders-db/orders: ${describeError(activityFailed('backupDatabase', 'connect ECONNREFUSED 127.0.0.1:1'))}`;
  expect(saidOnce([one])).toEqual(['orders-db/orders: backupDatabase: connect ECONNREFUSED 127.0.0.1:1']);
  expect(
    saidOnce([
      one,
      'pg/shop: verification failed: accounts: 3 rows restored, 4 dumped',
      'pg/shop2: verification failed: accounts: 3 rows restored, 4 dumped',
    ]),
  ).toEqual([
    'orders-db/orders: backupDatabase: connect ECONNREFUSED 127.0.0.1:1',
    'pg/shop, pg/shop2: verification failed: accounts: 3 rows restored, 4 dumped',
  ]);
  // A short shared tail is too generic to merge on.
  expect(saidOnce(['a: upload of x: timed out', 'b: upload of y: timed out'])).toEqual([
    'a: upload of x: timed out',
    'b: upload of y: timed out',
  ]);
});

test('a cause already said is not appended again', () => {
  expect(chainOnce(['backups of p failed: pg/a: disk full', 'disk full'])).toBe('backups of p failed: pg/a: disk full');
  expect(chainOnce(['disk full', 'pg/a: disk full'])).toBe('pg/a: disk full');
  expect(chainOnce(['release rolled back', 'health gate failed: web /health 500'])).toBe(
    'release rolled back: health gate failed: web /health 500',
  );
});

test('the CLI prints a workflow failure with its causes, each once, without the SDK wrappers', () => {
  const inner = ApplicationFailure.create({ type: 'HealthGateFailed', message: 'web: GET /health answered 500 3 times' });
  const outer = ApplicationFailure.create({
    type: 'RolledBack',
    message: 'web: GET /health answered 500 3 times; rolled back',
    cause: new ActivityFailure('Activity task failed', 'checkHealth', '7', RetryState.NON_RETRYABLE_FAILURE, 'worker', inner),
  });
  const err = new WorkflowFailedError('Workflow execution failed', outer, RetryState.NON_RETRYABLE_FAILURE);
  expect(describeFailure(err)).toBe('the workflow failed (RolledBack): web: GET /health answered 500 3 times; rolled back');
  const nested = new WorkflowFailedError(
    'Workflow execution failed',
    activityFailed('createDroplet', 'quota exceeded'),
    RetryState.NON_RETRYABLE_FAILURE,
  );
  expect(describeFailure(nested)).toBe('the workflow failed: quota exceeded');
});
