// `opsflow schedules apply | list`: Temporal Schedules that run each backup policy (runBackups; a
// cluster policy, `kind: cluster`, runs backupCluster), kept in step with a policy file. Each schedule's memo names opsflow and the file's group; the policy itself
// rides in the schedule's action, so comparing it tells what changed. Applying the same file
// twice changes nothing, and removing a policy from a file removes only that group's schedule.
import { ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { backupScheduleId, backupWorkflowId } from '../names/workflow-ids';
import type { BackupPolicy } from '../specs/backup-policy';
import type { ClusterBackupPolicy } from '../specs/cluster-backup-policy';
import { environmentWorkflowId } from '../names/workflow-ids';
import { OpsEnvironment, OpsOperation, OpsRequestedBy } from '../temporal/search-attributes';
import { TASK_QUEUE } from '../temporal/task-queues';
import { policyEnvironment, policyEnvironments } from '../workflows/backups/policy-environment';
import type { AttachedBackups } from '../workflows/environment/inventory';

export type PlanAction = 'create' | 'update' | 'remove' | 'unchanged';

export interface PlanItem {
  action: PlanAction;
  scheduleId: string;
  describe: string;
}

interface OpsflowMemo {
  managedBy: 'opsflow';
  /** The policy file's group (its `group:`, else its file name without extension). */
  group: string;
}

const OVERLAP = { skip: 'SKIP', 'buffer-one': 'BUFFER_ONE', 'cancel-other': 'CANCEL_OTHER', 'allow-all': 'ALLOW_ALL' } as const;

/** What a schedule runs: a database policy, or a cluster backup policy. */
export type ScheduledPolicy = BackupPolicy | ClusterBackupPolicy;

const isClusterPolicy = (policy: ScheduledPolicy): policy is ClusterBackupPolicy => 'kind' in policy && policy.kind === 'cluster';

/** The environments a policy's schedule is attached to (a cluster policy names its own). */
const environmentsOf = (policy: ScheduledPolicy) => (isClusterPolicy(policy) ? [policy.environment] : policyEnvironments(policy));
const environmentOf = (policy: ScheduledPolicy) => (isClusterPolicy(policy) ? policy.environment : policyEnvironment(policy));

export const scheduleIdFor = (policy: ScheduledPolicy) => backupScheduleId(policy.name);

function when(policy: ScheduledPolicy): string {
  const s = policy.schedule;
  return s.cron ? `cron "${s.cron}" ${s.timeZone}` : `every ${s.every}`;
}

export function scheduleOptions(policy: ScheduledPolicy, group: string): ScheduleOptions {
  const memo: OpsflowMemo = { managedBy: 'opsflow', group };
  return { scheduleId: scheduleIdFor(policy), ...scheduleBody(policy), memo: memo as unknown as Record<string, unknown> };
}

/** Everything of a schedule that an update may change. */
function scheduleBody(policy: ScheduledPolicy): Omit<ScheduleOptions, 'scheduleId' | 'memo'> {
  const s = policy.schedule;
  const cluster = isClusterPolicy(policy);
  return {
    spec: {
      ...(s.cron ? { cronExpressions: [s.cron] } : { intervals: [{ every: s.every as Duration }] }),
      timezone: s.timeZone,
      jitter: s.jitter as Duration,
    },
    action: {
      type: 'startWorkflow',
      workflowType: cluster ? 'backupCluster' : 'runBackups',
      workflowId: backupWorkflowId(policy.name),
      taskQueue: TASK_QUEUE,
      args: [{ policy }],
      typedSearchAttributes: [
        { key: OpsOperation, value: 'backup' },
        { key: OpsEnvironment, value: environmentOf(policy) },
        { key: OpsRequestedBy, value: `schedule ${scheduleIdFor(policy)}` },
      ],
      // Who applied the schedule is not recorded here: applying the same file again must change nothing.
      memo: {
        environment: environmentOf(policy),
        operation: 'backup',
        policy: policy.name,
        requestedBy: `schedule ${scheduleIdFor(policy)}`,
      },
      staticSummary: cluster
        ? `cluster backup ${policy.name}: ${policy.resources.kinds?.join(', ') ?? 'every kind'} in ${policy.resources.namespaces.join(', ')} of cluster ${policy.cluster}`
        : `backups of ${policy.name}: ${policy.targets.map((t) => t.name).join(', ')}`,
      staticDetails: `**backup** of environment **${environmentOf(policy)}** by schedule ${scheduleIdFor(policy)}, ${when(policy)}`,
    },
    policies: { overlap: OVERLAP[s.overlap], catchupWindow: s.catchupWindow as Duration },
  };
}

/** The policy a schedule runs, read back from its action. */
/**
 * The policy a schedule runs, or undefined when there is no such schedule. Asked of the schedule
 * itself, not of the schedule list: the list is eventually consistent and may not yet show one
 * made a moment ago, which would make a second apply try to create it again.
 */
async function scheduledPolicy(client: Client, scheduleId: string): Promise<{ policy?: ScheduledPolicy } | undefined> {
  try {
    const description = await client.schedule.getHandle(scheduleId).describe();
    return { policy: (description.action.args?.[0] as { policy?: ScheduledPolicy } | undefined)?.policy };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function managedSchedules(client: Client): Promise<{ scheduleId: string; memo: OpsflowMemo }[]> {
  const found: { scheduleId: string; memo: OpsflowMemo }[] = [];
  for await (const summary of client.schedule.list()) {
    const memo = summary.memo as Partial<OpsflowMemo> | undefined;
    if (memo?.managedBy === 'opsflow') found.push({ scheduleId: summary.scheduleId, memo: memo as OpsflowMemo });
  }
  return found;
}

/** What applying `policies` as `group` would change. */
export async function planSchedules(client: Client, policies: ScheduledPolicy[], group: string): Promise<PlanItem[]> {
  const existing = await managedSchedules(client);
  const plan: PlanItem[] = [];
  for (const policy of policies) {
    const scheduleId = scheduleIdFor(policy);
    const current = await scheduledPolicy(client, scheduleId);
    const action: PlanAction = !current ? 'create' : same(current.policy, policy) ? 'unchanged' : 'update';
    plan.push({ action, scheduleId, describe: when(policy) });
  }
  const wanted = new Set(policies.map(scheduleIdFor));
  for (const e of existing) {
    if (e.memo.group === group && !wanted.has(e.scheduleId))
      plan.push({ action: 'remove', scheduleId: e.scheduleId, describe: `no longer in group ${group}` });
  }
  return plan;
}

export async function applySchedules(client: Client, policies: ScheduledPolicy[], group: string): Promise<PlanItem[]> {
  const plan = await planSchedules(client, policies, group);
  for (const item of plan) {
    const policy = policies.find((p) => scheduleIdFor(p) === item.scheduleId);
    if (item.action === 'create' && policy) await client.schedule.create(scheduleOptions(policy, group));
    if (item.action === 'update' && policy)
      await client.schedule.getHandle(item.scheduleId).update((previous) => ({ ...previous, ...scheduleBody(policy) }));
    if (policy) await attachToEnvironments(client, policy, item.scheduleId);
    if (item.action === 'remove') {
      const removed = (await scheduledPolicy(client, item.scheduleId))?.policy;
      if (removed) await detachFromEnvironments(client, removed);
      await client.schedule
        .getHandle(item.scheduleId)
        .delete()
        .catch((err: unknown) => {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        });
    }
  }
  return plan;
}

/**
 * Each environment a policy's targets live in lists the policy and its schedule in its inventory
 * (`opsflow env show`), so destroy can say what it keeps. Signal-with-start: an environment not
 * provisioned yet gets its entity now.
 */
async function attachToEnvironments(client: Client, policy: ScheduledPolicy, scheduleId: string): Promise<void> {
  const attachedAt = new Date().toISOString();
  for (const environment of environmentsOf(policy)) {
    const targets = isClusterPolicy(policy)
      ? [`${policy.cluster} (cluster: ${policy.resources.namespaces.join(', ')})`]
      : policy.targets
          .filter((t) => ('environment' in t ? t.environment : t.in?.environment) === environment)
          .map((t) => `${t.name} (${t.kind})`);
    const attach: AttachedBackups[] = [{ policy: policy.name, scheduleId, targets, attachedAt }];
    await signalEnvironment(client, environment, { attach });
  }
}

async function detachFromEnvironments(client: Client, policy: ScheduledPolicy): Promise<void> {
  for (const environment of environmentsOf(policy)) await signalEnvironment(client, environment, { detachPolicies: [policy.name] });
}

async function signalEnvironment(
  client: Client,
  environment: string,
  change: { attach?: AttachedBackups[]; detachPolicies?: string[] },
): Promise<void> {
  await client.workflow.signalWithStart('environmentEntity', {
    workflowId: environmentWorkflowId(environment),
    taskQueue: TASK_QUEUE,
    args: [{ environment }],
    signal: 'backups',
    signalArgs: [change],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `environment ${environment}: inventory and the claim of its operations`,
  });
}

/** The schedules whose database policies have targets in `environment` (asked of each schedule); what `opsflow restore` restores from. */
export async function schedulesOfEnvironment(client: Client, environment: string): Promise<{ scheduleId: string; policy: BackupPolicy }[]> {
  const found: { scheduleId: string; policy: BackupPolicy }[] = [];
  for (const { scheduleId } of await managedSchedules(client)) {
    const policy = (await scheduledPolicy(client, scheduleId))?.policy;
    if (policy && !isClusterPolicy(policy) && policyEnvironments(policy).includes(environment)) found.push({ scheduleId, policy });
  }
  return found;
}

export interface ScheduleListing {
  scheduleId: string;
  group: string;
  spec: string;
  paused: boolean;
  nextRun?: Date;
  lastRun?: { workflowId: string; startedAt: Date; status: string };
}

export async function listSchedules(client: Client): Promise<ScheduleListing[]> {
  const listings: ScheduleListing[] = [];
  for (const { scheduleId, memo } of await managedSchedules(client)) {
    // The list may still show a schedule deleted a moment ago: skip it.
    const description = await client.schedule
      .getHandle(scheduleId)
      .describe()
      .catch((err: unknown) => {
        if (err instanceof ScheduleNotFoundError) return undefined;
        throw err;
      });
    if (!description) continue;
    const last = description.info.recentActions.at(-1);
    let lastRun: ScheduleListing['lastRun'];
    if (last) {
      const workflowId = last.action.workflow.workflowId;
      const status = await client.workflow
        .getHandle(workflowId, last.action.workflow.firstExecutionRunId)
        .describe()
        .then(
          (d) => d.status.name,
          () => 'UNKNOWN',
        );
      lastRun = { workflowId, startedAt: last.takenAt, status };
    }
    const policy = description.action.args?.[0] as { policy?: ScheduledPolicy } | undefined;
    listings.push({
      scheduleId,
      group: memo.group,
      spec: policy?.policy ? when(policy.policy) : '',
      paused: description.state.paused,
      nextRun: description.info.nextActionTimes[0],
      lastRun,
    });
  }
  return listings;
}
