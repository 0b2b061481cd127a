// provisionSite: one site of a stack, as a child run of provisionStack. Its data servers and app
// servers are two environments provisioned at once (each its own provisionEnvironment child, which
// rolls itself back on failure); when one fails, the one that was made is destroyed, so a failed
// site leaves nothing behind, and the run fails naming the environment and why.
import { CancellationScope, executeChild, workflowInfo } from '@temporalio/workflow';
import { destroyWorkflowId, provisionWorkflowId } from '../../names/workflow-ids';
import type { EnvironmentSpec } from '../../specs/environment';
import { destroyEnvironment } from '../environment/destroy-environment';
import { provisionEnvironment, type ProvisionResult } from '../environment/provision-environment';
import { failure, STEP_FAILURE } from '../shared/failures';
import { describeError } from '../shared/saga';
import { StatusTracker } from '../shared/status';
import { endsInStatus } from '../shared/ends-in-status';

export interface ProvisionSiteInput {
  stack: string;
  site: string;
  app: EnvironmentSpec;
  data: EnvironmentSpec;
}

export interface ProvisionSiteResult {
  site: string;
  app: ProvisionResult;
  data: ProvisionResult;
}

const STEPS = ['provision data and app servers', 'undo the site'];

export async function provisionSite(input: ProvisionSiteInput): Promise<ProvisionSiteResult> {
  const status = new StatusTracker('provisionSite', STEPS);
  return endsInStatus(status, async () => {
    status.step('provision data and app servers');
    const roles = [
      { role: 'data', spec: input.data },
      { role: 'app', spec: input.app },
    ] as const;
    const settled = await Promise.allSettled(
      roles.map(({ role, spec }) =>
        executeChild(provisionEnvironment, {
          workflowId: provisionWorkflowId(spec.name),
          args: [{ spec }],
          staticSummary: `${input.stack} site ${input.site}: the ${role} servers (${spec.name}, ${spec.cloud} ${spec.region})`,
        }),
      ),
    );
    const [data, app] = settled as [PromiseSettledResult<ProvisionResult>, PromiseSettledResult<ProvisionResult>];
    if (data.status === 'fulfilled' && app.status === 'fulfilled') {
      status.finish('done');
      return { site: input.site, data: data.value, app: app.value };
    }
    const failed = roles.flatMap(({ spec }, i) => {
      const outcome = settled[i]!;
      return outcome.status === 'rejected' ? [`${spec.name}: ${describeError(outcome.reason)}`] : [];
    });
    status.step('undo the site');
    // What was made goes, whatever else happens to this run (a cancellation included).
    const destroyed = await CancellationScope.nonCancellable(() =>
      Promise.all(
        roles
          .filter((_, i) => settled[i]!.status === 'fulfilled')
          .map(({ spec }) =>
            executeChild(destroyEnvironment, {
              workflowId: destroyWorkflowId(spec.name, `undo-${workflowInfo().runId.slice(0, 8)}`),
              args: [{ environment: spec.name, cloud: spec.cloud }],
              staticSummary: `undo ${input.stack} site ${input.site}: destroy ${spec.name}`,
            }).then(() => spec.name),
          ),
      ),
    );
    const undone = destroyed.length ? `; ${destroyed.join(', ')} destroyed` : '';
    throw failure(STEP_FAILURE.SiteNotProvisioned, `site ${input.site}: ${failed.join('; ')} (rolled back)${undone}`);
  });
}
