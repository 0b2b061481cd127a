// What a worker can tell about itself, for diagnostics. Never includes a secret's value.
import os from 'node:os';

export interface WorkerDescription {
  hostname: string;
  pid: number;
  nodeVersion: string;
  opsflowVersion: string;
  /** Which provider credentials this worker was configured with (names only). */
  providers: string[];
}

export interface WorkerInfoDeps {
  opsflowVersion: string;
  providers: string[];
}

export function createWorkerInfoActivities(deps: WorkerInfoDeps) {
  return {
    async describeWorker(): Promise<WorkerDescription> {
      return {
        hostname: os.hostname(),
        pid: process.pid,
        nodeVersion: process.version,
        opsflowVersion: deps.opsflowVersion,
        providers: deps.providers,
      };
    },
  };
}
