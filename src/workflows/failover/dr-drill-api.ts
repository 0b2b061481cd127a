// drDrill's public face: the `status` query (the drill's two halves, each with its run, approval,
// RTO and RPO, and what a failed half left) and the result. Shared by the workflow, `opsflow dr
// status` and tests.
import { defineQuery } from '@temporalio/workflow';
import type { OperationStatus } from '../shared/status';
import type { ApprovalRecord, FailoverRpo, FailoverRto } from './failover-api';

export type DrillHalfName = 'failover' | 'failback';

export interface DrillHalfView {
  workflowId: string;
  runId: string;
  state: 'running' | 'completed' | 'failed';
  approval?: ApprovalRecord;
  rto?: FailoverRto;
  rpo?: FailoverRpo;
  /** The child's failure, as it ended. */
  failure?: { type?: string; message: string };
}

export interface DrDrillView {
  environment: string;
  from: string;
  to: string;
  /** Who approves each half: the drill itself (drill-policy) or a human. */
  approval: 'drill' | 'human';
  phase: 'failing over' | 'failing back' | 'completed' | 'failed';
  failover?: DrillHalfView;
  failback?: DrillHalfView;
  /** The drill's own approval could not be given: a human must approve the half that waits. */
  approvalProblem?: string;
  /** After a failure: the state the environment was left in, and what a human must do. */
  stateLeft?: string;
}

export interface DrillHalfResult {
  workflowId: string;
  runId: string;
  approval: ApprovalRecord;
  rto: FailoverRto;
  rpo: FailoverRpo;
}

export interface DrDrillResult {
  environment: string;
  from: string;
  to: string;
  failover: DrillHalfResult;
  failback: DrillHalfResult & { split: Record<string, number> };
  /** What the drill's search attributes record: the worse half's RTO from approval and RPO. */
  worst: { rtoFromApprovalMs: number; lostTransactions: number | null };
}

export type DrDrillStatus = OperationStatus & { drill: DrDrillView };

export const drDrillStatusQuery = defineQuery<DrDrillStatus>('status');
