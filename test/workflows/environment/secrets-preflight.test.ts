// Issue 13, item 4: a secret the worker cannot resolve used to be found by the deploy step, after
// the VPC, firewall and droplet were made, and only the first one was named. Here provisionEnvironment
// runs on a real Temporal dev server against a local cloud: a spec with missing secrets fails with
// SecretsMissing naming every one (not set, not allowed, file missing) and the cloud's request log
// stays empty; the value of the one secret that is there appears nowhere in the history. A control
// run with every secret present passes the preflight and does reach the cloud.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { LocalCloud, LoggedRequest } from '@opsflow/localcloud';
import { createActivities, createCloudActivities } from '../../../src/activities';
import { DigitalOceanClient } from '../../../src/integrations/digitalocean/client';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { DIGITALOCEAN_TASK_QUEUE } from '../../../src/temporal/task-queues';
import { startLocalCloud } from '../../helpers/localcloud';
import { generateEd25519 } from '../../helpers/ssh-keys';
import { startTemporal, uniqueTaskQueue, workflowBundlePath } from '../../helpers/temporal';
import { decodedText } from '../../helpers/history-text';

jest.setTimeout(3 * 60_000);

const PRESENT_VALUE = 'preflight-present-' + 'value-4711';
const secretsDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-secrets-preflight-'));
// What the worker's process environment holds: the preflight reads it at each call.
const workerEnv: NodeJS.ProcessEnv = {
  OPSFLOW_SECRET_ENV: 'OPSFLOW_SECRET_*,STACK_A_POSTGRES_PASSWORD',
  OPSFLOW_SECRETS_DIR: secretsDir,
  STACK_A_POSTGRES_PASSWORD: PRESENT_VALUE,
};
const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let cloudWorker: Worker;
let cloudWorkerDone: Promise<void>;

beforeAll(async () => {
  env = await startTemporal();
  // API only: the runs here must stop before any droplet, and the control run is cancelled early.
  ({ cloud } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  const deployKey = generateEd25519().public;
  cloudWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: DIGITALOCEAN_TASK_QUEUE,
    activities: createCloudActivities({ digitalOcean: () => client, pollMs: { first: 100, max: 400 }, sshPublicKey: () => deployKey }),
  });
  cloudWorkerDone = cloudWorker.run();
});

afterAll(async () => {
  cloudWorker?.shutdown();
  await cloudWorkerDone;
  await cloud?.stop();
  await env?.teardown();
});

async function requestLog(): Promise<{ total: number; requests: LoggedRequest[] }> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/requests?since=0`, { headers: cloud.controlHeaders });
  expect(response.status).toBe(200);
  return response.json() as Promise<{ total: number; requests: LoggedRequest[] }>;
}

/** A history as text with every payload decoded, so a value in one shows. */
async function historyText(workflowId: string): Promise<string> {
  return decodedText(await env.client.workflow.getHandle(workflowId).fetchHistory());
}

async function scheduledActivities(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : [],
  );
}

function specWithSecrets(name: string, secrets: Record<string, string>): EnvironmentSpec {
  return { ...stackA, name, application: { ...stackA.application!, secrets } };
}

// One set of activities for every run here, as one long-running worker process holds them.
const activities = createActivities({ opsflowVersion: 'test', providers: [], secrets: { env: () => workerEnv } });

/** Runs fn with a workflow worker whose activities resolve secrets from workerEnv, as src/worker.ts wires them. */
async function withWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: workflowBundlePath() },
    activities,
  });
  return worker.runUntil(fn());
}

test('missing secrets: SecretsMissing naming every one, before any request reaches the cloud, no value in history', async () => {
  const taskQueue = uniqueTaskQueue('secrets-missing');
  const workflowId = 'secrets-preflight-missing';
  const spec = specWithSecrets('stack-pf', {
    POSTGRES_PASSWORD: 'env:STACK_A_POSTGRES_PASSWORD', // present: must pass, and its value stay out of history
    LINKAPP_SUPABASE_URL: 'env:OPSFLOW_SECRET_LINKAPP_SUPABASE_URL', // allowed, not set
    SUPABASE_KEY: 'env:LINKAPP_SUPABASE_KEY', // set nowhere and not allowed by OPSFLOW_SECRET_ENV
    TLS_KEY: `file:${secretsDir}/tls.key`, // no such file
  });
  const error = await withWorker(taskQueue, () =>
    env.client.workflow.execute('provisionEnvironment', { taskQueue, workflowId, args: [{ spec }], workflowExecutionTimeout: '60s' }).then(
      () => undefined,
      (err: unknown) => err,
    ),
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect([failure.type, failure.nonRetryable]).toEqual(['SecretsMissing', true]);
  expect(failure.message).toContain('3 secret(s)');
  for (const ref of ['env:OPSFLOW_SECRET_LINKAPP_SUPABASE_URL', 'env:LINKAPP_SUPABASE_KEY', `file:${secretsDir}/tls.key`])
    expect(failure.message).toContain(ref);
  expect(failure.message).not.toContain('POSTGRES_PASSWORD (env:'); // the one present is not listed
  expect(failure.details).toEqual([
    [
      { name: 'LINKAPP_SUPABASE_URL', ref: 'env:OPSFLOW_SECRET_LINKAPP_SUPABASE_URL', problem: 'not set', reason: expect.any(String) },
      {
        name: 'SUPABASE_KEY',
        ref: 'env:LINKAPP_SUPABASE_KEY',
        problem: 'not allowed',
        reason: expect.stringContaining('OPSFLOW_SECRET_ENV'),
      },
      { name: 'TLS_KEY', ref: `file:${secretsDir}/tls.key`, problem: 'file missing', reason: expect.any(String) },
    ],
  ]);
  // Nothing reached the cloud: not even the SSH key registration, the runbook's first request.
  expect(await requestLog()).toEqual({ total: 0, requests: [] });
  const scheduled = await scheduledActivities(workflowId);
  expect(scheduled).toContain('checkSecretReferences');
  expect(scheduled).not.toContain('ensureSshKey');
  const text = await historyText(workflowId);
  // The references are in the history (the decoding works), the value of the present one is not.
  expect(text).toContain('env:STACK_A_POSTGRES_PASSWORD');
  expect(text).not.toContain(PRESENT_VALUE);
});

test('a secret file added to OPSFLOW_SECRETS_DIR counts without a worker restart; with all present the run reaches the cloud', async () => {
  const taskQueue = uniqueTaskQueue('secrets-present');
  const workflowId = 'secrets-preflight-present';
  const tlsKey = { TLS_KEY: `file:${secretsDir}/tls.key` };
  expect((await activities.checkSecretReferences({ references: tlsKey })).missing).toMatchObject([
    { name: 'TLS_KEY', problem: 'file missing' },
  ]);
  writeFileSync(path.join(secretsDir, 'tls.key'), 'not-really-a-key\n');
  expect(await activities.checkSecretReferences({ references: tlsKey })).toEqual({ missing: [] });
  const spec = specWithSecrets('stack-pg', {
    POSTGRES_PASSWORD: 'env:STACK_A_POSTGRES_PASSWORD',
    TLS_KEY: `file:${secretsDir}/tls.key`,
  });
  await withWorker(taskQueue, async () => {
    const handle = await env.client.workflow.start('provisionEnvironment', {
      taskQueue,
      workflowId,
      args: [{ spec }],
      workflowExecutionTimeout: '90s',
    });
    const deadline = Date.now() + 30_000;
    while ((await requestLog()).total === 0) {
      if (Date.now() > deadline) throw new Error('the run with every secret present never reached the cloud');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Enough seen: cancel, so the run rolls back what it made instead of going on to SSH.
    await handle.cancel();
    await handle.result().catch(() => undefined);
  });
  const names = await scheduledActivities(workflowId);
  expect(names).toContain('checkSecretReferences');
  expect(names.indexOf('checkSecretReferences')).toBeLessThan(names.indexOf('ensureSshKey'));
  const text = await historyText(workflowId);
  expect(text).toContain(`file:${secretsDir}/tls.key`);
  expect(text).not.toContain('not-really-a-key');
  expect(text).not.toContain(PRESENT_VALUE);
});
