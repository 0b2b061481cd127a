// The saga helper on the real Temporal server: reverse-order rollback on failure and on
// cancellation, failed compensations named, and `onFailure: keep`.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { ROLLBACK_INCOMPLETE, ROLLED_BACK, type RollbackReport } from '../../../src/workflows/shared/saga';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { createSagaFixtureActivities, type CallLog } from '../../fixtures/saga-activities';
import type { ThreeStepsInput } from '../../fixtures/saga-workflows';
import { startTemporal, uniqueTaskQueue, withWorker } from '../../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startTemporal();
});
afterAll(async () => {
  await env?.teardown();
});

const CREATED = ['create thing-1', 'create thing-2', 'create thing-3'];

async function failureOf(promise: Promise<unknown>): Promise<WorkflowFailedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return err as WorkflowFailedError;
}

async function waitForStep(handle: { query: <T>(name: string) => Promise<T> }, step: string): Promise<OperationStatus> {
  for (let i = 0; i < 200; i++) {
    const status = await handle.query<OperationStatus>('status');
    if (status.step === step) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`workflow never reached step ${step}`);
}

test('a failure after three steps runs three compensations in reverse order', async () => {
  const log: CallLog = { calls: [] };
  const taskQueue = uniqueTaskQueue('saga');
  const err = await withWorker(env, taskQueue, createSagaFixtureActivities(log), () =>
    failureOf(
      env.client.workflow.execute('threeStepsThen', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ after: 'fail' } satisfies ThreeStepsInput],
      }),
    ),
  );
  expect(log.calls).toEqual([...CREATED, 'delete thing-3', 'delete thing-2', 'delete thing-1']);
  const failure = err.cause as ApplicationFailure;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure.type).toBe(ROLLED_BACK);
  expect(failure.message).toBe('the fourth step broke; rolled back 3 step(s)');
  expect((failure.details?.[0] as RollbackReport).compensated).toEqual(['delete thing-3', 'delete thing-2', 'delete thing-1']);
});

test('cancelling mid-way still runs the compensations, and the workflow ends cancelled', async () => {
  const log: CallLog = { calls: [] };
  const taskQueue = uniqueTaskQueue('saga-cancel');
  await withWorker(env, taskQueue, createSagaFixtureActivities(log), async () => {
    const handle = await env.client.workflow.start('threeStepsThen', {
      taskQueue,
      workflowId: taskQueue,
      args: [{ after: 'wait-for-cancel' } satisfies ThreeStepsInput],
    });
    const status = await waitForStep(handle, 'finish');
    expect(status.resources.map((r) => r.name)).toEqual(['thing-1', 'thing-2', 'thing-3']);
    expect(status.completedSteps).toEqual(['thing-1', 'thing-2', 'thing-3']);
    await handle.cancel();
    const err = await failureOf(handle.result());
    expect(err.cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });
  expect(log.calls).toEqual([...CREATED, 'delete thing-3', 'delete thing-2', 'delete thing-1']);
});

test('a compensation that keeps failing is retried, the rest still run, and it is named in the failure', async () => {
  const log: CallLog = { calls: [] };
  const taskQueue = uniqueTaskQueue('saga-stuck');
  const err = await withWorker(env, taskQueue, createSagaFixtureActivities(log, { undeletable: ['thing-2'] }), () =>
    failureOf(
      env.client.workflow.execute('threeStepsThen', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ after: 'fail' } satisfies ThreeStepsInput],
      }),
    ),
  );
  // deleteThing has maximumAttempts 3 in the fixture's retry policy.
  expect(log.calls).toEqual([...CREATED, 'delete thing-3', 'delete thing-2', 'delete thing-2', 'delete thing-2', 'delete thing-1']);
  const failure = err.cause as ApplicationFailure;
  expect(failure.type).toBe(ROLLBACK_INCOMPLETE);
  expect(failure.message).toBe(
    'the fourth step broke; rollback incomplete, compensations failed: delete thing-2 (deleteThing: thing-2 is stuck)',
  );
  const report = failure.details?.[0] as RollbackReport;
  expect(report.failed.map((f) => f.name)).toEqual(['delete thing-2']);
  expect(report.compensated).toEqual(['delete thing-3', 'delete thing-1']);
});

test('a cancellation whose rollback is incomplete fails the workflow instead of hiding it', async () => {
  const log: CallLog = { calls: [] };
  const taskQueue = uniqueTaskQueue('saga-cancel-stuck');
  await withWorker(env, taskQueue, createSagaFixtureActivities(log, { undeletable: ['thing-1'] }), async () => {
    const handle = await env.client.workflow.start('threeStepsThen', {
      taskQueue,
      workflowId: taskQueue,
      args: [{ after: 'wait-for-cancel' } satisfies ThreeStepsInput],
    });
    await waitForStep(handle, 'finish');
    await handle.cancel();
    const failure = (await failureOf(handle.result())).cause as ApplicationFailure;
    expect(failure.type).toBe(ROLLBACK_INCOMPLETE);
    expect(failure.message).toMatch(/^cancelled; rollback incomplete, compensations failed: delete thing-1 /);
    expect((await handle.describe()).status.name).toBe('FAILED');
  });
});

test('onFailure keep leaves what exists and says what was kept', async () => {
  const log: CallLog = { calls: [] };
  const taskQueue = uniqueTaskQueue('saga-keep');
  const err = await withWorker(env, taskQueue, createSagaFixtureActivities(log), () =>
    failureOf(
      env.client.workflow.execute('threeStepsThen', {
        taskQueue,
        workflowId: taskQueue,
        args: [{ after: 'fail', onFailure: 'keep' } satisfies ThreeStepsInput],
      }),
    ),
  );
  expect(log.calls).toEqual(CREATED);
  const failure = err.cause as ApplicationFailure;
  expect(failure.type).toBe('FailedAndKept');
  expect(failure.message).toContain('delete thing-1, delete thing-2, delete thing-3');
});
