// The typed client behind the opsflow CLI: connecting, starting and inspecting opsflow workflows.
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { WorkerDescription } from '../activities/worker/worker-info';
import { checkWorkerWorkflowId } from '../names/workflow-ids';
import { loadTemporalTarget, TemporalUnreachableError, type TemporalTarget } from '../temporal/connection';
import { dataConverterFromEnv } from '../temporal/codec/data-converter';
import { TASK_QUEUE } from '../temporal/task-queues';
import type { OperationStatus } from '../workflows/shared/status';
import { requestedBy, runMetadata, type RunOrigin } from './run-metadata';

export interface ConnectedClient {
  client: Client;
  connection: Connection;
  target: TemporalTarget;
}

export async function connectClient(
  env: NodeJS.ProcessEnv = process.env,
  connectTimeoutMs = 5000,
  note: (line: string) => void = (line) => process.stderr.write(`opsflow: ${line}\n`),
): Promise<ConnectedClient> {
  const target = loadTemporalTarget(env);
  if (target.note) note(target.note);
  // The worker's codec: what the CLI and its schedules send is encrypted, what it reads decrypted.
  const dataConverter = dataConverterFromEnv(env, target.connectionOptions.address);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...target.connectionOptions, connectTimeout: connectTimeoutMs });
  } catch (err) {
    // The SDK says only "Failed to connect before the deadline": say where, and how to change it.
    throw new TemporalUnreachableError(target, err);
  }
  return { client: new Client({ connection, namespace: target.namespace, dataConverter }), connection, target };
}

/** How many workers poll the task queue for workflow tasks right now. */
export async function workerPollerCount(client: Client, taskQueue = TASK_QUEUE): Promise<number> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return response.pollers?.length ?? 0;
}

/** Runs the checkWorker round trip and waits for it, failing after `timeoutMs`. */
export async function runCheckWorker(client: Client, timeoutMs: number): Promise<{ workflowId: string; result: WorkerDescription }> {
  const workflowId = checkWorkerWorkflowId(randomUUID());
  const handle = await client.workflow.start('checkWorker', {
    taskQueue: TASK_QUEUE,
    workflowId,
    workflowExecutionTimeout: timeoutMs,
    staticSummary: 'opsflow: is a worker running workflows and activities?',
  });
  const result = (await handle.result()) as WorkerDescription;
  return { workflowId, result };
}

/** Connects with Temporal's environment configuration, runs `fn`, and always closes. */
export async function withClient<T>(fn: (client: Client) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const { client, connection } = await connectClient(env);
  try {
    return await fn(client);
  } finally {
    await connection.close();
  }
}

/**
 * Starts an opsflow operation under a stable workflow id: a second start of the same operation
 * while one runs is refused by Temporal instead of racing it. With `origin`, the run carries its
 * memo, static details and search attributes from the first moment (run-metadata.ts).
 */
export async function startOperation(
  client: Client,
  type: string,
  workflowId: string,
  args: unknown[],
  summary: string,
  memo?: Record<string, unknown>,
  origin?: RunOrigin,
) {
  const metadata = origin ? runMetadata(origin, args[0], requestedBy()) : undefined;
  try {
    // memo `waitForEnvironment: true`: the operation waits for its environment's claim instead of being refused.
    return await client.workflow.start(type, {
      taskQueue: TASK_QUEUE,
      workflowId,
      args,
      staticSummary: summary,
      workflowIdConflictPolicy: 'FAIL',
      ...(metadata
        ? {
            memo: { ...metadata.memo, ...memo },
            staticDetails: metadata.staticDetails,
            typedSearchAttributes: metadata.typedSearchAttributes,
          }
        : memo
          ? { memo }
          : {}),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new Error(`${workflowId} is already running: follow it with \`opsflow status ${workflowId}\``);
    throw err;
  }
}

export interface WorkflowStatusReport {
  workflowId: string;
  type: string;
  execution: string;
  startTime: Date;
  closeTime?: Date;
  /** The workflow's own `status` query; undefined when no worker could answer it. */
  status?: OperationStatus;
  statusError?: string;
  /** How a FAILED run ended: its failure's type (as recorded) and message. */
  failure?: { type?: string; message: string };
}

export async function workflowStatus(client: Client, workflowId: string): Promise<WorkflowStatusReport> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const report: WorkflowStatusReport = {
    workflowId,
    type: description.type,
    execution: description.status.name,
    startTime: description.startTime,
    closeTime: description.closeTime,
  };
  if (description.status.name === 'FAILED') {
    // A closed run's result comes back at once: the failure it ended with, decoded.
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const cause = err instanceof WorkflowFailedError ? (err.cause as (Error & { type?: string }) | undefined) : undefined;
    if (cause) report.failure = { type: cause.type, message: cause.message };
  }
  try {
    report.status = await withTimeout(handle.query<OperationStatus>('status'), 10_000, 'no worker answered the status query within 10 s');
  } catch (err) {
    report.statusError = err instanceof Error ? err.message : String(err);
  }
  return report;
}

export { WorkflowNotFoundError };

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
