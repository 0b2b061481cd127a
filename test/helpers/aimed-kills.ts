// Kills aimed at steps, not at times: the worker is stopped (SIGSTOP), the runs are read from the
// server, and the worker is SIGKILLed only if an attempt of a wanted step is running on it; else it
// continues. Afterwards each kill is checked against the history: an attempt it hit was retried.
import type { ChildProcess } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { killProcess, whileStopped } from './production-worker';
import { lastAttempts, lookAtRun, type ActivityAttempt, type RunLook } from './run-activities';

export interface AimedKill {
  /** The steps that had an attempt running on the worker when it died. */
  steps: string[];
  /** Those attempts, each with its step (a hit attempt shows a later attempt in the history). */
  attempts: (ActivityAttempt & { step: string })[];
}

/**
 * One look with the worker stopped. `stepOf` names the step of a running attempt; `wanted` says
 * whether a step is a target now. Returns the kill when there was one (the worker is then dead),
 * and the looks either way.
 */
export async function lookAndAim(
  worker: ChildProcess,
  handles: WorkflowHandle[],
  stepOf: (attempt: ActivityAttempt, look: RunLook) => string,
  wanted: (step: string) => boolean,
): Promise<{ looks: RunLook[]; kill?: AimedKill }> {
  return whileStopped(worker, async () => {
    const looks = await Promise.all(handles.map((h) => lookAtRun(h)));
    const attempts = looks.flatMap((look) => look.activities.filter((a) => a.started).map((a) => ({ attempt: a, step: stepOf(a, look) })));
    if (!attempts.some((a) => wanted(a.step))) return { looks };
    await killProcess(worker);
    return {
      looks,
      kill: { steps: [...new Set(attempts.map((a) => a.step))], attempts: attempts.map((a) => ({ ...a.attempt, step: a.step })) },
    };
  });
}

/**
 * Kills per step, counting only attempts the history shows were retried afterwards (a kill counts
 * for every step it hit a running attempt of), and the hit attempts that were not retried (an
 * attempt whose completion was already on its way to the server when the worker stopped).
 */
export async function landedKills(
  handles: WorkflowHandle[],
  kills: AimedKill[],
): Promise<{ perStep: Map<string, number>; notRetried: ActivityAttempt[] }> {
  const byRun = new Map<string, Map<string, number>>();
  for (const handle of handles) byRun.set(handle.workflowId, await lastAttempts(handle));
  const retried = (a: ActivityAttempt) => (byRun.get(a.workflowId)?.get(a.activityId) ?? 0) > a.attempt;
  const perStep = new Map<string, number>();
  for (const kill of kills) {
    for (const step of kill.steps) {
      if (kill.attempts.some((a) => a.step === step && retried(a))) perStep.set(step, (perStep.get(step) ?? 0) + 1);
    }
  }
  return { perStep, notRetried: kills.flatMap((k) => k.attempts).filter((a) => !retried(a)) };
}
