// The activity factory: every activity the worker registers, built from injected clients so
// tests and the worker wire the same code to different endpoints.
import { createWorkerInfoActivities, type WorkerInfoDeps } from './worker-info';

export type ActivityDeps = WorkerInfoDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createWorkerInfoActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
