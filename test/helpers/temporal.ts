// Test harness: a real Temporal dev server per test file (the pinned CLI, never a stand-in) and
// in-process workers that share the workflow bundle built once in global-setup.
import { randomUUID } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { OPS_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';

export function temporalCliPath(): string {
  const path = process.env.OPSFLOW_TEMPORAL_CLI;
  if (!path) throw new Error('OPSFLOW_TEMPORAL_CLI is not set: run tests through jest (global-setup resolves it)');
  return path;
}

export function workflowBundlePath(): string {
  const path = process.env.OPSFLOW_TEST_WORKFLOW_BUNDLE;
  if (!path) throw new Error('OPSFLOW_TEST_WORKFLOW_BUNDLE is not set: run tests through jest (global-setup bundles it)');
  return path;
}

let runtimeInstalled = false;

/**
 * `dataConverter`: what env.client encodes with (the payload codec, in test/helpers/codec.ts);
 * `uiPort`: serve the Web UI there too (off otherwise).
 */
export async function startTemporal(options: { dataConverter?: DataConverter; uiPort?: number } = {}): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // Already installed by an earlier test file in this jest worker.
    }
    runtimeInstalled = true;
  }
  // The SDK gives the dev server a fixed 5 s to answer (sdk-core's ephemeral_server), which a
  // loaded machine can miss; it kills the slow server then, so starting again is clean.
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: temporalCliPath() },
          ip: '127.0.0.1',
          searchAttributes: [...OPS_SEARCH_ATTRIBUTES],
          ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
        },
        client: { dataConverter: options.dataConverter },
      });
    } catch (error) {
      if (attempt === START_ATTEMPTS || !/did not start within/.test((error as Error).message)) throw error;
    }
  }
}

/** Dev server starts tried before a test file gives up (each has the SDK's 5 s). */
const START_ATTEMPTS = 4;

export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** Runs `fn` while an in-process worker serves `taskQueue`, then shuts the worker down. */
export async function withWorker<T>(env: TestWorkflowEnvironment, taskQueue: string, activities: object, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: workflowBundlePath() },
    activities,
  });
  return worker.runUntil(fn);
}
