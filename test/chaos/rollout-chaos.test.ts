// Issue 14: the production worker (dist/worker.js) SIGKILLed inside every step kind of a canary,
// each kill point held open by construction: a traffic change held in `nginx -t` by a FIFO gate on
// the front host (setWeight, and the abort's compensation), a timed pause seen pending in the
// history with the worker stopped, a pause waiting for a human, and a measurement held in a proxy
// in front of the real Prometheus. A new worker finishes each run. The invariants: each run ends as
// it would have, nginx's journal (the router's own record) holds each split the run asked for
// exactly once, in order (nothing applied twice, no flapping), and the load through nginx sees no
// failed request.
import type { ChildProcess } from 'node:child_process';
import type { LoadTally } from '../../src/rollouts/load-generator';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildDeployInput } from '../../src/client/deploy';
import type { SshConnection } from '../../src/integrations/ssh';
import { provisionWorkflowId } from '../../src/names/workflow-ids';
import { renderUpstream } from '../../src/rollouts/traffic/nginx-config';
import { splitRecord, type JournalEntry } from '../../src/rollouts/traffic/nginx-router';
import type { NginxWeightsInput } from '../../src/activities/rollout/nginx-weights';
import { defaultPayloadConverter } from '@temporalio/common';
import type { EnvironmentSpec } from '../../src/specs/environment';
import { TASK_QUEUE } from '../../src/temporal/task-queues';
import type { ProvisionResult } from '../../src/workflows/environment/provision-environment';
import {
  rolloutWorkflowId,
  type RolloutReleaseInput,
  type RolloutResult,
  type RolloutStatus,
} from '../../src/workflows/release/rollout-api';
import {
  canaryEnvironmentSpec,
  canaryRolloutSpec,
  loadThroughNginx,
  nginxJournal,
  setUpFrontNginx,
  UPSTREAM,
  versionOn,
} from '../helpers/canary-stage';
import { startChaosCloud, until, type ChaosCloud } from '../helpers/chaos-harness';
import { startGatedProxy, type GatedProxy } from '../helpers/gated-proxy';
import { armNginxGate, nginxGateHeld, releaseNginxGate } from '../helpers/nginx-gate';
import { killProcess, whileStopped } from '../helpers/production-worker';
import { startTemporal } from '../helpers/temporal';
import { startPrometheus, type PrometheusInstance } from '../rollouts/helpers/prometheus-instance';

jest.setTimeout(20 * 60_000);

const ENVIRONMENT = 'canary-chaos';
let env: TestWorkflowEnvironment;
let chaos: ChaosCloud;
let worker: ChildProcess | undefined;
let spec: EnvironmentSpec;
let provisioned: ProvisionResult;
let front: SshConnection;
let prometheus: PrometheusInstance;
let proxy: GatedProxy;
/** Each kill: the step kind it was aimed at and the run it hit. */
const kills: string[] = [];
/** What happened when, for a failed request's post-mortem: kills, long gaps between answers, stalls of this process. */
const timeline: string[] = [];
const note = (what: string) => timeline.push(`${new Date().toISOString()} ${what}`);

async function startWorker(): Promise<void> {
  worker = await chaos.startWorker(env.address);
  note('worker started');
}
async function killWorker(aim: string): Promise<void> {
  await killProcess(worker!);
  kills.push(aim);
  note(`worker killed in ${aim}`);
}

beforeAll(async () => {
  env = await startTemporal();
  chaos = await startChaosCloud({ timing: { dropletCreateMs: 1500, actionMs: 150 } });
  await startWorker();
  spec = canaryEnvironmentSpec(ENVIRONMENT);
  provisioned = (await env.client.workflow.execute('provisionEnvironment', {
    taskQueue: TASK_QUEUE,
    workflowId: provisionWorkflowId(ENVIRONMENT),
    args: [{ spec }],
  })) as ProvisionResult;
  front = await setUpFrontNginx(provisioned, chaos.deployKey);
  prometheus = await startPrometheus(provisioned.hosts.map((h) => `${h.address}:8080`));
  proxy = await startGatedProxy(prometheus.address);
}, 900_000);

afterAll(async () => {
  front?.close();
  await proxy?.close();
  await prometheus?.stop();
  if (worker) await killProcess(worker);
  await chaos?.cloud.stop();
  await env?.teardown();
});

function startRollout(tag: string, steps: unknown[]): Promise<WorkflowHandle> {
  const input = {
    ...buildDeployInput({ result: provisioned, spec }, { shop: tag }),
    // Measurements go through the gated proxy; a query may take 2 s (its activity is retried 32 s after a kill).
    spec: canaryRolloutSpec(ENVIRONMENT, proxy.address, steps, { timeout: '2s' }),
    requestedBy: 'chaos',
  } as RolloutReleaseInput;
  return env.client.workflow.start('rolloutRelease', { taskQueue: TASK_QUEUE, workflowId: rolloutWorkflowId(ENVIRONMENT), args: [input] });
}

const status = (handle: WorkflowHandle) => handle.query<RolloutStatus>('status');

function untilStatus(handle: WorkflowHandle, what: string, wanted: (s: RolloutStatus) => boolean): Promise<RolloutStatus> {
  return until(
    what,
    async () => {
      const now = await status(handle).catch(() => undefined);
      return now && wanted(now) ? now : undefined;
    },
    600_000,
  );
}

/**
 * With the gate armed: once a traffic change is held in `nginx -t`, kills the worker there, lets
 * the gate go and starts a new worker. (The gate is armed only while no reload is pending: nginx's
 * master reads the same folder when it reloads.)
 */
async function killAtNginxGate(aim: string): Promise<void> {
  await nginxGateHeld(front, aim);
  await killWorker(aim);
  await releaseNginxGate(front);
  note('nginx gate released');
  await startWorker();
}

/** The splits a run asked nginx for, from its history (one scheduled activity each; retries are attempts), as the journal records them. */
async function splitsAsked(handle: WorkflowHandle): Promise<{ weights: unknown; servers: string }[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'setNginxWeights')
    .map((a) => {
      const input = defaultPayloadConverter.fromPayload(a!.input!.payloads![0]!) as NginxWeightsInput;
      return splitRecord(renderUpstream({ upstream: UPSTREAM, stable: input.stable, canary: input.canary }, input.weights));
    });
}

/** The asked splits that change something: consecutive repeats, and a first split already in place, write nothing. */
function changesOf(asked: { weights: unknown; servers: string }[], inPlace: JournalEntry | undefined) {
  const key = (s: { weights: unknown; servers: string }) => `${JSON.stringify(s.weights)} ${s.servers}`;
  const changes: { weights: unknown; servers: string }[] = [];
  let last = inPlace ? key(inPlace) : '';
  for (const split of asked) {
    if (key(split) !== last) changes.push(split);
    last = key(split);
  }
  return changes;
}

/**
 * The load through nginx, watched: an answer (or a failure) more than 2 s after the one before, and
 * this process's event loop late by more than 1 s, go into the timeline, printed with the result.
 * This process is the load generator and also the local cloud that answers behind nginx (its app
 * servers, its SSH servers): on the loaded shared machine it stood still for up to 4.5 s at a time
 * (timeline of a run beside three busy loops), and the load generator's 5 s per request failed
 * requests nginx had not failed ('no answer within 5000 ms', one per test in a run beside Go
 * builds and a type check). Each request gets 30 s: a request nginx drops or holds still fails, a
 * stalled process does not.
 */
const REQUEST_TIMEOUT_MS = 30_000;
function watchedLoad(): { stop: () => Promise<LoadTally> } {
  let last = Date.now();
  const load = loadThroughNginx(
    provisioned,
    () => {
      const now = Date.now();
      if (now - last > 2000) note(`an answer (or failure) ${now - last} ms after the one before`);
      last = now;
    },
    REQUEST_TIMEOUT_MS,
  );
  let expected = Date.now() + 100;
  const lag = setInterval(() => {
    const late = Date.now() - expected;
    if (late > 1000) note(`this process's event loop stood still ${late} ms`);
    expected = Date.now() + 100;
  }, 100);
  return {
    stop: async () => {
      clearInterval(lag);
      const tally = await load.stop();
      if (tally.failures.length) {
        const errors = await front.execScript('tail -n 20 /var/log/nginx/error.log', [], { timeoutMs: 60_000 });
        const splits = (await nginxJournal(front)).map((e) => `${e.at} split ${JSON.stringify(e.weights)} ${e.servers}`);
        console.log(
          `failed requests: ${tally.failures.join('; ')}\n${[...timeline, ...splits].sort().join('\n')}\nnginx error log:\n${errors.stdoutTail}`,
        );
      }
      return tally;
    },
  };
}

const journalSince = async (before: number) =>
  (await nginxJournal(front)).slice(before).map((e) => ({ weights: e.weights, servers: e.servers }));

test('SIGKILLs in a setWeight traffic change, a timed pause, a pause until promoted and a measurement: the canary lands once', async () => {
  const steps = [
    { setWeight: 50 },
    { pause: { duration: '30s' } },
    { pause: {} },
    { analysis: { templates: ['errors'] } },
    { setWeight: 100 },
  ];
  const journalBefore = await nginxJournal(front);
  const load = watchedLoad();
  proxy.arm();
  const handle = await startRollout('1.1', steps);

  // 1. Inside setWeight 50 (a host out, deployed, back in as canary, then the split): the next
  // traffic change held in nginx -t, its upstream file written. The gate is armed once app-1 is
  // out of rotation (that change done, its reload confirmed) and while it is deployed: no reload pending.
  await untilStatus(
    handle,
    'the setWeight step with app-1 out of rotation',
    (s) => s.rollout?.step?.kind === 'setWeight' && s.rollout.stableHosts.join() === 'app-2' && s.rollout.canaryHosts.length === 0,
  );
  await armNginxGate(front);
  await killAtNginxGate('setWeight');
  expect((await status(handle)).rollout?.step?.kind).toBe('setWeight');

  // 2. Inside the timed pause: its timer pending in the history while the worker is stopped.
  await untilStatus(handle, 'the timed pause', (s) => s.rollout?.pause?.waitingFor === 'timer');
  const pending = await whileStopped(worker!, async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const fired = new Set(events.map((e) => e.timerFiredEventAttributes?.timerId).filter(Boolean));
    const long = events
      .map((e) => e.timerStartedEventAttributes)
      .filter((t) => t && Number(t.startToFireTimeout?.seconds ?? 0) >= 20 && !fired.has(t.timerId));
    if (long.length === 1) await killProcess(worker!);
    return long.length;
  });
  expect(pending).toBe(1);
  kills.push('timed pause');
  note('worker killed in timed pause');
  const killedInPauseAt = Date.now();
  await startWorker();

  // 3. Inside the pause until promoted.
  await untilStatus(handle, 'the pause until promoted', (s) => s.rollout?.pause?.waitingFor === 'human');
  await killWorker('pause until promoted');
  await startWorker();
  expect(await handle.executeUpdate('promote', { args: [{ by: 'chaos' }] })).toEqual({
    accepted: expect.stringContaining('promoted past'),
  });

  // 4. Inside a measurement: its Prometheus query parked in the proxy.
  await proxy.held();
  await killWorker('analysis measurement');
  proxy.release();
  await startWorker();

  const result = (await handle.result()) as RolloutResult;
  const tally = await load.stop();

  // Ends as it would have: the new version everywhere, the analysis passed with its 3 measurements.
  expect(result.images).toEqual({ shop: 'ghcr.io/acme/shop:1.1' });
  expect(result.analyses.map((a) => [a.name, a.phase, a.metrics[0]!.measurements.length])).toEqual([['step 4', 'successful', 3]]);
  expect(result.updates.map((u) => [u.name, u.by])).toEqual([['promote', 'chaos']]);
  expect([await versionOn(provisioned, 'app-1'), await versionOn(provisioned, 'app-2')]).toEqual(['1.1', '1.1']);
  // The timed pause was not cut short by the kill: its timer fired after the kill.
  const events = (await handle.fetchHistory()).events ?? [];
  const firedAt = events
    .filter((e) => e.timerFiredEventAttributes)
    .map((e) => Number(e.eventTime!.seconds) * 1000)
    .filter((t) => t >= killedInPauseAt - 1000);
  expect(firedAt.length).toBeGreaterThanOrEqual(1);
  // Each split asked once: take over, app-1 out and in as canary, 50%, 100%, app-2 out and in, the
  // new stable (8, as without kills); nginx's journal holds each change exactly once, in order.
  const asked = await splitsAsked(handle);
  expect(asked).toHaveLength(8);
  expect(await journalSince(journalBefore.length)).toEqual(changesOf(asked, journalBefore.at(-1)));
  // A measurement killed in flight was retried (one activity, two attempts), not measured twice.
  expect(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'measureMetric')).toHaveLength(3);
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '1.1\n']);
  console.log(`rollout chaos: kills in ${kills.join(', ')}; ${tally.done} requests through nginx, none failed\n${timeline.join('\n')}`);
});

test('a SIGKILL inside the abort compensation (all traffic back to stable): aborted once, traffic and hosts on stable', async () => {
  const steps = [{ setWeight: 50 }, { pause: {} }, { setWeight: 100 }];
  const stable = await versionOn(provisioned, 'app-2');
  const journalBefore = await nginxJournal(front);
  const load = watchedLoad();
  const handle = await startRollout('1.2', steps);
  await untilStatus(handle, 'the pause until promoted', (s) => s.rollout?.pause?.waitingFor === 'human');
  await armNginxGate(front);
  expect(await handle.executeUpdate('abort', { args: [{ by: 'chaos', reason: 'chaos drill' }] })).toEqual({
    accepted: 'aborted: chaos drill',
  });
  await killAtNginxGate('abort compensation');
  const err = await handle.result().catch((e: unknown) => e);
  const tally = await load.stop();

  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.details?.[0]).toMatchObject({
    reason: 'chaos drill',
    by: 'chaos',
    weights: { stable: 100, canary: 0 },
    hostsRestored: ['app-1'],
  });
  expect([await versionOn(provisioned, 'app-1'), await versionOn(provisioned, 'app-2')]).toEqual([stable, stable]);
  // Take over, app-1 out and in, 50%, all to stable (the kill), app-1 out while it changes back, the stable fleet.
  const asked = await splitsAsked(handle);
  expect(asked).toHaveLength(7);
  expect(await journalSince(journalBefore.length)).toEqual(changesOf(asked, journalBefore.at(-1)));
  expect((await nginxJournal(front)).at(-1)!.weights).toEqual({ stable: 100, canary: 0 });
  expect(tally.failures).toEqual([]);
  console.log(`rollout chaos: abort compensation killed; ${tally.done} requests through nginx, none failed\n${timeline.join('\n')}`);
});
