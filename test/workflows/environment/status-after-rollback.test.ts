// Issue 13 item 5 on the real dev server and local cloud: a provision whose bootstrap fails rolls
// back, and the `status` query after the end says the final state, the reason, the failed step and
// what was undone; every resource it lists is marked undone, and the cloud holds none of them.
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { provisionWorkflowId } from '../../../src/names/workflow-ids';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { leftovers, localCloudControl, startProvisionHarness, type ProvisionHarness } from '../../helpers/provision-harness';
import { uniqueTaskQueue } from '../../helpers/temporal';

jest.setTimeout(5 * 60_000);

let harness: ProvisionHarness;
beforeAll(async () => {
  harness = await startProvisionHarness();
});
afterAll(async () => {
  await harness?.stop();
});

test('after a rollback the status query says rolled back, why, and what was undone', async () => {
  const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));
  const spec: EnvironmentSpec = { ...structuredClone(stackA), name: 'status-rb', vpc: { ipRange: '10.61.0.0/16' } };
  spec.bootstrap.commands = [['false']]; // the fault: bootstrap exits 1 on the droplet
  const taskQueue = uniqueTaskQueue('status-after-rollback');
  await harness.workers.withWorkflowWorker(taskQueue, async () => {
    const handle = await harness.env.client.workflow.start('provisionEnvironment', {
      taskQueue,
      workflowId: provisionWorkflowId(spec.name),
      args: [{ spec }],
    });
    const err = await handle.result().then(
      () => new Error('provisioned although bootstrap fails'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as Error & { type?: string };
    expect(failure.type).toBe('RolledBack');

    const status = await handle.query<OperationStatus>('status');
    const outcome = status.outcome!;
    expect(status.step).toBe('rolled back');
    expect(outcome.state).toBe('rolled back');
    expect(outcome.reason).toMatch(/\S/);
    // The failure's message is the same reason plus the count (no describeRollback in provision).
    expect(failure.message).toBe(`${outcome.reason}; rolled back ${outcome.undone.length} step(s)`);
    expect(outcome.notUndone).toEqual([]);
    expect(outcome.undone).toEqual(expect.arrayContaining(['delete droplets', 'delete firewall', 'delete VPC', 'release reserved IP']));
    expect(status.failedSteps).toEqual([`bootstrap: ${outcome.reason}`]);
    expect(status.completedSteps).not.toContain('bootstrap');
    expect(status.resources.map((r) => r.kind).sort()).toEqual(['droplet', 'firewall', 'reserved_ip', 'volume', 'vpc']);
    expect(status.resources.filter((r) => !r.undone)).toEqual([]);
    expect(leftovers(await localCloudControl(harness.cloud, 'GET', 'inventory'), spec.name)).toEqual([]);
  });
});
