// `opsflow failover` and `opsflow approve`: failoverSite's input read from a file and checked with
// the workflow's own parser, the run found again by its environment (the claim it holds, or the
// last one in its operations log), the `approve` update signed with who sends it (a refusal shown
// in the validator's words), and a failover's status, progress and result for the terminal.
// Nothing here reads a secret: the input holds references only, and they are printed nowhere.
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { failoverWorkflowId } from '../names/workflow-ids';
import { parseFailoverSiteInput, type FailoverSite } from '../specs/failover';
import type { ApprovalRecord, ApproveArgs, FailoverResult, FailoverStatus, FailoverView } from '../workflows/failover/failover-api';
import type { OperationStatus } from '../workflows/shared/status';
import { findFailback } from './failback';
import type { ProgressLine } from './progress';
import { describeWeights, findSiteOperation, seconds } from './site-operations';

/** The input as the run gets it: the file's, for this environment, `--planned` making it a planned switchover. */
export function failoverInputFor(environment: string, file: string, spec: FailoverSite, planned: boolean, by: string): FailoverSite {
  if (spec.environment !== environment)
    throw new Error(`${file}: environment is ${spec.environment}, not ${environment}: a failover input is for one environment`);
  return parseFailoverSiteInput({ ...spec, mode: planned ? 'planned' : spec.mode, requestedBy: spec.requestedBy ?? by });
}

/** The environment's failover: the one holding its claim now, else the last one it recorded. */
export const findFailover = (client: Client, environment: string) => findSiteOperation(client, environment, 'failover');

/** The run refused the approval (its validator said why); nothing reached its history. */
export class ApproveRefused extends Error {
  constructor(
    readonly workflowId: string,
    readonly refusal: string,
  ) {
    super(`approve refused by ${workflowId}: ${refusal}`);
    this.name = 'ApproveRefused';
  }
}

const nothingRunning = (environment: string, last?: { workflowId: string; outcome?: string }) =>
  `no failover of ${environment} is running${last ? ` (the last, ${last.workflowId}, ${last.outcome ?? 'ended'})` : ''}; start one with \`opsflow failover ${environment} --input <file>\``;

/** A staged release of the stack (releaseStack) still running, found by its search attributes; the newest first. */
async function findRunningRelease(client: Client, stack: string): Promise<string | undefined> {
  const query = `WorkflowType = 'releaseStack' AND OpsEnvironment = '${stack}' AND ExecutionStatus = 'Running'`;
  let newest: { workflowId: string; startTime: Date } | undefined;
  for await (const run of client.workflow.list({ query }))
    if (!newest || run.startTime > newest.startTime) newest = { workflowId: run.workflowId, startTime: run.startTime };
  return newest?.workflowId;
}

/** Sends `approve` to the environment's running failback, failover or (for a stack) staged release; returns what was accepted, in one line. */
export async function approveFailover(client: Client, environment: string, args: ApproveArgs): Promise<string> {
  const failback = await findFailback(client, environment);
  const found = failback?.running ? failback : await findFailover(client, environment);
  const release = found?.running ? undefined : await findRunningRelease(client, environment);
  if (!found?.running && !release)
    throw new Error(`nothing to approve: ${nothingRunning(environment, found)} (no staged release of ${environment} is running either)`);
  const workflowId = release ?? found!.workflowId;
  try {
    const approval = await client.workflow.getHandle(workflowId).executeUpdate<ApprovalRecord, [ApproveArgs]>('approve', { args: [args] });
    const follow = release ? `opsflow status ${release}` : `opsflow ${failback?.running ? 'failback' : 'failover'} status ${environment}`;
    return `approved by ${approval.by} at ${approval.at}${approval.note ? ` (${approval.note})` : ''}: ${workflowId} goes on; follow it with \`${follow}\``;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new ApproveRefused(workflowId, err.cause?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError) throw new Error(`nothing to approve: ${workflowId} is not running (${err.message})`);
    throw err;
  }
}

const split = describeWeights;

/** Each fact of a failover so far, keyed so live progress prints each once. */
export function failoverFacts(view: FailoverView, environment: string): ProgressLine[] {
  const facts: ProgressLine[] = [];
  const a = view.assessment;
  if (a?.observers) {
    for (const o of a.observers)
      facts.push({ key: `observer ${o.observer}`, text: `${o.observer} sees ${a.site ?? view.from} ${o.verdict}: ${o.saw}` });
    facts.push({
      key: 'verdict',
      text: `assessment (${a.mode}): ${a.down} of ${a.observers.length} observers see ${view.from} down, ${a.needed} needed${a.declaredDown ? ': declared down' : a.mode === 'planned' ? ' (planned: not needed)' : ': not declared down'}`,
    });
  }
  if (a?.survivorRole !== undefined)
    facts.push({
      key: 'survivor',
      text: `survivor ${view.to}: pool ${a.survivorPoolHealthy ? 'healthy' : 'not healthy'} at Cloudflare, database ${a.survivorRole}${a.survivorBehindTransactions != null ? `, ${a.survivorBehindTransactions} transaction(s) behind` : ''}`,
    });
  if (view.phase === 'awaiting approval' && !view.approval)
    facts.push({
      key: 'waiting',
      text: `waiting for approval: opsflow approve ${environment} [--note text]${view.autoApproveAt ? ` (the policy approves at ${view.autoApproveAt})` : ''}`,
    });
  if (view.escalation)
    facts.push({
      key: `escalation${view.escalation.notice ? ' sent' : ''}`,
      text: `escalated: no one approved within ${view.escalation.waited}; ${view.escalation.notice ?? 'sending the notice'}`,
    });
  if (view.approval)
    facts.push({
      key: 'approval',
      text: `approved by ${view.approval.by} at ${view.approval.at}${view.approval.note ? ` (${view.approval.note})` : ''}`,
    });
  if (view.fence)
    facts.push({
      key: 'fence',
      text:
        view.fence.state === 'fenced'
          ? `fenced ${view.from}'s primary: read-only at ${view.fence.finalPosition}, ${view.fence.killedConnections} connection(s) killed`
          : `${view.from}'s primary unreachable, not fenced (${view.fence.error}); its traffic is cut at Cloudflare`,
    });
  if (view.promotion)
    facts.push({ key: 'promotion', text: `promoted ${view.to}'s replica (applied ${view.promotion.appliedAtPromotion || 'nothing'})` });
  if (view.traffic)
    facts.push({
      key: 'traffic',
      text: `traffic ${split(view.traffic.split)} (was ${split(view.traffic.previous)}${view.traffic.changed ? '' : ', already so'})`,
    });
  if (view.traffic?.sample)
    facts.push({
      key: 'sample',
      text: `sample through the edge: ${Object.entries(view.traffic.sample)
        .map(([site, n]) => `${n} ${site}`)
        .join(', ')}`,
    });
  if (view.rto)
    facts.push({
      key: 'rto',
      text: `RTO ${seconds(view.rto.fromApprovalMs)} from approval, ${seconds(view.rto.fromStartMs)} from the start`,
    });
  if (view.rpo) facts.push({ key: 'rpo', text: `RPO ${describeRpo(view.rpo)}` });
  if (view.attention) facts.push({ key: 'attention', text: `ATTENTION: ${view.attention}` });
  return facts;
}

function describeRpo(rpo: NonNullable<FailoverView['rpo']>): string {
  return [
    `${rpo.lostTransactions ?? 'unknown'} transaction(s) lost`,
    `${rpo.unappliedTransactions} received but unapplied`,
    `${rpo.secondsBehind ?? 'unknown'} s behind when last replicating`,
    ...(rpo.forcedReason ? [`forced: ${rpo.forcedReason}`] : []),
  ].join(', ');
}

/** `opsflow failover status`: the failover's own record under the run's steps. */
export function formatFailoverView(view: FailoverView, environment: string): string {
  return [`  failover: ${view.from} -> ${view.to}, ${view.phase}`, ...failoverFacts(view, environment).map((f) => `  ${f.text}`)].join(
    '\n',
  );
}

/** Live progress lines of `opsflow failover <env>`, after the steps. */
export function failoverProgressLines(environment: string): (status: OperationStatus) => ProgressLine[] {
  return (status) => {
    const view = (status as Partial<FailoverStatus>).failover;
    return view ? failoverFacts(view, environment).map((f) => ({ key: f.key, text: `    · ${f.text}\n` })) : [];
  };
}

export function formatFailoverResult(result: FailoverResult): string {
  const sample = result.traffic.sample;
  return [
    `Failed over ${result.environment}: ${result.from} -> ${result.to}, approved by ${result.approval.by} at ${result.approval.at}`,
    `  new primary: ${result.newPrimary.server} (applied ${result.newPrimary.appliedAtPromotion || 'nothing'}; write verified: ${result.newPrimary.verifiedWrite})`,
    `  traffic: ${split(result.traffic.split)} (was ${split(result.traffic.previous)})${sample ? `; ${sample[result.to] ?? 0} of ${Object.values(sample).reduce((n, v) => n + v, 0)} requests on ${result.to}` : ''}`,
    `  RTO: ${seconds(result.rto.fromApprovalMs)} from approval to traffic verified, ${seconds(result.rto.fromStartMs)} from the start`,
    `  RPO: ${describeRpo(result.rpo)}`,
  ].join('\n');
}

/** What `--detach` prints: the id, and the same run through Temporal's own CLI. */
export function detachedText(environment: string, spec: FailoverSite, by: string): string {
  const id = failoverWorkflowId(environment, spec.from);
  return [
    `Failing over ${environment} (${spec.mode}): ${spec.from} -> ${spec.to}: workflow ${id}`,
    `  opsflow failover status ${environment}`,
    `  opsflow approve ${environment} [--note text]`,
    `  temporal workflow query --workflow-id ${id} --type status`,
    `  temporal workflow update execute --workflow-id ${id} --name approve --input '${JSON.stringify({ by })}'`,
    `  temporal workflow result --workflow-id ${id}`,
  ].join('\n');
}

export { nothingRunning };
