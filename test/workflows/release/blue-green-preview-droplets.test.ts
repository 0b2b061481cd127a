// Blue-green on a one-droplet environment (stack C's shape: `web`, with Debian's nginx on it in
// front of its own application) through preview droplets made for the rollout
// (blueGreen.previewFleet.create), on the real Temporal server against the local cloud, a real
// Prometheus whose targets follow the droplets tagged with the environment (as its DigitalOcean
// service discovery would), and the load generator through nginx the whole time. A good version:
// one preview droplet is created, bootstrapped and given the new version, listed `down` in nginx's
// upstream; promote switches every request to it (counted on the droplet itself); after the warm
// period `web` gets the new version and takes the traffic back, and the preview droplet is drained
// and destroyed: the environment keeps its one droplet. An abort after the switch switches back in
// one reload, loses no request, and destroys the preview droplet.
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowTag } from '../../../src/names/ownership-tags';
import { generateLoad } from '../../../src/rollouts/load-generator';
import { serversInRotation } from '../../../src/rollouts/traffic/nginx-config';
import type { RolloutSpecInput } from '../../../src/specs/rollout';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import {
  rolloutWorkflowId,
  type RolloutAbortedDetails,
  type RolloutReleaseInput,
  type RolloutResult,
  type RolloutStatus,
} from '../../../src/workflows/release/rollout-api';
import { dropletsTagged, environmentDroplets, followDroplets } from '../../helpers/droplet-discovery';
import {
  APP_PORT,
  ERRORS_TEMPLATE,
  history,
  startRolloutStack,
  statusWhen,
  withLoad,
  type RolloutStack,
} from '../../helpers/rollout-stack';
import { workflowBundlePath } from '../../helpers/temporal';
import { until } from '../../helpers/until';

jest.setTimeout(900_000);

const ENVIRONMENT = 'blue-green-c';
const WEB = `${ENVIRONMENT}-web`;
const PREVIEW = `${ENVIRONMENT}-web-preview-1`;
/** Every droplet the rollout makes carries it; the destroy deletes by it. */
const ROLLOUT_TAG = workflowTag({ workflowId: rolloutWorkflowId(ENVIRONMENT), environment: ENVIRONMENT });
let stack: RolloutStack;
/** Every run above, replayed at the end against the current workflow code. */
const runs: WorkflowHandle[] = [];

function rolloutSpec(blueGreen: object): RolloutSpecInput {
  return {
    environment: ENVIRONMENT,
    // Stack C's shape: one droplet serves, nginx on it in front.
    fleet: { instances: ['web'], port: APP_PORT },
    prometheus: { address: stack.prometheus.address },
    traffic: { nginx: { upstream: 'shop', frontHost: 'web' } },
    blueGreen: { previewFleet: { create: 1, drain: '1s' }, ...blueGreen },
    analysisTemplates: { errors: ERRORS_TEMPLATE },
  };
}

function startRollout(tag: string, blueGreen: object) {
  const input: RolloutReleaseInput = { ...stack.rolloutInput(tag, rolloutSpec(blueGreen)), environmentSpec: stack.spec };
  return stack.env.client.workflow.start('rolloutRelease', {
    taskQueue: TASK_QUEUE,
    workflowId: rolloutWorkflowId(ENVIRONMENT),
    args: [input],
  });
}

const pinned = (handle: { workflowId: string; firstExecutionRunId: string }) =>
  stack.env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
const server = (instance: string) => `${stack.host(instance).address}:${APP_PORT}`;
const inRotation = async () => serversInRotation(await stack.nginxUpstream(), 'shop');

/** Requests the application at `address` answered 200 as `version` (its own counter; /metrics is not counted). */
async function answeredBy(address: string, version: string): Promise<number> {
  const text = await (await fetch(`http://${address}:${APP_PORT}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`http_requests_total{version="${version}",code="200"} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

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

beforeAll(async () => {
  stack = await startRolloutStack(ENVIRONMENT, { name: 'web', count: 1 });
}, 900_000);

afterAll(async () => {
  await stack?.stop();
});

test('a good version on a created preview droplet: promote switches every request to it, then web gets the version back and the droplet is destroyed', async () => {
  expect((await environmentDroplets(stack, ENVIRONMENT)).map((d) => d.name)).toEqual([WEB]);
  expect(await inRotation()).toEqual([server('web')]);
  // Prometheus follows the droplets; the watch queries nothing else, so a slow status query never
  // delays the preview droplet's first scrape.
  const watch = followDroplets(stack, ENVIRONMENT, APP_PORT);
  const load = stack.load();
  const { result, status, handle, ready, onPreview, warm, whileServing } = await withLoad(load, () =>
    stack.withWorker(async () => {
      const handle = await startRollout('1.1', {
        postPromotionAnalysis: { templates: ['errors'] },
        autoPromotion: { enabled: false },
        scaleDownDelay: '10m',
      });
      const ready = await statusWhen(handle, 'the preview droplet to wait for promote', (v) => v.pause?.waitingFor === 'human');
      const address = ready.blueGreen!.previewDroplets![0]!.address!;
      // Listed in nginx's upstream as the green side, out of rotation; web serves everything.
      expect(await inRotation()).toEqual([server('web')]);
      expect(await stack.nginxUpstream()).toContain(`server ${address}:${APP_PORT} down;`);
      expect(await handle.executeUpdate('promote', { args: [{ by: 'alice' }] })).toEqual({
        accepted: expect.stringContaining(`promoted past preview web-preview-1 ready`),
      });
      const warm = await statusWhen(handle, 'the old droplet to be kept warm', (v) => v.step?.detail === 'keep the old fleet warm');
      // web still runs 1.0, so every 1.1 answer through nginx came from the preview droplet; its
      // own counter rose by at least as many (the main load adds more).
      expect(await stack.versionOn('web')).toBe('1.0');
      const whileServing = (await environmentDroplets(stack, ENVIRONMENT)).map((d) => d.name).sort();
      const before = await answeredBy(address, '1.1');
      const probe = await generateLoad(`http://${stack.host('web').address}/version`, { total: 100 });
      const onPreview = { through: probe.byBody, counted: (await answeredBy(address, '1.1')) - before };
      // promote --full ends the warm period now.
      await handle.executeUpdate('promote', { args: [{ by: 'alice', full: true }] });
      const result = (await handle.result()) as RolloutResult;
      return { result, status: await handle.query<RolloutStatus>('status'), handle: pinned(handle), ready, onPreview, warm, whileServing };
    }),
  );
  const tally = await load.stop();
  await watch.stop();

  expect(ready.blueGreen).toMatchObject({
    activeHosts: ['web'],
    previewHosts: ['web-preview-1'],
    serving: 'active',
    previewDroplets: [{ instance: 'web-preview-1', name: PREVIEW, state: 'ready' }],
  });
  expect(ready.blueGreen!.previewServers).toEqual([`${ready.blueGreen!.previewDroplets![0]!.address}:${APP_PORT}`]);
  expect(warm.blueGreen).toMatchObject({ serving: 'preview', previewDroplets: [{ state: 'serving' }] });
  expect(onPreview.through).toEqual({ '1.1\n': 100 });
  expect(onPreview.counted).toBeGreaterThanOrEqual(100);
  expect(result).toMatchObject({
    images: { shop: 'ghcr.io/acme/shop:1.1' },
    previousImages: { shop: 'ghcr.io/acme/shop:1.0' },
    hosts: ['web'],
    previewDestroyed: [PREVIEW],
  });
  expect(result.analyses.map((a) => [a.name, a.phase])).toEqual([['post-promotion', 'successful']]);
  expect(status.completedSteps).toEqual([
    'validate input',
    'find the active fleet',
    'record running images',
    `create preview droplet ${PREVIEW}`,
    `bootstrap preview droplet ${PREVIEW}`,
    'deploy the preview',
    'put the preview in the upstream, out of rotation',
    'pre-promotion analysis',
    'promote',
    'post-promotion analysis',
    'keep the old fleet warm',
    'deploy the new version to web',
    'switch traffic back to web',
    `destroy preview droplet ${PREVIEW}`,
  ]);
  expect(status.resources).toEqual([]);
  expect(status.rollout).toMatchObject({
    phase: 'completed',
    weight: { effective: { stable: 100, canary: 0 } },
    blueGreen: { serving: 'active', previewDroplets: [{ name: PREVIEW, state: 'destroyed' }] },
  });
  expect(status.rollout!.blueGreen!.returnedToFleetAt).toBeDefined();
  // Two droplets while the preview served, one now: web, on the new version, serving alone.
  // Listed while the warm period held the preview serving; never more.
  expect(whileServing).toEqual([WEB, PREVIEW]);
  expect(Math.max(...watch.seen.map((s) => s.droplets))).toBe(2);
  expect((await environmentDroplets(stack, ENVIRONMENT)).map((d) => d.name)).toEqual([WEB]);
  expect(await dropletsTagged(stack, ROLLOUT_TAG)).toEqual([]);
  expect(await stack.versionOn('web')).toBe('1.1');
  expect(await inRotation()).toEqual([server('web')]);
  expect(await stack.nginxUpstream()).not.toContain(status.rollout!.blueGreen!.previewDroplets![0]!.address!);
  const after = await generateLoad(`http://${stack.host('web').address}/version`, { total: 40 });
  expect(after.byBody).toEqual({ '1.1\n': 40 });
  // Through nginx: no request failed (the switch, web's redeploy behind the preview, the switch
  // back, the drain and the destroy lost none), 1.0 before the switch and 1.1 after it.
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '1.1\n']);
  // The preview listed down, the switch, back to web, the preview out of the file.
  expect((await scheduledActivities(handle)).filter((a) => a.type === 'setNginxWeights')).toHaveLength(4);
  runs.push(handle);
  console.log(
    `blue-green with a preview droplet: ${tally.done} requests through nginx, none failed; ${onPreview.counted} counted on the preview droplet during 100 probe requests`,
  );
});

test('an abort after the switch to a created preview droplet switches back in one reload, loses no request, and destroys the droplet', async () => {
  // Prometheus follows the droplets; the watch queries nothing else, so a slow status query never
  // delays the preview droplet's first scrape.
  const watch = followDroplets(stack, ENVIRONMENT, APP_PORT);
  const load = stack.load();
  const { err, status, handle, served, whileServing } = await withLoad(load, () =>
    stack.withWorker(async () => {
      // autoPromotion: switched as soon as the preview is ready; kept warm 10 minutes.
      const handle = await startRollout('1.2', { scaleDownDelay: '10m' });
      const warm = await statusWhen(handle, 'the switch to the preview', (v) => v.step?.detail === 'keep the old fleet warm');
      const address = warm.blueGreen!.previewDroplets![0]!.address!;
      // Real requests through nginx reach the droplet before the abort.
      const served = await until(
        'the preview droplet to answer 50 requests',
        async () => {
          const n = await answeredBy(address, '1.2');
          return n >= 50 ? n : undefined;
        },
        120_000,
      );
      const whileServing = (await environmentDroplets(stack, ENVIRONMENT)).map((d) => d.name).sort();
      expect(await handle.executeUpdate('abort', { args: [{ by: 'bob', reason: 'switch back' }] })).toEqual({
        accepted: 'aborted: switch back',
      });
      const err = await handle.result().catch((e: unknown) => e);
      return { err, status: await handle.query<RolloutStatus>('status'), handle: pinned(handle), served, whileServing };
    }),
  );
  const tally = await load.stop();
  await watch.stop();

  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('switched back with no host redeployed');
  expect(failure.message).toContain(`${PREVIEW} destroyed`);
  expect(failure.details?.[0]).toMatchObject({
    reason: 'switch back',
    by: 'bob',
    weights: { stable: 100, canary: 0 },
    hostsRestored: [],
    previewDestroyed: [PREVIEW],
  } satisfies Partial<RolloutAbortedDetails>);
  expect(status.outcome?.state).toBe('rolled back');
  expect(status.resources).toEqual([expect.objectContaining({ kind: 'preview droplet', undone: true })]);
  expect(status.rollout).toMatchObject({
    phase: 'aborted',
    blueGreen: { serving: 'active', previewDroplets: [{ name: PREVIEW, state: 'destroyed' }] },
  });
  expect(status.rollout!.blueGreen!.switchedBackAt).toBeDefined();
  expect(whileServing).toEqual([WEB, PREVIEW]);
  expect(Math.max(...watch.seen.map((s) => s.droplets))).toBe(2);
  expect((await environmentDroplets(stack, ENVIRONMENT)).map((d) => d.name)).toEqual([WEB]);
  expect(await dropletsTagged(stack, ROLLOUT_TAG)).toEqual([]);
  // web kept 1.1 and serves everything again; the droplet is out of nginx's file.
  expect(await stack.versionOn('web')).toBe('1.1');
  expect(await inRotation()).toEqual([server('web')]);
  expect(await stack.nginxUpstream()).not.toContain(status.rollout!.blueGreen!.previewDroplets![0]!.address!);
  // Zero requests lost: every request through nginx answered, by both versions.
  expect(tally.failures).toEqual([]);
  expect(tally.byBody['1.2\n']).toBeGreaterThan(0);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.1\n', '1.2\n']);
  // After the switch: one switch back (web 100%, the droplet still listed down), then the droplet
  // out of the file, then the delete; no host step on web.
  const scheduled = await scheduledActivities(handle);
  const switchAt = scheduled.findIndex((a) => a.type === 'setNginxWeights' && (a.input.weights as { canary: number }).canary === 100);
  const afterSwitch = scheduled.slice(switchAt + 1);
  const changes = afterSwitch.filter((a) => a.type === 'setNginxWeights');
  expect(changes.map((a) => [a.input.weights, (a.input.canary as string[]).length])).toEqual([
    [{ stable: 100, canary: 0 }, 1],
    [{ stable: 100, canary: 0 }, 0],
  ]);
  expect(afterSwitch.findIndex((a) => a.type === 'deleteServersTagged')).toBeGreaterThan(afterSwitch.indexOf(changes[1]!));
  const webAddress = stack.host('web').address;
  expect(
    afterSwitch.filter((a) => a.type === 'runRemoteCommand' && a.input.host === webAddress && a.input.label !== 'read the nginx upstream'),
  ).toEqual([]);
  runs.push(handle);
  console.log(
    `blue-green abort with a preview droplet: ${served}+ requests on the droplet before the abort; ${tally.done} through nginx, none failed`,
  );
});

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(2);
  for (const handle of runs) {
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
    ).resolves.toBeUndefined();
  }
});
