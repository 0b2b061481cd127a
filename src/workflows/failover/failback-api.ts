// failbackSite's public face: the `status` query (the saga's steps plus the failback's own record:
// the failover it undoes, the rebuilt replica's catch-up as measured, the approval, fence,
// promotion, traffic steps, RTO and RPO) and the result. The `approve` update is failoverSite's.
import { defineQuery } from '@temporalio/workflow';
import type { OperationStatus } from '../shared/status';
import type { FailbackAppsView } from './failback-apps';
import type { RemovedScaleView } from './failback-scale';
import type { ApprovalRecord, FailoverRpo, FailoverRto, RedisSwitchView } from './failover-api';

export interface CatchUpMeasure {
  /** Workflow time of the measurement (ISO). */
  at: string;
  /** Transactions of the primary the rebuilt replica has not applied; null when unknown. */
  behindTransactions: number | null;
  /** The replica's own estimate (Seconds_Behind_Master); null while not applying. */
  secondsBehind: number | null;
  ioRunning: string | null;
  lastIoError?: string;
  /** Bytes of the Redis primary's stream the rebuilt Redis replica has not processed; absent without Redis. */
  redisBehindBytes?: number | null;
  redisLinkUp?: boolean;
}

export interface FailbackView {
  environment: string;
  /** The site that took over in the failover, primary until the switch. */
  from: string;
  /** The recovered site, primary again after the switch. */
  to: string;
  phase:
    'checking' | 'rebuilding' | 'catching up' | 'awaiting approval' | 'switching' | 'verifying' | 'completed' | 'rolled back' | 'failed';
  /** The failover this failback undoes, as the environment's inventory recorded it. */
  failover?: { from: string; to: string; workflowId: string; at: string };
  rebuild?: {
    database: { startedFrom: string };
    redis?: { changed: boolean };
    /** The recovered server held errant transactions and was re-seeded from the primary (`reseed`). */
    reseeded?: { savedTo: string; copied: string[]; dropped: string[]; copiedAt: string };
  };
  catchUp?: { caughtUp: boolean; measurements: number; latest?: CatchUpMeasure; first?: CatchUpMeasure };
  approval?: ApprovalRecord;
  fence?: { finalPosition: string; killedConnections: number };
  promotion?: { promoted: boolean; appliedAtPromotion: string };
  redis?: RedisSwitchView;
  /** Each split set on the way back, in order. */
  traffic?: { steps: { split: Record<string, number>; sample?: Record<string, number> }[]; previous: Record<string, number> };
  rto?: FailoverRto;
  rpo?: FailoverRpo;
  /** The stack's app servers re-pointed and database firewall written back (input apps, databaseFirewalls). */
  apps?: FailbackAppsView;
  /** The failover's scale servers, removed after traffic moved back. */
  scaleRemoved?: RemovedScaleView;
  attention?: string;
}

export interface FailbackResult {
  environment: string;
  from: string;
  to: string;
  failover: NonNullable<FailbackView['failover']>;
  approval: ApprovalRecord;
  catchUp: NonNullable<FailbackView['catchUp']>;
  rto: FailoverRto;
  rpo: FailoverRpo;
  traffic: NonNullable<FailbackView['traffic']>;
  newPrimary: { server: string; appliedAtPromotion: string; verifiedWrite: string };
  redis?: RedisSwitchView;
  apps?: FailbackAppsView;
  scaleRemoved?: RemovedScaleView;
  /** Set when something after the switch needs a human (scale servers left behind). */
  attention?: string;
}

export type FailbackStatus = OperationStatus & { failback: FailbackView };

export const failbackStatusQuery = defineQuery<FailbackStatus>('status');
