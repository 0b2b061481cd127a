// rolloutRelease on the real Temporal server against an environment provisioned in the local cloud:
// two droplets run the simulated `shop` application with compose, Debian's real nginx in the
// first splits traffic between them by the weights the workflow writes, a real Prometheus scrapes
// both every second, and the load generator sends requests through nginx. A good canary ends on
// the new version; a `-err5` canary is aborted by analysis with all traffic and both hosts back on
// the old version; a canary no one sends traffic to is inconclusive and waits for a human, who
// promotes it; refused updates leave no event in history.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { generateLoad } from '../../../src/rollouts/load-generator';
import type { RolloutSpecInput } from '../../../src/specs/rollout';
import { rolloutWorkflowId, type RolloutResult, type RolloutStatus } from '../../../src/workflows/release/rollout-api';
import { tempDir } from '../../helpers/temp';
import { temporalCliPath, workflowBundlePath } from '../../helpers/temporal';
import { buildCli } from '../../../src/client/cli';
import { whoAmI } from '../../../src/client/rollout';
import { until } from '../../helpers/until';
import {
  activities,
  APP_PORT,
  ERRORS_TEMPLATE,
  LATENCY_TEMPLATE,
  msToStable,
  refusal,
  startRolloutStack,
  updateEvents,
  withLoad,
  type RolloutStack,
} from '../../helpers/rollout-stack';
import type { PrometheusInstance } from '../../rollouts/helpers/prometheus-instance';

jest.setTimeout(600_000);

const ENVIRONMENT = 'canary-a';
let stack: RolloutStack;
let env: TestWorkflowEnvironment;
let prometheus: PrometheusInstance;
/** Every run above, replayed at the end against the current workflow code. */
const runs: WorkflowHandle[] = [];

const host = (instance: string) => stack.host(instance);

function rolloutSpec(steps: unknown[]): RolloutSpecInput {
  return {
    environment: ENVIRONMENT,
    fleet: { instances: ['app-1', 'app-2'], port: APP_PORT },
    prometheus: { address: prometheus.address },
    traffic: { nginx: { upstream: 'shop', frontHost: 'app-1' } },
    canary: { maxSurge: 0, maxUnavailable: 1, steps: steps as never },
    analysisTemplates: { errors: ERRORS_TEMPLATE, latency: LATENCY_TEMPLATE },
  };
}

const startRollout = (tag: string, steps: unknown[]) => stack.startRollout(tag, rolloutSpec(steps));
/** Sends requests through nginx until `stop()`; the tally counts answers by version. */
const loadThroughNginx = () => stack.load();
const versionOn = (instance: string) => stack.versionOn(instance);
const nginxWeights = () => stack.nginxWeights();
const withWorker = <T>(fn: () => Promise<T>) => stack.withWorker(fn);

beforeAll(async () => {
  stack = await startRolloutStack(ENVIRONMENT);
  ({ env, prometheus } = stack);
}, 900_000);

afterAll(async () => {
  await stack?.stop();
});

test('a good canary goes 10 -> 50 -> 100 with every analysis passing and ends with both hosts on the new version', async () => {
  const steps = [
    { setWeight: 10 },
    { analysis: { templates: ['errors'] } },
    { setWeight: 50 },
    { analysis: { templates: ['errors'] } },
    { setWeight: 100 },
    { analysis: { templates: ['errors'] } },
  ];
  const load = loadThroughNginx();
  const { result, status, handle } = await withLoad(load, () =>
    withWorker(async () => {
      const handle = await startRollout('1.1', steps);
      const result = (await handle.result()) as RolloutResult;
      return { result, status: await handle.query<RolloutStatus>('status'), handle };
    }),
  );
  const tally = await load.stop();
  expect(result.images).toEqual({ shop: 'ghcr.io/acme/shop:1.1' });
  expect(result.previousImages).toEqual({ shop: 'ghcr.io/acme/shop:1.0' });
  expect(result.analyses.map((a) => [a.name, a.phase])).toEqual([
    ['step 2', 'successful'],
    ['step 4', 'successful'],
    ['step 6', 'successful'],
  ]);
  expect(status.rollout).toMatchObject({ phase: 'completed', weight: { effective: { stable: 100, canary: 0 } }, canaryHosts: [] });
  expect(status.outcome?.state).toBe('completed');
  expect([await versionOn('app-1'), await versionOn('app-2')]).toEqual(['1.1', '1.1']);
  expect(await nginxWeights()).toEqual({ stable: 100, canary: 0 });
  // Requests through nginx all answered (no switch lost one), by both versions along the way.
  expect(tally.failures).toEqual([]);
  expect(Object.keys(tally.byBody).sort()).toEqual(['1.0\n', '1.1\n']);
  // Each measurement is one activity: 3 per analysis.
  expect(await activities(handle, 'measureMetric')).toBe(9);
  // Each traffic change once: take over, app-1 out and back in as canary, 10%, 50%, 100%, app-2 out
  // of stable and back in as canary while it changes, then the whole fleet as the new stable.
  expect(await activities(handle, 'setNginxWeights')).toBe(9);
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
});

test('a -err5 canary is aborted by its analysis: RolloutAborted names the metric and values, traffic and hosts are back on stable', async () => {
  const steps = [{ setWeight: 50 }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }];
  const stable = await versionOn('app-2');
  const load = loadThroughNginx();
  const { err, status, handle } = await withLoad(load, () =>
    withWorker(async () => {
      const handle = await startRollout('1.2-err5', steps);
      const err = await handle.result().catch((e: unknown) => e);
      return { err, status: await handle.query<RolloutStatus>('status'), handle };
    }),
  );
  const tally = await load.stop();
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('error-ratio');
  expect(failure.message).toMatch(/values: 0\.0\d+/);
  expect(failure.details?.[0]).toMatchObject({ metric: 'error-ratio', weights: { stable: 100, canary: 0 }, hostsRestored: ['app-1'] });
  expect(status.rollout).toMatchObject({ phase: 'aborted', abort: { metric: 'error-ratio' }, canaryHosts: [] });
  expect(status.rollout!.analyses[0]!.metrics[0]!.measurements.at(-1)).toMatchObject({ phase: 'failed' });
  expect(status.outcome?.state).toBe('rolled back');
  expect([await versionOn('app-1'), await versionOn('app-2')]).toEqual([stable, stable]);
  expect(await nginxWeights()).toEqual({ stable: 100, canary: 0 });
  // Step 3 (setWeight 100) never ran: after the failing measurement, traffic went only back to stable.
  const after = await generateLoad(`http://${host('app-1').address}/version`, { total: 40 });
  expect(after.byBody).toEqual({ [`${stable}\n`]: 40 });
  // The only failed requests were the bad version's own 500s.
  expect(tally.failures.every((f) => f === 'HTTP 500')).toBe(true);
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
  // Measured, not asserted (a loaded machine): from the failing measurement to nginx serving only stable.
  console.log(`first failing measurement to 100% stable: ${await msToStable(handle)} ms`);
});

test('a slow canary (-slow800) is aborted on latency: no request failed, traffic and hosts back on stable', async () => {
  const steps = [{ setWeight: 50 }, { analysis: { templates: ['latency'] } }, { setWeight: 100 }];
  const stable = await versionOn('app-2');
  const load = loadThroughNginx();
  const { err, status, handle } = await withLoad(load, () =>
    withWorker(async () => {
      const handle = await startRollout('1.2-slow800', steps);
      const err = await handle.result().catch((e: unknown) => e);
      return { err, status: await handle.query<RolloutStatus>('status'), handle };
    }),
  );
  const tally = await load.stop();
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('latency-p90');
  expect(failure.details?.[0]).toMatchObject({ metric: 'latency-p90', weights: { stable: 100, canary: 0 }, hostsRestored: ['app-1'] });
  // The failing measurement is the canary's p90 in seconds: above the 0.5 s condition, about the 0.8 s it adds.
  const last = status.rollout!.analyses[0]!.metrics[0]!.measurements.at(-1)!;
  expect(last).toMatchObject({ phase: 'failed' });
  expect(last.values[0]).toBeGreaterThan(0.5);
  expect([await versionOn('app-1'), await versionOn('app-2')]).toEqual([stable, stable]);
  expect(await nginxWeights()).toEqual({ stable: 100, canary: 0 });
  // Slow is not failed: every request through nginx was answered.
  expect(tally.failures).toEqual([]);
  expect(tally.byBody['1.2-slow800\n']).toBeGreaterThan(0);
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
  console.log(
    `slow canary: p90 ${last.values[0]} s, ${tally.done} requests none failed; first failing measurement to 100% stable: ${await msToStable(handle)} ms`,
  );
});

test('a canary with no traffic is inconclusive and waits for a human; refused updates leave no trace; promote finishes it', async () => {
  const steps = [{ setWeight: 10 }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }];
  await withWorker(async () => {
    const handle = await startRollout('1.3', steps);
    const waiting = await until(
      'the rollout to wait for a human after an inconclusive analysis',
      async () => {
        const status = await handle.query<RolloutStatus>('status');
        return status.rollout?.pause?.waitingFor === 'human' ? status : undefined;
      },
      240_000,
    );
    expect(waiting.rollout!.pause!.reason).toMatch(/^step 2 analysis inconclusive: /);
    expect(waiting.rollout!.analyses[0]!.phase).toBe('inconclusive');
    expect(waiting.rollout!.weight.effective).toEqual({ stable: 90, canary: 10 });
    const weightsSoFar = await activities(handle, 'setNginxWeights');
    const updatesBefore = await updateEvents(handle);

    // Refused by the validators: nothing reaches history.
    expect(await refusal(handle.executeUpdate('resume', { args: [{ by: 'alice' }] }))).toMatch(/^not paused by a pause update; step 2/);
    expect(await refusal(handle.executeUpdate('promote', { args: [{ by: '' }] }))).toMatch(/^by: must name who asks/);
    expect(await updateEvents(handle)).toBe(updatesBefore);
    // Never promoted by itself: still waiting, no weight applied since.
    expect((await handle.query<RolloutStatus>('status')).rollout!.phase).toBe('paused');
    expect(await activities(handle, 'setNginxWeights')).toBe(weightsSoFar);

    const accepted = await handle.executeUpdate('promote', { args: [{ by: 'alice' }] });
    expect(accepted).toEqual({ accepted: expect.stringContaining('promoted past step 2 analysis inconclusive') });
    const result = (await handle.result()) as RolloutResult;
    expect(result.updates).toEqual([expect.objectContaining({ name: 'promote', by: 'alice' })]);
    expect(await updateEvents(handle)).toBe(updatesBefore + 2);
    runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
  });
  expect([await versionOn('app-1'), await versionOn('app-2')]).toEqual(['1.3', '1.3']);
  expect(await nginxWeights()).toEqual({ stable: 100, canary: 0 });
});

/** Steers a rollout as a person would, from another terminal: the opsflow CLI as its own process. */
async function opsflowProcess(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const tsx = path.join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');
  const cliFile = path.join(__dirname, '..', '..', '..', 'src', 'client', 'cli.ts');
  const envVars = { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default' };
  return promisify(execFile)(tsx, [cliFile, ...args], { env: envVars, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: e.stdout ?? '', err: e.stderr ?? '' }),
  );
}

test('`opsflow rollout` from the terminal: live progress; status; a refused resume in the validator words; promote by opsflow and by the temporal CLI', async () => {
  const file = path.join(tempDir('rollout-cli'), 'rollout.json');
  const steps = [{ setWeight: 50 }, { pause: {} }, { setWeight: 75 }, { pause: {} }, { setWeight: 100 }];
  writeFileSync(file, JSON.stringify(rolloutSpec(steps)));
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = env.namespace ?? 'default';
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...line: unknown[]) => void printed.push(line.join(' ')));
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((text: string | Uint8Array) => printed.push(String(text)) > 0);
  const handle = env.client.workflow.getHandle(rolloutWorkflowId(ENVIRONMENT));
  const waitingAt = (canary: number) =>
    until(
      `the rollout to wait for a human at canary ${canary}%`,
      async () => {
        const status = await handle.query<RolloutStatus>('status').catch(() => undefined);
        return status?.rollout?.pause?.waitingFor === 'human' && status.rollout.weight.effective.canary === canary ? status : undefined;
      },
      240_000,
    );
  try {
    await withWorker(async () => {
      // Followed live in this process, as `opsflow rollout canary-a --set shop=1.4 --spec rollout.json` would be.
      const following = buildCli().parseAsync(['rollout', ENVIRONMENT, '--set', 'shop=1.4', '--spec', file, '--strategy', 'canary'], {
        from: 'user',
      });
      await waitingAt(50);
      const eventsBefore = await updateEvents(handle);
      const refused = await opsflowProcess('rollout', 'resume', ENVIRONMENT);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(
        new RegExp(`^opsflow: resume refused by rollout-${ENVIRONMENT}: not paused by a pause update; step 2`, 'm'),
      );
      expect(await updateEvents(handle)).toBe(eventsBefore); // refused before anything reached the history

      const status = await opsflowProcess('rollout', 'status', ENVIRONMENT);
      expect(status.out).toContain('  traffic: canary 50% / stable 50%');
      expect(status.out).toContain(`(opsflow rollout promote ${ENVIRONMENT}, or abort ${ENVIRONMENT})`);

      const promoted = await opsflowProcess('rollout', 'promote', ENVIRONMENT);
      expect([promoted.code, promoted.out]).toEqual([0, expect.stringContaining('promoted past')]);
      await waitingAt(75);
      // The same through Temporal's own CLI.
      const where = ['--address', env.address, '--namespace', env.namespace ?? 'default'];
      const viaTemporal = await promisify(execFile)(temporalCliPath(), [
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        rolloutWorkflowId(ENVIRONMENT),
        '--name',
        'promote',
        '--input',
        '{"by":"me"}',
        ...where,
      ]);
      expect(viaTemporal.stdout).toContain('promoted past');
      await following;
    });
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  const output = printed.join('');
  expect(output).toContain(`Rolling out shop ghcr.io/acme/shop:1.4 to ${ENVIRONMENT}: workflow rollout-${ENVIRONMENT}`);
  expect(output).toContain('⇄ traffic canary 50% / stable 50%');
  expect(output).toContain('‖ waiting for human');
  expect(output).toContain(`↪ promote by ${whoAmI()}: promoted past`);
  expect(output).toContain('↪ promote by me: promoted past');
  expect(output).toMatch(/⇄ traffic canary 50% \/ stable 50%[\s\S]*⇄ traffic canary 75% \/ stable 25%/);
  expect(output).toMatch(new RegExp(`Rolled out to ${ENVIRONMENT}: shop ghcr\\.io/acme/shop:1\\.4 \\(was ghcr\\.io/acme/shop:[^)]+\\)`));
  expect([await versionOn('app-1'), await versionOn('app-2')]).toEqual(['1.4', '1.4']);

  // Once it has ended, steering it says so.
  const late = await opsflowProcess('rollout', 'promote', ENVIRONMENT);
  expect([late.code, late.err]).toEqual([1, expect.stringContaining(`opsflow: no rollout of ${ENVIRONMENT} is running`)]);
});

test('the worker stops mid-analysis: a new worker resumes at the same measurement, and no weight is applied twice', async () => {
  const steps = [{ setWeight: 50 }, { analysis: { templates: ['errors'] } }, { setWeight: 100 }];
  const load = loadThroughNginx();
  const handle = await withLoad(load, () =>
    withWorker(async () => {
      const handle = await startRollout('1.5', steps);
      await until(
        'the first measurement',
        async () =>
          (await handle.query<RolloutStatus>('status')).rollout?.analyses[0]?.metrics[0]?.measurements.length ? true : undefined,
        240_000,
      );
      return handle;
    }),
  );
  // That worker is gone (its cache with it); a new one replays the history and carries on.
  const result = (await withLoad(load, () => withWorker(() => handle.result()))) as RolloutResult;
  const tally = await load.stop();
  expect(result.analyses).toEqual([expect.objectContaining({ name: 'step 2', phase: 'successful' })]);
  expect(result.analyses[0]!.metrics[0]!.measurements).toHaveLength(3);
  expect(await activities(handle, 'measureMetric')).toBe(3);
  // Take over, app-1 out and in, 50%, 100%, app-2 out and in, the new stable: once each.
  expect(await activities(handle, 'setNginxWeights')).toBe(8);
  expect(tally.failures).toEqual([]);
  expect([await versionOn('app-1'), await versionOn('app-2')]).toEqual(['1.5', '1.5']);
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
});

test('a human pauses, resumes and aborts at a pause step: RolloutAborted says who and why; traffic and hosts are back on stable', async () => {
  const steps = [{ setWeight: 50 }, { pause: {} }, { setWeight: 100 }];
  const stable = await versionOn('app-2');
  const { err, status, handle } = await withWorker(async () => {
    const handle = await startRollout('1.6', steps);
    await until(
      'the pause step to wait for a human',
      async () =>
        (await handle.query<RolloutStatus>('status')).rollout?.pause?.reason === 'step 2: pause until promoted' ? true : undefined,
      240_000,
    );
    expect(await handle.executeUpdate('pause', { args: [{ by: 'bob' }] })).toEqual({ accepted: expect.stringMatching(/^paused/) });
    expect(await refusal(handle.executeUpdate('pause', { args: [{ by: 'carol' }] }))).toBe('already paused by bob');
    expect(await handle.executeUpdate('resume', { args: [{ by: 'carol' }] })).toEqual({ accepted: 'resumed (paused by bob)' });
    expect(await handle.executeUpdate('abort', { args: [{ by: 'dave', reason: 'checkout looks wrong' }] })).toEqual({
      accepted: 'aborted: checkout looks wrong',
    });
    const err = await handle.result().catch((e: unknown) => e);
    return { err, status: await handle.query<RolloutStatus>('status'), handle };
  });
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolloutAborted');
  expect(failure.message).toContain('aborted (checkout looks wrong)');
  expect(failure.details?.[0]).toMatchObject({ reason: 'checkout looks wrong', by: 'dave', hostsRestored: ['app-1'] });
  expect(status.rollout!.updates.map((u) => [u.name, u.by])).toEqual([
    ['pause', 'bob'],
    ['resume', 'carol'],
    ['abort', 'dave'],
  ]);
  expect([await versionOn('app-1'), await versionOn('app-2')]).toEqual([stable, stable]);
  expect(await nginxWeights()).toEqual({ stable: 100, canary: 0 });
  runs.push(env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
});

test('every run above replays against the current workflow code', async () => {
  expect(runs).toHaveLength(6); // the CLI's run is not among them
  for (const handle of runs) {
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() } }, await handle.fetchHistory(), handle.workflowId),
    ).resolves.toBeUndefined();
  }
});
