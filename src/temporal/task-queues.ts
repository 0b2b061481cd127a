// Task queue names shared by the worker, the client and the workflows.

/** Workflows and every activity that is not rate limited by a provider. */
export const TASK_QUEUE = 'opsflow';
