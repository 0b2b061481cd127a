// What failoverSite and failbackSite do alike around their switch: how a rollback is reported
// (the status's steps, the phase, what a human must look at), the requests counted through the
// edge after traffic moved, a split in words, and RTO/RPO written as search attributes once
// traffic is verified.
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { OpsRpoTransactions, OpsRtoSeconds } from '../../temporal/search-attributes';
import type { SagaOptions } from '../shared/saga';
import { describeError } from '../shared/saga';
import type { StatusTracker } from '../shared/status';
import type { summarizedActivities } from '../shared/summarized-activities';
import type { FailoverRpo, FailoverRto } from './failover-api';

type Acts = ReturnType<typeof summarizedActivities<Activities>>;

/** The saga's rollback in the status and the run's own view (whose phase becomes 'rolled back'). */
export function rollbackReporting(status: StatusTracker, view: { phase: string; attention?: string }): SagaOptions {
  return {
    onRollback: () => status.finish('rolling back'),
    onRolledBack: (report, err) => {
      status.rolledBack(report, describeError(err));
      view.phase = 'rolled back';
      if (report.failed.length) view.attention = report.failed.map((f) => `${f.name}: ${f.error}`).join('; ');
    },
  };
}

export interface VerifyThroughEdge {
  url: string;
  host?: string;
  requests: number;
  siteHeader: string;
}

/** `requests` through the edge: how many each site answered, and the failures by kind (as `failed: <kind>`). */
export async function sampleThroughEdge(
  act: Acts,
  verify: VerifyThroughEdge,
): Promise<{ bySite: Record<string, number>; failed: number; seen: Record<string, number> }> {
  const sample = await act.sampleTraffic({
    url: verify.url,
    ...(verify.host ? { host: verify.host } : {}),
    requests: verify.requests,
    siteHeader: verify.siteHeader,
  });
  return {
    bySite: sample.bySite,
    failed: Object.values(sample.failed).reduce((n, v) => n + v, 0),
    seen: { ...sample.bySite, ...Object.fromEntries(Object.entries(sample.failed).map(([k, n]) => [`failed: ${k}`, n])) },
  };
}

export const describeSplit = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([site, p]) => `${site} ${p}%`)
    .join(' / ');

/** Runs from this patch on record RTO and RPO as search attributes (an upsert is a command); older runs replay without. */
export const RTO_RPO_SEARCH_ATTRIBUTES_PATCH = 'rto-rpo-search-attributes';

/**
 * `OpsRtoSeconds` (approval to traffic verified, whole seconds rounded up) and, when known,
 * `OpsRpoTransactions`, so `temporal workflow list --query 'OpsRtoSeconds < 60'` finds the run.
 */
export function recordRtoRpo(rto: FailoverRto, rpo: FailoverRpo | undefined): void {
  if (!patched(RTO_RPO_SEARCH_ATTRIBUTES_PATCH)) return;
  upsertSearchAttributes([
    { key: OpsRtoSeconds, value: Math.ceil(rto.fromApprovalMs / 1000) },
    ...(rpo?.lostTransactions != null ? [{ key: OpsRpoTransactions, value: rpo.lostTransactions }] : []),
  ]);
}
