// Issue 13, item 5's leftover: runs that fail before their saga begins used to leave the `status`
// query with no final state (provisionEnvironment had not even registered it yet). Here, on a real
// Temporal dev server, a spec refused at the workflow's start, a spec whose secrets the worker
// cannot resolve, and a restore of a target the policy lacks each end with state `failed`, the
// failure's own message as the reason, the step it happened in listed as failed, nothing done after.
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../../src/activities';
import { parseBackupPolicy } from '../../../src/specs/backup-policy';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { startTemporal, uniqueTaskQueue, workflowBundlePath } from '../../helpers/temporal';

jest.setTimeout(2 * 60_000);

const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));
// No secret is set or allowed on this worker: every reference is missing.
const activities = createActivities({ opsflowVersion: 'test', providers: [], secrets: { env: () => ({}) } });

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerDone: Promise<void>;
const taskQueue = uniqueTaskQueue('status-before-saga');

beforeAll(async () => {
  env = await startTemporal();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: workflowBundlePath() },
    activities,
  });
  workerDone = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  await env?.teardown();
});

/** Runs the workflow to its failure; returns the failure's message and the status query's answer afterwards. */
async function failedRun(workflowType: string, workflowId: string, arg: unknown): Promise<{ message: string; status: OperationStatus }> {
  const handle = await env.client.workflow.start(workflowType, { taskQueue, workflowId, args: [arg], workflowExecutionTimeout: '60s' });
  const error = await handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const message = ((error as WorkflowFailedError).cause as Error).message;
  return { message, status: await handle.query<OperationStatus>('status') };
}

test('a spec refused at the start of provisionEnvironment ends failed, with the refusal as the reason', async () => {
  const spec = { ...stackA, name: 'stack-sb', region: 'london' } as unknown as EnvironmentSpec;
  const { message, status } = await failedRun('provisionEnvironment', 'status-before-saga-spec', { spec });
  expect(message).toContain('region');
  expect(status.outcome).toEqual({ state: 'failed', reason: message, undone: [], notUndone: [], kept: [] });
  expect(status.step).toBe('failed');
  expect(status.completedSteps).toEqual([]);
  expect(status.failedSteps).toEqual([`validate spec: ${message}`]);
  expect(status.resources).toEqual([]);
});

test('missing secrets (SecretsMissing, after the claim) end provisionEnvironment failed, naming them in the reason', async () => {
  const spec: EnvironmentSpec = {
    ...stackA,
    name: 'stack-sc',
    application: { ...stackA.application!, secrets: { A: 'env:OPSFLOW_SECRET_A', B: 'env:OPSFLOW_SECRET_B' } },
  };
  const { message, status } = await failedRun('provisionEnvironment', 'status-before-saga-secrets', { spec });
  expect(message).toContain('2 secret(s) the worker cannot resolve');
  expect(status.outcome?.state).toBe('failed');
  expect(status.outcome?.reason).toContain('2 secret(s) the worker cannot resolve');
  expect(status.outcome?.reason).toContain('env:OPSFLOW_SECRET_B');
  expect(status.failedSteps).toHaveLength(1);
  expect(status.failedSteps![0]).toMatch(/^validate spec: .*secret\(s\)/);
  expect(status.resources).toEqual([]);
});

test('restoreBackup of a target the policy lacks ends failed, the reason naming the target', async () => {
  const policy = parseBackupPolicy({
    name: 'sb-nightly',
    targets: [{ name: 'db', kind: 'postgresql', databases: ['app'], connection: { host: '127.0.0.1', port: 5432, user: 'postgres' } }],
    destination: { bucket: 'sb-backups', endpoint: 'http://127.0.0.1:1', accessKey: 'env:A', secretKey: 'env:B' },
    retention: { keepDays: 7 },
    schedule: { every: '1h' },
  });
  const { message, status } = await failedRun('restoreBackup', 'status-before-saga-restore', {
    policy,
    target: 'nope',
    intoDatabase: 'app_copy',
  });
  expect(message).toBe('target: policy sb-nightly has no target nope');
  expect(status.outcome).toEqual({ state: 'failed', reason: message, undone: [], notUndone: [], kept: [] });
  expect(status.failedSteps).toEqual([`choose backup: ${message}`]);
});

test('a claim refused because another run holds the environment ends the second run failed, naming the holder', async () => {
  // The holder gets past its claim and waits on the cloud queue, which no worker here serves.
  const spec: EnvironmentSpec = { ...stackA, name: 'stack-sd', application: { ...stackA.application!, secrets: {} } };
  const holder = await env.client.workflow.start('provisionEnvironment', {
    taskQueue,
    workflowId: 'status-before-saga-holder',
    args: [{ spec }],
    workflowExecutionTimeout: '60s',
  });
  try {
    const deadline = Date.now() + 30_000;
    // Past its claim: since patch provision-at-once the key, VPC and firewall are asked for in one
    // workflow task, so the status shows the batch's last step, 'create firewall'.
    while ((await holder.query<OperationStatus>('status')).step !== 'create firewall') {
      if (Date.now() > deadline) throw new Error('the holder never got past its claim');
      await new Promise((r) => setTimeout(r, 100));
    }
    const { message, status } = await failedRun('provisionEnvironment', 'status-before-saga-busy', { spec });
    expect(message).toContain('status-before-saga-holder');
    expect(status.outcome).toEqual({ state: 'failed', reason: message, undone: [], notUndone: [], kept: [] });
    expect(status.failedSteps).toEqual([`validate spec: ${message}`]);
  } finally {
    await holder.terminate('test over');
  }
});
