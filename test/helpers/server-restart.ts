// The Temporal server SIGKILLed in the middle of a run and started again, the moment held by
// construction: the worker is stopped (SIGSTOP) while the test reads a count the worker raises by
// itself and checks that the run is where the kill must land, and the server dies before the
// worker moves on. The worker then carries the step on with no server, until that count rises
// (counted, not timed), and only then is the server started again on the same storage.
// restartServerAtDropletCreate is that for provisioning (the restart chaos test and the production
// tier share it).
import type { ChildProcess } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import type { ChaosCloud } from './chaos-harness';
import { whileStopped } from './production-worker';
import { provisionStepOf } from './provision-steps';
import { lookAtRun } from './run-activities';
import type { TemporalProcess } from './temporal-process';
import { until } from './until';

export interface MidRunMoment {
  /** The moment, in words (for messages): "an attempt of create droplets running". */
  what: string;
  /** Whether the run is at the moment now, asked of the server while the worker is stopped. */
  reached: () => Promise<boolean>;
  /**
   * A count the worker raises on its own in that step (droplets created, objects uploaded): read
   * before `reached`, at the kill; its rise shows the worker went on while the server was down.
   */
  progress: () => Promise<number>;
  /** Runs once the rise is seen, before the server starts again (clears the faults that held the step open). */
  beforeRestart?: () => Promise<void>;
}

export interface ServerRestart {
  /** Seconds from the restart until the server answered again. */
  restartSeconds: number;
}

/** Kills `temporal` at `moment` of a run on `worker`, lets the worker go on alone, then starts the server again. */
export async function restartServerMidRun(temporal: TemporalProcess, worker: ChildProcess, moment: MidRunMoment): Promise<ServerRestart> {
  // A count that cannot be read now (a container being replaced) is no moment to kill at.
  const progress = () => moment.progress().catch(() => undefined);
  const before = await until(moment.what, () =>
    whileStopped(worker, async () => {
      const count = await progress();
      if (count === undefined || !(await moment.reached())) return undefined;
      await temporal.kill();
      return { count };
    }),
  );
  let restarted = Date.now();
  try {
    await until(`the worker to go on alone after the server was killed at ${moment.what}`, async () =>
      ((await progress()) ?? before.count) > before.count ? true : undefined,
    );
    await moment.beforeRestart?.();
    restarted = Date.now();
  } finally {
    // Started again even when the rise never came: the tests after this one need the server.
    await temporal.start();
  }
  return { restartSeconds: Math.round((Date.now() - restarted) / 1000) };
}

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The server killed while provisionings create their droplets and started again once the worker
 * created one alone: each run's droplet lookup, which starts the step, is held 3 s (a fault), and
 * the kill lands while a run has an attempt of `create droplets` running. Returns the environment
 * that was creating, and the restart.
 */
export async function restartServerAtDropletCreate(
  temporal: TemporalProcess,
  chaos: ChaosCloud,
  worker: ChildProcess,
  runs: { environment: string; handle: WorkflowHandle }[],
): Promise<ServerRestart & { creating: string }> {
  let creating = '';
  const dropletCreates = async () =>
    (await chaos.control('GET', 'requests')).requests.filter((r: Body) => r.method === 'POST' && r.url === '/v2/droplets').length;
  const restart = await restartServerMidRun(temporal, worker, {
    what: 'an attempt of create droplets running',
    progress: dropletCreates,
    reached: async () => {
      for (const run of runs) {
        const look = await lookAtRun(run.handle);
        if (look.activities.some((a) => a.started && provisionStepOf(a) === 'create droplets')) return !!(creating = run.environment);
      }
      return false;
    },
    beforeRestart: async () => void (await chaos.control('PUT', 'faults', {})),
  });
  return { ...restart, creating };
}

/**
 * Holds each droplet lookup and each droplet create 3 s, so a look finds `create droplets` running
 * with its create still to be answered (restartServerAtDropletCreate clears it). Since patch
 * provision-at-once a fresh environment's first attempt sends no lookup: the held create is then
 * what the worker finishes alone, its request logged (and counted) only once answered.
 */
export async function holdDropletLookups(chaos: ChaosCloud): Promise<void> {
  await chaos.control('PUT', 'faults', {
    rules: [
      { method: 'GET', path: '/v2/droplets?', latencyMs: 3000 },
      { method: 'POST', path: '/v2/droplets', latencyMs: 3000 },
    ],
  });
}
