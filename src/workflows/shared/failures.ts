// Every failure type opsflow ends a workflow or an activity with, named here once, so alerting,
// the CLI and tests match on one vocabulary. Imports only @temporalio/common: workflows,
// activities and the client may all use it.
import { ApplicationFailure } from '@temporalio/common';

/** How an operation that undoes its steps ends when it cannot finish (the saga dialect). */
export const OUTCOME = {
  /** Failed or cancelled, and every step it had done was undone. */
  RolledBack: 'RolledBack',
  /** Failed, and some undo steps still failed after their retries; details name them. */
  RollbackIncomplete: 'RollbackIncomplete',
  /** Failed with `onFailure: keep`: what it made is left in place for inspection. */
  FailedAndKept: 'FailedAndKept',
  /** A rollout stopped by a failed analysis or a human: traffic and hosts are back on the stable version. */
  RolloutAborted: 'RolloutAborted',
} as const;

/** Refused at the start, before any side effect. */
export const REFUSAL = {
  /** A spec document (environment, backup policy) does not parse; details list each field. */
  InvalidSpec: 'InvalidSpec',
  /** An operation's input does not parse; details list each field. */
  InvalidInput: 'InvalidInput',
  /** Another operation holds the environment; details name it (see environment-claim.ts). */
  EnvironmentBusy: 'EnvironmentBusy',
  /** The environment entity refused a claim for another reason; the message says which. */
  ClaimRefused: 'ClaimRefused',
  /** Secret references the worker cannot resolve; details list each with why (names only, no value). */
  SecretsMissing: 'SecretsMissing',
} as const;

/** Named failures of single steps (activities and workflow checks), by system. */
export const STEP_FAILURE = {
  // releases
  ServiceNotRunning: 'ServiceNotRunning',
  ServiceImagesDiffer: 'ServiceImagesDiffer',
  UnrecognisedImage: 'UnrecognisedImage',
  ReleaseNotRunning: 'ReleaseNotRunning',
  /** A rollout's traffic split that nginx refused (`nginx -t`) or that cannot be drawn over the hosts given. */
  TrafficRefused: 'TrafficRefused',
  /** The release's post-deploy analysis did not pass (failed, could not measure, or inconclusive); it is rolled back. */
  AnalysisFailed: 'AnalysisFailed',
  // SSH
  InvalidSshInput: 'InvalidSshInput',
  SshHostKeyMismatch: 'SshHostKeyMismatch',
  SshAuthenticationFailed: 'SshAuthenticationFailed',
  SshConnectionFailed: 'SshConnectionFailed',
  SshKeyUnavailable: 'SshKeyUnavailable',
  SshUnreachable: 'SshUnreachable',
  RemoteCommandFailed: 'RemoteCommandFailed',
  RemoteCommandTimedOut: 'RemoteCommandTimedOut',
  SftpFailed: 'SftpFailed',
  SecretUnavailable: 'SecretUnavailable',
  // HTTP health
  InvalidHealthCheck: 'InvalidHealthCheck',
  HealthCheckFailed: 'HealthCheckFailed',
  // cloud (the API's own kinds arrive as DigitalOcean<Kind>, see activities/digitalocean/failures.ts)
  ResourceConflict: 'ResourceConflict',
  VpcStillInUse: 'VpcStillInUse',
  DropletCreateFailed: 'DropletCreateFailed',
  DigitalOceanActionErrored: 'DigitalOceanActionErrored',
  DigitalOceanConflict: 'DigitalOceanConflict',
  SnapshotSourceNotFound: 'SnapshotSourceNotFound',
  SnapshotSourceAmbiguous: 'SnapshotSourceAmbiguous',
  SnapshotNotListed: 'SnapshotNotListed',
  SnapshotChanged: 'SnapshotChanged',
  // Kubernetes (src/integrations/kubernetes/errors.ts, src/activities/kubernetes/failures.ts)
  /** The API server refused a request (400, 401, 403, 422...); the message names the object and the fields. */
  KubernetesRejected: 'KubernetesRejected',
  /** Server-side apply met fields another manager owns; apply with force to take them. */
  KubernetesFieldConflict: 'KubernetesFieldConflict',
  /** The object (or its kind) does not exist on the cluster. */
  KubernetesNotFound: 'KubernetesNotFound',
  /** 429, 5xx or no answer from the API server: a later attempt may succeed. */
  KubernetesUnavailable: 'KubernetesUnavailable',
  /** A manifest lacks what the API needs, or would put a Secret's values into workflow history. */
  InvalidManifest: 'InvalidManifest',
  /** The cluster's kubeconfig is unusable (no current context, not https, runs a program). */
  KubeconfigRefused: 'KubeconfigRefused',
  /** A Deployment's rollout cannot progress (its progress deadline passed); details name the pods' and events' reasons. */
  RolloutStalled: 'RolloutStalled',
  // backups: a run's outcome, then what a backup step can meet (src/backups/errors.ts)
  BackupsFailed: 'BackupsFailed',
  /** The dump command failed or died mid-way. */
  DumpFailed: 'DumpFailed',
  /** Authentication, unknown database, missing tool: retrying cannot help. */
  DumpRefused: 'DumpRefused',
  /** Network, 5xx, throttling. */
  SpacesUnavailable: 'SpacesUnavailable',
  /** Bad keys, no such bucket, access denied. */
  SpacesRefused: 'SpacesRefused',
  /** The object is not the bytes its (authentic) manifest describes. */
  ChecksumMismatch: 'ChecksumMismatch',
  /** The manifest is not signed by a key this worker holds, or not for this key. */
  BackupNotAuthentic: 'BackupNotAuthentic',
  /** Written before backups were signed (plain SQL): cannot be proven ours. */
  BackupFormatRefused: 'BackupFormatRefused',
  /** The worker has no OPSFLOW_BACKUP_KEY / OPSFLOW_BACKUP_KEY_FILE. */
  BackupKeyMissing: 'BackupKeyMissing',
  /** Not enough room to hold the object while it is verified. */
  NoTempSpace: 'NoTempSpace',
  RestoreFailed: 'RestoreFailed',
  WebhookFailed: 'WebhookFailed',
  /** No droplet (or more than one) by the policy's environment and droplet name. */
  DropletNotFound: 'DropletNotFound',
  /** SSH to the droplet refused, reset or timed out; it may come back. */
  DropletUnreachable: 'DropletUnreachable',
  /** The droplet refused the worker's key, or its host key is not the one expected. */
  SshRefused: 'SshRefused',
  /** Neither the policy, the environment nor the worker's known_hosts names the droplet's host key. */
  HostKeyUnknown: 'HostKeyUnknown',
  Cancelled: 'Cancelled',
  VerificationFailed: 'VerificationFailed',
  RetentionFloorBreached: 'RetentionFloorBreached',
  NotFound: 'NotFound',
  DatabaseExists: 'DatabaseExists',
  /** A cluster restore's target namespace already holds objects: restores go into new namespaces. */
  RestoreTargetNotEmpty: 'RestoreTargetNotEmpty',
  NotYetSupported: 'NotYetSupported',
  Unsupported: 'Unsupported',
  // Cloudflare (src/integrations/cloudflare/errors.ts)
  /** 429, 5xx or no answer: a later attempt may succeed. */
  CloudflareUnavailable: 'CloudflareUnavailable',
  /** The token is refused (401, 403). */
  CloudflareUnauthorized: 'CloudflareUnauthorized',
  /** The request itself is refused (400, 404, 409, 422) or names something that does not exist. */
  CloudflareRefused: 'CloudflareRefused',
  // databases in a failover (src/integrations/mysql/)
  /** No connection to the server (refused, timed out, reset): it may come back. */
  DatabaseUnreachable: 'DatabaseUnreachable',
  /** The server refused the statement or the login; retrying cannot help. */
  DatabaseRefused: 'DatabaseRefused',
  /** The server is not in the role the step needs (no replica configured, replication broken). */
  ReplicationStateUnexpected: 'ReplicationStateUnexpected',
  /** The replica has not applied (or not received) what it must before a promotion. */
  ReplicaNotCaughtUp: 'ReplicaNotCaughtUp',
  /** Promoting would lose more than the RPO budget allows, and nobody forced it with a reason. */
  RpoBudgetExceeded: 'RpoBudgetExceeded',
  /** The old primary holds transactions the new primary never had: it must be re-seeded, not re-pointed. */
  ErrantTransactions: 'ErrantTransactions',
  /** The server was started without what replication needs (a binlog, log_slave_updates); the message names the options. */
  DatabaseNotReplicable: 'DatabaseNotReplicable',
  // failover (src/workflows/failover/)
  /** The site to fail over to is not fit to take the traffic (its pool unhealthy, its replica unreadable). */
  SurvivorUnhealthy: 'SurvivorUnhealthy',
  /** An emergency failover whose site a majority of independent observers do not see down; details list each observer's view. Nothing was changed. */
  SiteNotDown: 'SiteNotDown',
  /** After the switch, requests through the edge still reached the old site (or failed). */
  TrafficNotMoved: 'TrafficNotMoved',
  /** A failback with no failover standing to undo (none recorded, or one between other sites, or the primary is not where it left it). Nothing was changed. */
  NothingToFailBack: 'NothingToFailBack',
  /** A DR drill's failover half failed; the message says what state it left (no failback is tried). */
  DrillFailoverFailed: 'DrillFailoverFailed',
  /** A DR drill's failback half failed; the message says what state it left (the failover may stand). */
  DrillFailbackFailed: 'DrillFailbackFailed',
  /** A DR drill's own approval was refused by the run it approves (other than as a second approval). */
  ApprovalRefused: 'ApprovalRefused',
  /** A stack's site could not be provisioned (it rolled itself back); the message names it and what became of the other. */
  SiteNotProvisioned: 'SiteNotProvisioned',
  /** A staged release failed in staging (rolled back there); production was not touched. */
  StagingFailed: 'StagingFailed',
  /** A production site's release failed and was rolled back on that site; the message says what each site runs. */
  SiteReleaseRolledBack: 'SiteReleaseRolledBack',
} as const;

export type OutcomeType = (typeof OUTCOME)[keyof typeof OUTCOME];
export type RefusalType = (typeof REFUSAL)[keyof typeof REFUSAL];
export type StepFailureType = (typeof STEP_FAILURE)[keyof typeof STEP_FAILURE];
export type FailureType = OutcomeType | RefusalType | StepFailureType;

/** What a backup step can fail with (a BackupError's type, src/backups/errors.ts). */
export const BACKUP_ERROR_TYPES = [
  'DumpFailed',
  'DumpRefused',
  'SpacesUnavailable',
  'SpacesRefused',
  'ChecksumMismatch',
  'BackupNotAuthentic',
  'BackupFormatRefused',
  'BackupKeyMissing',
  'NoTempSpace',
  'RestoreFailed',
  'DatabaseExists',
  'NotFound',
  'Unsupported',
  'WebhookFailed',
  'SecretUnavailable',
  'DropletNotFound',
  'DropletUnreachable',
  'SshRefused',
  'HostKeyUnknown',
  'VerificationFailed',
  'Cancelled',
] as const satisfies readonly StepFailureType[];
export type BackupErrorType = (typeof BACKUP_ERROR_TYPES)[number];

/**
 * Names deployRelease ended with before it rolled back through the saga helper. Runs in users'
 * histories still carry them; `canonicalFailureType` reads them as today's names.
 */
export const LEGACY_FAILURE_TYPES: Readonly<Record<string, OutcomeType>> = {
  ReleaseRolledBack: OUTCOME.RolledBack,
  RollbackFailed: OUTCOME.RollbackIncomplete,
};

/** Today's name for a failure type, whichever opsflow version wrote it. */
export function canonicalFailureType(type: string): string {
  return LEGACY_FAILURE_TYPES[type] ?? type;
}

/** A rollback's account: what was undone, and what still failed. */
export interface FailedCompensation {
  name: string;
  error: string;
}
export interface RollbackReport {
  /** Compensations that completed, in the order they ran (newest step first). */
  compensated: string[];
  /** Compensations that still failed after their retries. */
  failed: FailedCompensation[];
}

interface FailureOptions {
  details?: unknown[];
  cause?: Error;
}

/** Any named failure; nonRetryable unless said otherwise, since most name a decision, not a blip. */
export function failure(
  type: FailureType,
  message: string,
  options: FailureOptions & { retryable?: boolean; nextRetryDelay?: number } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !options.retryable,
    ...(options.details ? { details: options.details } : {}),
    ...(options.cause ? { cause: options.cause } : {}),
    ...(options.nextRetryDelay !== undefined ? { nextRetryDelay: options.nextRetryDelay } : {}),
  });
}

/** Everything undone. `extra` joins the report in the details (e.g. what runs again after a release). */
export function rolledBack(
  message: string,
  report: RollbackReport,
  options: { cause?: Error; extra?: Record<string, unknown> } = {},
): ApplicationFailure {
  return failure(OUTCOME.RolledBack, message, { details: [{ ...report, ...options.extra }], cause: options.cause });
}

/** Some undo steps still failed; the report names each with its error. */
export function rollbackIncomplete(
  message: string,
  report: RollbackReport,
  options: { cause?: Error; extra?: Record<string, unknown> } = {},
): ApplicationFailure {
  return failure(OUTCOME.RollbackIncomplete, message, { details: [{ ...report, ...options.extra }], cause: options.cause });
}

export function failedAndKept(message: string, kept: string[], cause?: Error): ApplicationFailure {
  return failure(OUTCOME.FailedAndKept, message, { details: [{ kept }], cause });
}

export function invalidSpec(message: string, problems?: string[]): ApplicationFailure {
  return failure(REFUSAL.InvalidSpec, message, problems ? { details: [problems] } : {});
}

export function invalidInput(message: string, problems?: string[]): ApplicationFailure {
  return failure(REFUSAL.InvalidInput, message, problems ? { details: [problems] } : {});
}
