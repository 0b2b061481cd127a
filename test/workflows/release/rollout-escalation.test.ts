// Issue 14: a pause waiting for a human escalates after `escalateAfter` with a notification. The
// spec names a webhook by secret reference; the worker resolves it and posts a summary to a real
// HTTP receiver on loopback. The URL (a secret: whoever has it can post) never enters the
// workflow's history. Then the rollout keeps waiting, or aborts, as the spec says; a webhook that
// refuses the notice does not stop either.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { buildDeployInput } from '../../../src/client/deploy';
import type { SshConnection } from '../../../src/integrations/ssh';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import type { RolloutSpecInput } from '../../../src/specs/rollout';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import {
  rolloutWorkflowId,
  type RolloutReleaseInput,
  type RolloutResult,
  type RolloutStatus,
} from '../../../src/workflows/release/rollout-api';
import { APP_PORT, canaryEnvironmentSpec, setUpFrontNginx, UPSTREAM, versionOn } from '../../helpers/canary-stage';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { startTemporal } from '../../helpers/temporal';
import { until } from '../../helpers/until';
import { decodedText } from '../../helpers/history-text';

jest.setTimeout(600_000);

const ENVIRONMENT = 'canary-notice';
// The secret part of a Slack-style hook URL: its path.
const TOKEN = 'T0001/B0002/s3cr3t-hook-token';
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: OpsflowWorkers;
let spec: EnvironmentSpec;
let provisioned: ProvisionResult;
let front: SshConnection;
let receiver: http.Server;
let receiverHost: string;
/** What the receiver got: each POST's path and JSON body. */
const received: { path: string; body: { text?: string } }[] = [];
/** The status the receiver answers with. */
let answer = 200;
/** While set, the receiver holds its answer until it settles: a notice in flight, by construction. */
let hold: Promise<void> | undefined;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) as { text?: string } });
      void (hold ?? Promise.resolve()).then(() => res.writeHead(answer).end());
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverHost = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 150 },
  }));
  workers = await startOpsflowWorkers(env, cloud, { OPSFLOW_SECRET_ROLLOUT_WEBHOOK: `http://${receiverHost}/services/${TOKEN}` });
  spec = canaryEnvironmentSpec(ENVIRONMENT);
  provisioned = await workers.withWorkflowWorker(TASK_QUEUE, () =>
    env.client.workflow.execute('provisionEnvironment', {
      taskQueue: TASK_QUEUE,
      workflowId: `provision-${ENVIRONMENT}`,
      args: [{ spec }],
    }),
  );
  front = await setUpFrontNginx(provisioned, workers.deployKey);
}, 900_000);

afterAll(async () => {
  front?.close();
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
  receiver?.close();
});

function rollout(tag: string, onEscalation: 'keep-waiting' | 'abort'): Promise<WorkflowHandle> {
  const rolloutSpec: RolloutSpecInput = {
    environment: ENVIRONMENT,
    fleet: { instances: ['app-1', 'app-2'], port: APP_PORT },
    traffic: { nginx: { upstream: UPSTREAM, frontHost: 'app-1' } },
    canary: {
      maxSurge: 0,
      maxUnavailable: 1,
      steps: [{ setWeight: 50 }, { pause: { escalateAfter: '3s', onEscalation } }, { setWeight: 100 }],
    },
    notify: { webhook: 'env:OPSFLOW_SECRET_ROLLOUT_WEBHOOK' },
  };
  const input = {
    ...buildDeployInput({ result: provisioned, spec }, { shop: tag }),
    spec: rolloutSpec,
    requestedBy: 'jest',
  } as RolloutReleaseInput;
  return env.client.workflow.start('rolloutRelease', { taskQueue: TASK_QUEUE, workflowId: rolloutWorkflowId(ENVIRONMENT), args: [input] });
}

/** The run's history as text with every payload decoded, so a value in one shows. */
async function historyText(handle: WorkflowHandle): Promise<string> {
  return decodedText(await handle.fetchHistory());
}

test('an escalated pause posts one summary to the webhook and keeps waiting; promote finishes it; the URL is not in history', async () => {
  answer = 200;
  const before = received.length;
  await workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await rollout('1.1', 'keep-waiting');
    const escalated = await until(
      'the escalation to be notified',
      async () => {
        const status = await handle.query<RolloutStatus>('status');
        return status.rollout?.pause?.notified ? status : undefined;
      },
      300_000,
    );
    expect(escalated.rollout!.pause).toMatchObject({
      waitingFor: 'human',
      escalated: true,
      notified: `notified the webhook at ${receiverHost}`,
      reason: 'step 2: pause until promoted',
    });
    expect(escalated.rollout!.phase).toBe('paused');
    expect(received.slice(before)).toHaveLength(1);
    const notice = received[before]!;
    expect(notice.path).toBe(`/services/${TOKEN}`);
    expect(notice.body.text).toContain(
      `opsflow rollout ${ENVIRONMENT}: step 2: pause until promoted has waited 3s and no one promoted it.`,
    );
    expect(notice.body.text).toContain(
      'Canary shop ghcr.io/acme/shop:1.1 on app-1 takes 50% of traffic; stable shop ghcr.io/acme/shop:1.0 takes 50%.',
    );
    expect(notice.body.text).toContain(`\`opsflow rollout promote ${ENVIRONMENT}\``);

    expect(await handle.executeUpdate('promote', { args: [{ by: 'oncall' }] })).toEqual({
      accepted: expect.stringContaining('promoted past'),
    });
    const result = (await handle.result()) as RolloutResult;
    expect(result.images).toEqual({ shop: 'ghcr.io/acme/shop:1.1' });
    // Sent once, and the secret URL never reached the history (the notice's text and the host did).
    expect(received.slice(before)).toHaveLength(1);
    const text = await historyText(handle);
    expect(text).not.toContain(TOKEN);
    expect(text).toContain('env:OPSFLOW_SECRET_ROLLOUT_WEBHOOK');
  });
  expect([await versionOn(provisioned, 'app-1'), await versionOn(provisioned, 'app-2')]).toEqual(['1.1', '1.1']);
});

test('onEscalation abort: a webhook that refuses the notice is reported in the status, and the rollout aborts all the same', async () => {
  answer = 404;
  const before = received.length;
  const { err, status, handle } = await workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await rollout('1.2', 'abort');
    const err = await handle.result().catch((e: unknown) => e);
    return { err, status: await handle.query<RolloutStatus>('status'), handle };
  });
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('no one promoted step 2 within 3s (onEscalation: abort)');
  // A 404 is not retried (the hook is gone): one attempt, and the status says why no one was told.
  expect(received.slice(before)).toHaveLength(1);
  expect(received[before]!.body.text).toContain('The rollout aborts now (onEscalation: abort)');
  expect(status.resources).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ kind: 'notification', id: `notice not sent: webhook at ${receiverHost} answered HTTP 404` }),
    ]),
  );
  expect(await historyText(handle)).not.toContain(TOKEN);
  expect([await versionOn(provisioned, 'app-1'), await versionOn(provisioned, 'app-2')]).toEqual(['1.1', '1.1']);
});

test('a promote while the escalation notice is still being sent is accepted and wins over onEscalation abort; one notice', async () => {
  answer = 200;
  const before = received.length;
  let release = () => {};
  hold = new Promise<void>((resolve) => (release = resolve));
  try {
    const result = await workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const handle = await rollout('1.3', 'abort');
      await until('the notice to reach the receiver', async () => (received.length > before ? true : undefined), 300_000);
      // The receiver holds its answer: the notice is in flight, and the rollout still waits for a human.
      const status = await handle.query<RolloutStatus>('status');
      expect(status.rollout).toMatchObject({
        phase: 'paused',
        pause: { waitingFor: 'human', escalated: true, reason: 'step 2: pause until promoted' },
      });
      expect(await handle.executeUpdate('promote', { args: [{ by: 'oncall' }] })).toEqual({
        accepted: expect.stringContaining('promoted past'),
      });
      release();
      return (await handle.result()) as RolloutResult;
    });
    expect(result.images).toEqual({ shop: 'ghcr.io/acme/shop:1.3' });
    expect(result.updates).toEqual([expect.objectContaining({ name: 'promote', by: 'oncall' })]);
  } finally {
    release();
    hold = undefined;
  }
  expect(received.slice(before)).toHaveLength(1);
  expect([await versionOn(provisioned, 'app-1'), await versionOn(provisioned, 'app-2')]).toEqual(['1.3', '1.3']);
});
