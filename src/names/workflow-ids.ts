// Every workflow id opsflow starts, built here and nowhere else, so the CLI, schedules, the
// environment entity and tests agree on how to find a run. Pure functions (no clock, no
// randomness): workflow code may import this module, and callers pass the unique part in.

/** The environment's entity workflow: one per environment, holding its inventory and claims. */
export const environmentWorkflowId = (environment: string) => `environment-${environment}`;

/** Provisioning reuses one id per environment: a second provision of the same name finds the first. */
export const provisionWorkflowId = (environment: string) => `provision-${environment}`;

/**
 * Deploys and destroys run many times per environment, so each run needs its own id; the unique
 * part is the caller's (see `uniqueSuffix`), kept so ids stay unique even where the environment's
 * claim is what keeps operations one at a time.
 */
export const deployWorkflowId = (environment: string, unique: string) => `deploy-${environment}-${unique}`;
export const destroyWorkflowId = (environment: string, unique: string) => `destroy-${environment}-${unique}`;

/**
 * A rollout: one at a time per environment (the environment's claim enforces it too), so
 * `opsflow rollout status|promote|abort <env>` finds the running one by name. A later rollout
 * reuses the id once the earlier run has closed.
 */
export const rolloutWorkflowId = (environment: string) => `rollout-${environment}`;

/**
 * A failover away from one site: one at a time per environment (its claim enforces it), named as
 * the README's `temporal workflow start --workflow-id failover-stack-e-fra1` example names it.
 */
export const failoverWorkflowId = (environment: string, from: string) => `failover-${environment}-${from}`;

/** Backup runs started by a policy's schedule (the schedule id is the same string). */
export const backupWorkflowId = (policy: string) => `backup-${policy}`;
export const backupScheduleId = backupWorkflowId;

/** A restore started by `opsflow restore`: many per target over time, so the caller's unique part. */
export const restoreWorkflowId = (policy: string, target: string, unique: string) => `restore-${policy}-${target}-${unique}`;

/** A backup run's verification of one database (or archive): a child of that run, so named after it. */
export const verifyBackupWorkflowId = (backupRunId: string, target: string, database: string | undefined) =>
  `${backupRunId}-verify-${target}-${database ?? 'archive'}`;

/** A backup run's retention step, also its child. */
export const retentionWorkflowId = (backupRunId: string) => `${backupRunId}-retention`;

/** The worker round trip `opsflow doctor` and `opsflow worker check` start. */
export const checkWorkerWorkflowId = (unique: string) => `check-worker-${unique}`;

/**
 * A suffix unique per start: the start time in ms, base 36, then a counter so two starts in the
 * same millisecond still differ. Client side only (workflows have their own deterministic clock).
 */
let lastSuffix = { at: 0, count: 0 };
export function uniqueSuffix(now: number = Date.now()): string {
  lastSuffix = now === lastSuffix.at ? { at: now, count: lastSuffix.count + 1 } : { at: now, count: 0 };
  return lastSuffix.count === 0 ? String(now) : `${now}-${lastSuffix.count}`;
}

/** The watcher a failover leaves for an old primary it could not fence: fixed by the failover's id, so a retried start finds it. */
export const fenceWatchWorkflowId = (failoverWorkflowId: string) => `${failoverWorkflowId}-fence-watch`;

/** A failback to one site: one at a time per environment, like the failover it undoes. */
export const failbackWorkflowId = (environment: string, to: string) => `failback-${environment}-${to}`;

/** An environment's DR monitor: one per environment (it watches one site), so `opsflow dr status <env>` finds it. */
export const drMonitorWorkflowId = (environment: string) => `dr-monitor-${environment}`;

/**
 * An environment's DR drill schedule, and the workflow id its runs start under (the schedule adds
 * the scheduled time: dr-drill-<env>-2026-12-06T04:00:00Z).
 */
export const drDrillScheduleId = (environment: string) => `dr-drill-${environment}`;

/** A drill run's failover or failback: fixed by the drill's own id, so a retried drill finds its halves again. */
export const drDrillHalfWorkflowId = (drillWorkflowId: string, half: 'failover' | 'failback') => `${drillWorkflowId}-${half}`;
