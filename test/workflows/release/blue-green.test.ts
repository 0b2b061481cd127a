// Blue-green rollouts (rolloutRelease with a blueGreen spec) on the real Temporal server, against
// the rollout stack (test/helpers/rollout-stack.ts): two droplets with compose, Debian's nginx in
// the first, a real Prometheus, the load generator through nginx. nginx serves app-1 at the start,
// so app-1 is the active fleet and app-2, out of rotation, the preview; the roles swap at each
// switch. A good version passes its preview analysis on test traffic sent to the preview
// directly, is promoted by a human and serves everything; a `-err5` version fails its
// post-promotion analysis and traffic goes straight back to the old fleet, which no host step
// touched; a promote while nothing waits is refused and leaves no event in history.
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { generateLoad } from '../../../src/rollouts/load-generator';
import { serversInRotation } from '../../../src/rollouts/traffic/nginx-config';
import type { RolloutSpecInput } from '../../../src/specs/rollout';
import type { RolloutResult, RolloutStatus } from '../../../src/workflows/release/rollout-api';
import {
  activities,
  APP_PORT,
  ERRORS_TEMPLATE,
  history,
  msToStable,
  refusal,
  startRolloutStack,
  statusWhen,
  updateEvents,
  withLoad,
  type RolloutStack,
} from '../../helpers/rollout-stack';
import { workflowBundlePath } from '../../helpers/temporal';

jest.setTimeout(600_000);

const ENVIRONMENT = 'blue-green-a';
let stack: RolloutStack;
/** Every run above, replayed at the end against the current workflow code. */
const runs: WorkflowHandle[] = [];

function blueGreenSpec(blueGreen: object): RolloutSpecInput {
  return {
    environment: ENVIRONMENT,
    fleet: { instances: ['app-1', 'app-2'], port: APP_PORT },
    prometheus: { address: stack.prometheus.address },
    traffic: { nginx: { upstream: 'shop', frontHost: 'app-1' } },
    blueGreen,
    analysisTemplates: { errors: ERRORS_TEMPLATE },
  };
}

/** The run itself, not whatever runs under the workflow id later. */
const pinned = (handle: WorkflowHandleWithFirstExecutionRunId) =>
  stack.env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
const server = (instance: string) => `${stack.host(instance).address}:${APP_PORT}`;
const status = async (handle: WorkflowHandle) => (await handle.query<RolloutStatus>('status')).rollout!;
const inRotation = async () => serversInRotation(await stack.nginxUpstream(), 'shop');

/** Each activity scheduled in the run: its type and its decoded input. */
async function scheduledActivities(handle: WorkflowHandle): Promise<{ type: string; input: Record<string, unknown> }[]> {
  return (await history(handle)).flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (!scheduled) return [];
    const data = scheduled.input?.payloads?.[0]?.data;
    return [
      { type: scheduled.activityType!.name!, input: data ? (JSON.parse(Buffer.from(data).toString()) as Record<string, unknown>) : {} },
    ];
  });
}

/** The activity's workflow time of completion, by the history's clock, for the n-th activity of `type`. */
async function completedAt(handle: WorkflowHandle, type: string, n: number): Promise<number> {
  const events = await history(handle);
  const ids = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).map((e) => String(e.eventId));
  const done = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === ids[n]);
  return Number(done!.eventTime!.seconds) * 1000 + Math.floor((done!.eventTime!.nanos ?? 0) / 1e6);
}

beforeAll(async () => {
  stack = await startRolloutStack(ENVIRONMENT);
}, 900_000);

afterAll(async () => {
  await stack?.stop();
});

test('a good version: the preview passes its analysis on test traffic, a human promotes, the switch moves all traffic to the new fleet', async () => {
  expect(await inRotation()).toEqual([server('app-1')]);
  const load = stack.load();
  const { result, view, handle, previewTally } = await withLoad(load, () =>
    stack.withWorker(async () => {
      const handle = await stack.startRollout(
        '1.1',
        blueGreenSpec({
          prePromotionAnalysis: { templates: ['errors'] },
          postPromotionAnalysis: { templates: ['errors'] },
          autoPromotion: { enabled: false },
          scaleDownDelay: '2s',
        }),
      );
      // Test traffic straight to the preview once it runs the new version (nginx sends it none).
      const deployed = await statusWhen(handle, 'the preview to be deployed', (v) => v.step?.detail === 'pre-promotion analysis');
      expect(deployed.blueGreen).toMatchObject({ activeHosts: ['app-1'], previewHosts: ['app-2'], previewServers: [server('app-2')] });
      const previewLoad = stack.load(`http://${server('app-2')}/version`);
      const ready = await withLoad(previewLoad, () =>
        statusWhen(handle, 'the preview to wait for promote', (v) => v.pause?.waitingFor === 'human'),
      );
      const previewTally = await previewLoad.stop();
      expect(ready.pause!.reason).toBe('preview app-2 ready on shop ghcr.io/acme/shop:1.1: promote switches all traffic to it');
      expect(ready.analyses.map((a) => [a.name, a.phase])).toEqual([['pre-promotion', 'successful']]);
      // Before the switch nginx sends everything to the active fleet.
      expect(ready.weight.effective).toEqual({ stable: 100, canary: 0 });
      expect(await inRotation()).toEqual([server('app-1')]);
      expect(await handle.executeUpdate('promote', { args: [{ by: 'alice' }] })).toEqual({
        accepted: expect.stringContaining('promoted past preview app-2 ready'),
      });
      const result = (await handle.result()) as RolloutResult;
      return { result, view: await status(handle), handle: pinned(handle), previewTally };
    }),
  );
  const tally = await load.stop();
  expect(result).toMatchObject({
    images: { shop: 'ghcr.io/acme/shop:1.1' },
    previousImages: { shop: 'ghcr.io/acme/shop:1.0' },
    hosts: ['app-2'],
  });
  expect(result.analyses.map((a) => [a.name, a.phase])).toEqual([
    ['pre-promotion', 'successful'],
    ['post-promotion', 'successful'],
  ]);
  expect(result.updates).toEqual([expect.objectContaining({ name: 'promote', by: 'alice' })]);
  expect(view).toMatchObject({ strategy: 'blue-green', phase: 'completed', blueGreen: { serving: 'preview', scaledDown: true } });
  // The preview's analysis measured the test traffic: the preview answered it as 1.1.
  expect(previewTally.byBody['1.1\n']).toBeGreaterThan(0);
  // The new fleet serves everything; the old keeps 1.0 out of rotation (the next preview).
  expect([await stack.versionOn('app-1'), await stack.versionOn('app-2')]).toEqual(['1.0', '1.1']);
  expect(await inRotation()).toEqual([server('app-2')]);
  expect(await stack.nginxWeights()).toEqual({ stable: 100, canary: 0 });
  const after = await generateLoad(`http://${stack.host('app-1').address}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '1.1\n': 40 });
  // Through nginx: no request failed, 1.0 before the switch and 1.1 after it.
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '1.1\n']);
  // Three traffic changes: the preview out of rotation, the switch, the old fleet out for good.
  expect(await activities(handle, 'setNginxWeights')).toBe(3);
  expect(await activities(handle, 'measureMetric')).toBe(6);
  runs.push(handle);
});

test('a -err5 version fails its post-promotion analysis: traffic switches straight back to the old fleet, which no host step touched', async () => {
  // app-2 (1.1) is active now; app-1, out of rotation, becomes the preview.
  const load = stack.load();
  const { err, view, handle } = await withLoad(load, () =>
    stack.withWorker(async () => {
      const handle = await stack.startRollout(
        '1.2-err5',
        blueGreenSpec({ postPromotionAnalysis: { templates: ['errors'] }, scaleDownDelay: '10m' }),
      );
      const err = await handle.result().catch((e: unknown) => e);
      return { err, view: await status(handle), handle: pinned(handle) };
    }),
  );
  const tally = await load.stop();
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('post-promotion analysis failed');
  expect(failure.message).toContain('switched back with no host redeployed');
  expect(failure.message).toMatch(/values: 0\.0\d+/);
  expect(failure.details?.[0]).toMatchObject({ metric: 'error-ratio', weights: { stable: 100, canary: 0 }, hostsRestored: [] });
  expect(view).toMatchObject({
    phase: 'aborted',
    abort: { metric: 'error-ratio' },
    blueGreen: { activeHosts: ['app-2'], previewHosts: ['app-1'], serving: 'active' },
  });
  const bg = view.blueGreen!;
  // Switched back while the old fleet was still warm: the scale-down delay had not even begun.
  expect(bg.switchedAt).toBeDefined();
  expect(bg.switchedBackAt).toBeDefined();
  expect(bg.keptWarmUntil).toBeUndefined();
  expect(bg.scaledDown).toBeUndefined();
  expect(Date.parse(bg.switchedBackAt!) - Date.parse(bg.switchedAt!)).toBeLessThan(10 * 60_000);
  // Nothing redeployed: the old fleet still runs 1.1 and serves everything; the preview keeps the bad version out of rotation.
  expect([await stack.versionOn('app-1'), await stack.versionOn('app-2')]).toEqual(['1.2-err5', '1.1']);
  expect(await inRotation()).toEqual([server('app-2')]);
  const after = await generateLoad(`http://${stack.host('app-1').address}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '1.1\n': 40 });
  // Host steps: on the old fleet only the read of its running images, before anything changed;
  // after the switch nothing but measurements and the switch back.
  const scheduled = await scheduledActivities(handle);
  const oldAddress = stack.host('app-2').address;
  const onOld = scheduled.filter(
    (a) => a.type !== 'setNginxWeights' && (a.input.host === oldAddress || String(a.input.url ?? '').includes(`//${oldAddress}:`)),
  );
  expect(onOld.map((a) => [a.type, a.input.label])).toEqual([['runRemoteCommand', 'running images']]);
  const switchAt = scheduled.findIndex((a) => a.type === 'setNginxWeights' && (a.input.weights as { canary: number }).canary === 100);
  expect(switchAt).toBeGreaterThan(0);
  expect([...new Set(scheduled.slice(switchAt + 1).map((a) => a.type))].sort()).toEqual(['measureMetric', 'setNginxWeights']);
  expect(scheduled.slice(switchAt + 1).filter((a) => a.type === 'setNginxWeights')).toHaveLength(1);
  // The bad version served between the switch and the switch back; the only failed requests are its own 500s.
  expect(tally.byBody['1.2-err5\n']).toBeGreaterThan(0);
  expect(tally.failures.length).toBeGreaterThan(0);
  expect(tally.failures.every((f) => f === 'HTTP 500')).toBe(true);
  runs.push(handle);
  // Measured, not asserted (a loaded machine), by the history's clock.
  const switchBack = await msToStable(handle);
  const onBad = (await completedAt(handle, 'setNginxWeights', 2)) - (await completedAt(handle, 'setNginxWeights', 1));
  console.log(
    `blue-green switch back: first failing measurement to 100% old fleet ${switchBack} ms; traffic on the bad version for ${onBad} ms; ` +
      `through nginx ${tally.done} requests, ${tally.byBody['1.2-err5\n']} answered by 1.2-err5, ${tally.failures.length} failed (all HTTP 500)`,
  );
});

test('a promote while nothing waits (held by a pause update) is refused and leaves no history event; abort before the switch leaves traffic untouched', async () => {
  const { err, view, handle } = await stack.withWorker(async () => {
    const handle = await stack.startRollout('1.3', blueGreenSpec({ prePromotionAnalysis: { templates: ['errors'] } }));
    await statusWhen(handle, 'the rollout to answer its status', () => true);
    expect(await handle.executeUpdate('pause', { args: [{ by: 'bob' }] })).toEqual({ accepted: expect.stringMatching(/^paused/) });
    const held = await statusWhen(handle, 'the pause to hold the rollout', (v) => v.pause?.reason === 'paused by bob');
    expect(held.step?.detail).toBe('pre-promotion analysis');
    const before = await updateEvents(handle);
    expect(await refusal(handle.executeUpdate('promote', { args: [{ by: 'carol' }] }))).toBe(
      'nothing waits to be promoted: pre-promotion analysis is running (promote --full skips every remaining step; paused by bob: resume it)',
    );
    expect(await updateEvents(handle)).toBe(before);
    expect(await handle.executeUpdate('abort', { args: [{ by: 'bob', reason: 'not today' }] })).toEqual({ accepted: 'aborted: not today' });
    const err = await handle.result().catch((e: unknown) => e);
    return { err, view: await status(handle), handle: pinned(handle) };
  });
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('the switch had not happened');
  expect(failure.details?.[0]).toMatchObject({ reason: 'not today', by: 'bob', hostsRestored: [] });
  expect(view.updates.map((u) => [u.name, u.by])).toEqual([
    ['pause', 'bob'],
    ['abort', 'bob'],
  ]);
  expect(view.blueGreen).toMatchObject({ activeHosts: ['app-2'], previewHosts: ['app-1'], serving: 'active' });
  expect(view.blueGreen!.switchedAt).toBeUndefined();
  // Only the preview out of rotation (already so: nothing written); no switch, no switch back.
  expect(await activities(handle, 'setNginxWeights')).toBe(1);
  expect(await inRotation()).toEqual([server('app-2')]);
  expect(await stack.versionOn('app-2')).toBe('1.1');
  runs.push(handle);
});

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(3);
  for (const handle of runs) {
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
    ).resolves.toBeUndefined();
  }
});
