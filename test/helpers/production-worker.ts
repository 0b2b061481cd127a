// The production worker (dist/worker.js) as its own process, for the chaos tests that SIGKILL it,
// SIGSTOP it to look at what it is doing, and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowBundlePath } from './temporal';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');

export interface ProductionWorkerSettings {
  temporalAddress: string;
  /** Extra environment: the cloud's token and URL, key files, secrets, Spaces settings. */
  env: NodeJS.ProcessEnv;
}

/** Starts dist/worker.js and resolves once it logged "worker started" (both task queues polled). */
export function startProductionWorker(settings: ProductionWorkerSettings): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: settings.temporalAddress,
      OPSFLOW_WORKFLOW_BUNDLE: workflowBundlePath(),
      OPSFLOW_METRICS_ADDRESS: 'off',
      ...settings.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`worker not started within 120 s:\n${log}`)), 120_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('"worker started"')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited early (${code}):\n${log}`));
    });
  });
}

/** SIGKILL, resolved once the process is gone (a stopped process dies too). */
export function killProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The process state letter from /proc (T: stopped). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/**
 * Runs `look` while the worker is stopped (SIGSTOP, confirmed in /proc): nothing the worker does
 * can change while it runs, so an activity `look` sees started is still running on this worker
 * when the caller kills it. The worker continues afterwards unless it was killed meanwhile.
 */
export async function whileStopped<T>(child: ChildProcess, look: () => Promise<T>): Promise<T> {
  const pid = child.pid!;
  process.kill(pid, 'SIGSTOP');
  for (let i = 0; processState(pid) !== 'T'; i++) {
    if (i > 1000) throw new Error(`worker ${pid} did not stop`);
    await new Promise((r) => setTimeout(r, 5));
  }
  try {
    return await look();
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGCONT');
  }
}
