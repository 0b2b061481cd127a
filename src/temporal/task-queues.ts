// Task queue names shared by the worker, the client and the workflows.

/** Workflows and every activity that is not rate limited by a provider. */
export const TASK_QUEUE = 'opsflow';

/** DigitalOcean API activities: rate-limited by the server across all workers. */
export const DIGITALOCEAN_TASK_QUEUE = 'opsflow-digitalocean';

/**
 * Activity starts per second allowed on DIGITALOCEAN_TASK_QUEUE across every worker: 3 a second
 * is 180 a minute, leaving room under DigitalOcean's 250 for activities that make a few calls.
 */
export const DIGITALOCEAN_ACTIVITIES_PER_SECOND = 3;
