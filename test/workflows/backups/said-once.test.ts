// Issue 13, item 7: "a long error is said once, not six times in one message". A policy applied
// before zstd was refused at apply (or started by hand) still reaches runBackups: every database and
// directory target fails for the one reason. Real Temporal dev server, real backup activities (the
// zstd refusal comes before any database or bucket is touched); the run's failure says the reason
// once after the names, while its details keep one entry per target.
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createBackupActivities } from '../../../src/activities/backups/backup-steps';
import { localRunner } from '../../../src/backups/local-runner';
import { secretResolver } from '../../../src/backups/secrets';
import type { BackupPolicy } from '../../../src/specs/backup-policy';
import { compressionProblem } from '../../../src/specs/compression-support';
import type { RunBackupsResult } from '../../../src/workflows/backups/run-backups';
import { TEST_KEYRING } from '../../helpers/backup-keys';
import { startTemporal, uniqueTaskQueue, withWorker } from '../../helpers/temporal';

const ZSTD_REFUSAL = `compression: ${compressionProblem('zstd')}`;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTemporal();
});

afterAll(async () => {
  await env?.teardown();
});

test('five databases and a directory refused for zstd: the reason once in the failure, every target in its details', async () => {
  // Nothing listens on 127.0.0.1:1 and no Spaces endpoint is set: nothing past the zstd check could succeed.
  const connection = { host: '127.0.0.1', port: 1, user: 'backup' };
  const policy = {
    name: 'said-once',
    targets: [
      { name: 'postgres', kind: 'postgresql', databases: ['accounts', 'billing', 'catalog', 'orders', 'users'], connection },
      { name: 'media', kind: 'directory', path: '/srv/media', in: { environment: 'stack-b', droplet: 'platform' } },
    ],
    destination: { bucket: 'said-once', accessKey: 'env:OPSFLOW_SECRET_A', secretKey: 'env:OPSFLOW_SECRET_B' },
    compression: 'zstd',
    retention: { keepDays: 7 },
    verify: { restore: false },
    schedule: { every: '6h' },
  } as unknown as BackupPolicy;
  const activities = createBackupActivities({
    resolveSecret: secretResolver({}),
    dropletRunner: () => localRunner(),
    backupKeys: TEST_KEYRING,
  });
  const taskQueue = uniqueTaskQueue('said-once');
  const error = await withWorker(env, taskQueue, activities, () =>
    env.client.workflow
      .execute('runBackups', {
        taskQueue,
        workflowId: 'said-once',
        args: [{ policy, retry: { maximumAttempts: 1, initialInterval: '1s' } }],
        workflowExecutionTimeout: '2 minutes',
      })
      .catch((e: unknown) => e),
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
  const details = failure.details?.[0] as RunBackupsResult;

  // As before: one entry per target in the details, each carrying the whole reason (six times in all).
  const zstdEntries = details.failures.filter((f) => f.includes(ZSTD_REFUSAL));
  expect(zstdEntries.map((f) => f.slice(0, f.indexOf(': ')))).toEqual([
    'postgres/accounts',
    'postgres/billing',
    'postgres/catalog',
    'postgres/orders',
    'postgres/users',
    'media',
  ]);
  // The message says it once, after the six names.
  expect(failure.type).toBe('BackupsFailed');
  expect(failure.message.split(ZSTD_REFUSAL)).toHaveLength(2);
  const said = `backups of said-once failed: postgres/accounts, postgres/billing, postgres/catalog, postgres/orders, postgres/users, media: ${ZSTD_REFUSAL}; `;
  expect(failure.message.slice(0, said.length)).toBe(said);
});
