// One workflow, two providers: cloudProvider() sends a run's cloud steps to the queue of the
// provider it names (opsflow-linode for linode), on a real Temporal server. Each queue's worker
// answers with its own provider's name, so a run that reached the wrong queue cannot pass.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { EnvironmentResources, ProviderId } from '../../../src/providers/cloud-provider';
import { providerTaskQueue } from '../../../src/temporal/task-queues';
import { startTemporal, uniqueTaskQueue } from '../../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startTemporal();
});
afterAll(async () => {
  await env?.teardown();
});

const answering = (provider: ProviderId) => ({
  async listEnvironmentResources(input: { environment: string }): Promise<EnvironmentResources> {
    return { tag: `${provider}:${input.environment}`, servers: [], volumes: [], firewalls: [], networks: [], floatingIps: [] };
  },
});

test('a run naming linode calls opsflow-linode, one naming digitalocean calls opsflow-digitalocean, with the same workflow', async () => {
  const taskQueue = uniqueTaskQueue('routing');
  const workflows = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../fixtures/provider-routing-workflow'),
  });
  const providers = await Promise.all(
    (['digitalocean', 'linode'] as const).map((p) =>
      Worker.create({ connection: env.nativeConnection, taskQueue: providerTaskQueue(p), activities: answering(p) }),
    ),
  );
  const tags = await workflows.runUntil(async () => {
    const runs = Promise.all(
      (['linode', 'digitalocean'] as const).map(
        async (p) =>
          (await env.client.workflow.execute('resourcesThroughProvider', {
            taskQueue,
            workflowId: `routing-${p}`,
            args: [p],
          })) as EnvironmentResources,
      ),
    );
    const providerRuns = providers.map((w) => w.run());
    try {
      return (await runs).map((r) => r.tag);
    } finally {
      providers.forEach((w) => w.shutdown());
      await Promise.all(providerRuns);
    }
  });
  expect(tags).toEqual(['linode:stack-e', 'digitalocean:stack-e']);
  // And the history says where each step went.
  const scheduled = (await env.client.workflow.getHandle('routing-linode').fetchHistory()).events?.find(
    (e) => e.activityTaskScheduledEventAttributes,
  )?.activityTaskScheduledEventAttributes;
  expect([scheduled?.activityType?.name, scheduled?.taskQueue?.name]).toEqual(['listEnvironmentResources', 'opsflow-linode']);
});
