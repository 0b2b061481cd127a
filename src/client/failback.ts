// `opsflow failback`: failbackSite's input read from a file and checked with the workflow's own
// parser, the run found again by its environment, and its status, progress and result for the
// terminal. Nothing here reads a secret: the input holds references only.
import type { Client } from '@temporalio/client';
import { failbackWorkflowId } from '../names/workflow-ids';
import { parseFailbackSiteInput, type FailbackSite } from '../specs/failback';
import type { FailbackResult, FailbackStatus, FailbackView } from '../workflows/failover/failback-api';
import { describeMeasure } from '../workflows/failover/failback-site';
import type { OperationStatus } from '../workflows/shared/status';
import type { ProgressLine } from './progress';
import { describeWeights, findSiteOperation, seconds } from './site-operations';

export function failbackInputFor(environment: string, file: string, spec: FailbackSite, by: string): FailbackSite {
  if (spec.environment !== environment)
    throw new Error(`${file}: environment is ${spec.environment}, not ${environment}: a failback input is for one environment`);
  return parseFailbackSiteInput({ ...spec, requestedBy: spec.requestedBy ?? by });
}

/** The environment's failback: the one holding its claim now, else the last one it recorded. */
export const findFailback = (client: Client, environment: string) => findSiteOperation(client, environment, 'failback');

const split = describeWeights;

export function failbackFacts(view: FailbackView, environment: string): ProgressLine[] {
  const facts: ProgressLine[] = [];
  if (view.failover)
    facts.push({
      key: 'failover',
      text: `undoing the failover ${view.failover.from} -> ${view.failover.to} (${view.failover.workflowId}, approved ${view.failover.at})`,
    });
  if (view.rebuild)
    facts.push({
      key: 'rebuild',
      text: `${view.to}'s database replicates ${view.from}'s from ${view.rebuild.database.startedFrom || 'the start'}${view.rebuild.redis ? `; its Redis follows ${view.from}'s${view.rebuild.redis.changed ? '' : ' (already did)'}` : ''}`,
    });
  if (view.catchUp?.latest)
    facts.push({
      key: `catch-up ${view.catchUp.measurements}`,
      text: `catch-up #${view.catchUp.measurements}: ${describeMeasure(view.catchUp.latest)}${view.catchUp.caughtUp ? ': caught up' : ''}`,
    });
  if (view.phase === 'awaiting approval' && !view.approval)
    facts.push({ key: 'waiting', text: `waiting for approval: opsflow approve ${environment} [--note text]` });
  if (view.approval)
    facts.push({
      key: 'approval',
      text: `approved by ${view.approval.by} at ${view.approval.at}${view.approval.note ? ` (${view.approval.note})` : ''}`,
    });
  if (view.fence)
    facts.push({
      key: 'fence',
      text: `fenced ${view.from}'s primary: read-only at ${view.fence.finalPosition}, ${view.fence.killedConnections} connection(s) killed`,
    });
  if (view.promotion)
    facts.push({ key: 'promotion', text: `promoted ${view.to}'s database (applied ${view.promotion.appliedAtPromotion || 'nothing'})` });
  if (view.redis?.promotion)
    facts.push({ key: 'redis', text: `promoted ${view.to}'s Redis (offset ${view.redis.promotion.offsetAtPromotion})` });
  for (const [i, step] of (view.traffic?.steps ?? []).entries())
    facts.push({
      key: `traffic ${i}${step.sample ? ' sampled' : ''}`,
      text: `traffic ${split(step.split)}${
        step.sample
          ? `: ${Object.entries(step.sample)
              .map(([s, n]) => `${n} ${s}`)
              .join(', ')}`
          : ''
      }`,
    });
  if (view.rto)
    facts.push({
      key: 'rto',
      text: `RTO ${seconds(view.rto.fromApprovalMs)} from approval, ${seconds(view.rto.fromStartMs)} from the start`,
    });
  if (view.rpo)
    facts.push({
      key: 'rpo',
      text: `RPO ${view.rpo.lostTransactions ?? 'unknown'} transaction(s) lost${view.rpo.redisLostBytes !== undefined ? `, Redis ${view.rpo.redisLostBytes ?? 'unknown'} byte(s)` : ''}`,
    });
  if (view.attention) facts.push({ key: 'attention', text: `ATTENTION: ${view.attention}` });
  return facts;
}

export function formatFailbackView(view: FailbackView, environment: string): string {
  return [`  failback: ${view.from} -> ${view.to}, ${view.phase}`, ...failbackFacts(view, environment).map((f) => `  ${f.text}`)].join(
    '\n',
  );
}

export function failbackProgressLines(environment: string): (status: OperationStatus) => ProgressLine[] {
  return (status) => {
    const view = (status as Partial<FailbackStatus>).failback;
    return view ? failbackFacts(view, environment).map((f) => ({ key: f.key, text: `    · ${f.text}\n` })) : [];
  };
}

export function formatFailbackResult(result: FailbackResult): string {
  const last = result.traffic.steps.at(-1);
  return [
    `Failed back ${result.environment}: ${result.from} -> ${result.to}, approved by ${result.approval.by} at ${result.approval.at}`,
    `  primary: ${result.newPrimary.server} (applied ${result.newPrimary.appliedAtPromotion || 'nothing'}; write verified: ${result.newPrimary.verifiedWrite})`,
    `  catch-up: ${result.catchUp.measurements} measurement(s)${result.catchUp.first ? `, first ${describeMeasure(result.catchUp.first)}` : ''}`,
    `  traffic: ${result.traffic.steps.map((s) => split(s.split)).join(' -> ')} (was ${split(result.traffic.previous)})${
      last?.sample
        ? `; last sample ${Object.entries(last.sample)
            .map(([s, n]) => `${n} ${s}`)
            .join(', ')}`
        : ''
    }`,
    `  RTO: ${seconds(result.rto.fromApprovalMs)} from approval to traffic verified, ${seconds(result.rto.fromStartMs)} from the start`,
    `  RPO: ${result.rpo.lostTransactions ?? 'unknown'} transaction(s) lost${result.rpo.redisLostBytes !== undefined ? `, Redis ${result.rpo.redisLostBytes ?? 'unknown'} byte(s) lost` : ''}`,
  ].join('\n');
}

export function failbackDetachedText(environment: string, spec: FailbackSite, by: string): string {
  const id = failbackWorkflowId(environment, spec.to);
  return [
    `Failing back ${environment}: ${spec.from} -> ${spec.to}: workflow ${id}`,
    `  opsflow failback status ${environment}`,
    `  opsflow approve ${environment} [--note text]`,
    `  temporal workflow query --workflow-id ${id} --type status`,
    `  temporal workflow update execute --workflow-id ${id} --name approve --input '${JSON.stringify({ by })}'`,
  ].join('\n');
}
