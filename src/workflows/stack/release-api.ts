// What releaseStack takes and answers, and its `status` query: the same release first to staging,
// then, once a human approves (the `approve` Update), to each production site, each site with its
// own health gate and its own rollback.
import { defineQuery } from '@temporalio/workflow';
import type { DeployReleaseInput } from '../../specs/deploy-release';
import type { OperationStatus } from '../shared/status';
import type { ApprovalRecord } from '../failover/failover-api';

export interface ReleaseStackInput {
  stack: string;
  /** deployRelease's input for each staging environment (as `opsflow deploy` builds it from the inventory). */
  staging: DeployReleaseInput[];
  /** deployRelease's input for each production site's app servers. */
  production: { site: string; release: DeployReleaseInput }[];
  /** With it, no answer by then approves in the policy's name (as `policy:autoApproveAfter`); without, the run waits for a human. */
  autoApproveAfter?: string;
  requestedBy?: string;
}

export interface SiteReleaseOutcome {
  site: string;
  environment: string;
  outcome: 'released' | 'rolled back';
  /** Why a site was rolled back (its health gate, its analysis). */
  reason?: string;
}

export interface ReleaseStackView {
  stack: string;
  phase: 'staging' | 'waiting for approval' | 'production' | 'released' | 'staging failed' | 'production partly rolled back';
  staging: string[];
  approval?: ApprovalRecord;
  autoApproveAt?: string;
  sites: SiteReleaseOutcome[];
}

export interface ReleaseStackResult {
  stack: string;
  images: Record<string, string>;
  staging: string[];
  approval: ApprovalRecord;
  sites: SiteReleaseOutcome[];
}

export type ReleaseStackStatus = OperationStatus & { release: ReleaseStackView };
export const releaseStackStatusQuery = defineQuery<ReleaseStackStatus>('status');
