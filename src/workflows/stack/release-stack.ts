// releaseStack: stack E's pipeline as a runbook. The release goes to staging first (each staging
// environment a deployRelease child: health-gated, rolled back on failure); a failed staging ends
// the run with production untouched. Then a human approves (the `approve` Update, who and why
// recorded), and the release goes to every production site at once, each site its own
// deployRelease child with its own health gate and its own rollback: a site that fails is put back
// on the images it ran, the other keeps the new release, and the run fails naming both.
import { condition, executeChild, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import { parseDeployReleaseInput } from '../../specs/deploy-release';
import { durationMs } from '../../specs/rollout';
import { deployRelease, type DeployResult } from '../release/deploy-release';
import { handleApprove } from '../failover/approval';
import { AUTO_APPROVER } from '../failover/approval-policy';
import type { ApprovalRecord } from '../failover/failover-api';
import { failure, REFUSAL, STEP_FAILURE } from '../shared/failures';
import { describeError } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { releaseStackStatusQuery, type ReleaseStackInput, type ReleaseStackResult, type ReleaseStackView } from './release-api';

const STEPS = ['release to staging', 'wait for approval', 'release to production'];

export async function releaseStack(input: ReleaseStackInput): Promise<ReleaseStackResult> {
  const status = new StatusTracker('releaseStack', STEPS);
  const view: ReleaseStackView = { stack: input.stack, phase: 'staging', staging: input.staging.map((s) => s.environment), sites: [] };
  setHandler(releaseStackStatusQuery, () => ({ ...status.snapshot(), release: JSON.parse(JSON.stringify(view)) as ReleaseStackView }));
  let approval: ApprovalRecord | undefined;
  const approveByPolicy = handleApprove(
    () => (view.phase === 'waiting for approval' ? undefined : `the release is at ${view.phase}`),
    (accepted) => {
      approval = accepted;
      view.approval = accepted;
    },
  );
  // Not endsInStatus: the `status` query must keep answering with the release's own view.
  try {
    const images = checked(input);

    status.step('release to staging');
    const staged = await Promise.allSettled(input.staging.map((release) => deployChild(input.stack, 'staging', release)));
    const stagingFailures = staged.flatMap((s, i) =>
      s.status === 'rejected' ? [`${input.staging[i]!.environment}: ${describeError(s.reason)}`] : [],
    );
    if (stagingFailures.length) {
      view.phase = 'staging failed';
      throw failure(STEP_FAILURE.StagingFailed, `staging rolled back, production untouched: ${stagingFailures.join('; ')}`);
    }

    status.step('wait for approval');
    view.phase = 'waiting for approval';
    if (input.autoApproveAfter === undefined) await condition(() => approval !== undefined);
    else {
      const wait = durationMs(input.autoApproveAfter);
      view.autoApproveAt = new Date(Date.now() + wait).toISOString();
      if (!(await condition(() => approval !== undefined, wait)))
        approveByPolicy({ by: AUTO_APPROVER, note: `no one approved within ${input.autoApproveAfter}`, at: new Date().toISOString() });
    }

    status.step('release to production');
    view.phase = 'production';
    const released = await Promise.allSettled(input.production.map(({ site, release }) => deployChild(input.stack, site, release)));
    view.sites = input.production.map(({ site, release }, i) => {
      const outcome = released[i]!;
      return outcome.status === 'fulfilled'
        ? { site, environment: release.environment, outcome: 'released' as const }
        : { site, environment: release.environment, outcome: 'rolled back' as const, reason: describeError(outcome.reason) };
    });
    const rolledBack = view.sites.filter((s) => s.outcome === 'rolled back');
    if (rolledBack.length) {
      view.phase = 'production partly rolled back';
      const words = view.sites.map((s) => (s.outcome === 'released' ? `${s.site} released` : `${s.site} rolled back (${s.reason})`));
      throw failure(STEP_FAILURE.SiteReleaseRolledBack, `${words.join('; ')}`, { details: [view.sites] });
    }
    view.phase = 'released';
    status.finish('done');
    return { stack: input.stack, images, staging: view.staging, approval: approval!, sites: view.sites };
  } catch (err) {
    if (!status.ended) {
      if (isCancellation(err)) status.finish('cancelled');
      else status.failed(describeError(err));
    }
    throw err;
  }
}

/** Every release parsed as deployRelease will parse it, the same images everywhere, each site once. */
function checked(input: ReleaseStackInput): Record<string, string> {
  const problems: string[] = [];
  const all = [
    ...input.staging.map((r, i) => ({ field: `staging.${i}`, r })),
    ...input.production.map((p, i) => ({ field: `production.${i}`, r: p.release })),
  ];
  for (const { field, r } of all) {
    try {
      parseDeployReleaseInput(r);
    } catch (err) {
      problems.push(`${field}: ${describeError(err)}`);
    }
  }
  if (input.staging.length === 0) problems.push('staging: a staged release needs at least one staging environment');
  if (input.production.length === 0) problems.push('production: names no site');
  const sites = input.production.map((p) => p.site);
  if (new Set(sites).size !== sites.length) problems.push(`production: a site is named twice (${sites.join(', ')})`);
  const images = JSON.stringify(input.staging[0]?.images ?? {});
  for (const { field, r } of all)
    if (JSON.stringify(r.images) !== images)
      problems.push(`${field}.images: differ from staging's (${images}): production gets what staging tested`);
  if (input.autoApproveAfter !== undefined && !/^\d{1,9}(ms|s|m|h)$/.test(input.autoApproveAfter))
    problems.push(`autoApproveAfter: ${input.autoApproveAfter} is not a duration such as 30s, 5m or 1h`);
  if (problems.length) throw failure(REFUSAL.InvalidInput, `releaseStack input: ${problems.join('; ')}`);
  return input.staging[0]!.images as Record<string, string>;
}

function deployChild(stack: string, where: string, release: ReleaseStackInput['staging'][number]): Promise<DeployResult> {
  return executeChild(deployRelease, {
    workflowId: `${workflowInfo().workflowId}-${release.environment}`,
    args: [release],
    staticSummary: `${stack} ${where}: release ${Object.entries(release.images)
      .map(([s, i]) => `${s} ${i}`)
      .join(', ')} to ${release.environment}`,
  });
}
