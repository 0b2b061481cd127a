// failoverSite's public face: the `approve` update a human sends, the `status` query (the saga's
// steps plus the failover's own record: assessment, approval, fence, promotion, traffic, RTO and
// RPO) and the result. Shared by the workflow, clients and tests.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { OperationStatus } from '../shared/status';
import type { SiteAssessment } from './assessment';
import type { CutAppsView } from './cut-failed-apps';
import type { ScaleSurvivorView } from './scale-survivor';

export interface ApproveArgs {
  /** Who approves (a person or service name); recorded in the status, result and history. */
  by: string;
  note?: string;
}
export interface ApprovalRecord {
  by: string;
  note?: string;
  /** When the update was accepted (workflow time, ISO). */
  at: string;
}

export interface FailoverRpo {
  /** Transactions of the old primary the new one never applied; null when the old primary's last position is unknown. */
  lostTransactions: number | null;
  /** Received by the survivor but never applied (a broken SQL thread). */
  unappliedTransactions: number;
  /** The survivor's own lag estimate when last replicating; null when unknown. */
  secondsBehind: number | null;
  /** Set when the RPO budget was exceeded on purpose. */
  forcedReason?: string;
  /** Bytes of the old Redis primary's replication stream the promoted replica lacked; null when unknown (absent without Redis). */
  redisLostBytes?: number | null;
}

/** The stack's Redis in a switchover: the old primary fenced (or unreachable), the replica promoted, the old one following it. */
export interface RedisSwitchView {
  fence?: { state: 'fenced'; finalOffset: number; killedClients: number } | { state: 'unreachable'; error: string };
  promotion?: { promoted: boolean; offsetAtPromotion: number };
  oldFollowsNew?: boolean;
}

export interface FailoverRto {
  /** From the run's start to traffic verified on the survivor. */
  fromStartMs: number;
  /** From the approval to traffic verified on the survivor. */
  fromApprovalMs: number;
}

export interface FailoverView {
  environment: string;
  from: string;
  to: string;
  phase: 'assessing' | 'awaiting approval' | 'switching' | 'verifying' | 'completed' | 'rolled back' | 'failed';
  /**
   * The failed site as each observer saw it and the majority's verdict (runs started before the
   * assessment have none), then the survivor's check.
   */
  assessment?: Partial<SiteAssessment> & {
    survivorPoolHealthy?: boolean;
    survivorRole?: string;
    survivorBehindTransactions?: number | null;
  };
  approval?: ApprovalRecord;
  /** When the input's approval policy approves the run itself if no one has (workflow time, ISO). */
  autoApproveAt?: string;
  /** No one approved within the policy's escalateAfter: when, and the notice (sent to which host, or why not). */
  escalation?: { at: string; waited: string; notice?: string };
  fence?: { state: 'fenced'; finalPosition: string; killedConnections: number } | { state: 'unreachable'; error: string };
  promotion?: { promoted: boolean; appliedAtPromotion: string };
  traffic?: { split: Record<string, number>; previous: Record<string, number>; changed: boolean; sample?: Record<string, number> };
  rto?: FailoverRto;
  rpo?: FailoverRpo;
  /** Present when the input names each site's Redis. */
  redis?: RedisSwitchView;
  /** A state a human must act on (a compensation refused, a check after the switch failed). */
  attention?: string;
  /** The watcher left to fence the old primary (or Redis) when it comes back, when the fence found it unreachable. */
  fenceWatch?: { workflowId: string; runId?: string; refused?: string };
  /** The survivor's extra app servers and their origins, when the input asks (scaleSurvivor). */
  scale?: ScaleSurvivorView;
  /** The failed site's app servers taken out of the survivor's database firewall (input databaseFirewalls). */
  appsCut?: CutAppsView;
}

export interface FailoverResult {
  environment: string;
  from: string;
  to: string;
  approval: ApprovalRecord;
  /** Each observer's view of the failed site and the verdict (absent in runs started before the assessment). */
  assessment?: SiteAssessment;
  rto: FailoverRto;
  rpo: FailoverRpo;
  fence: NonNullable<FailoverView['fence']>;
  traffic: NonNullable<FailoverView['traffic']>;
  newPrimary: { server: string; appliedAtPromotion: string; verifiedWrite: string };
  redis?: RedisSwitchView;
  fenceWatch?: FailoverView['fenceWatch'];
  scale?: ScaleSurvivorView;
  appsCut?: CutAppsView;
}

export type FailoverStatus = OperationStatus & { failover: FailoverView };

export const approveUpdate = defineUpdate<ApprovalRecord, [ApproveArgs]>('approve');
export const failoverStatusQuery = defineQuery<FailoverStatus>('status');
