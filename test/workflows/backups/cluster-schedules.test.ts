// Stack D's four backup schedules from examples/backup-stack-d-cluster.yaml on the real Temporal
// server: `schedules apply` creates them (three running backupCluster, one runBackups) with their
// cron and interval, a second apply changes nothing, and stack D's inventory lists the three cluster
// policies (the database policy reaches its servers by connection, so it names no environment).
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { applySchedules, listSchedules } from '../../../src/client/schedules';
import { environmentWorkflowId } from '../../../src/names/workflow-ids';
import { loadBackupPolicies } from '../../../src/specs/load';
import type { Inventory } from '../../../src/workflows/environment/inventory';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import { startTemporal, withWorker } from '../../helpers/temporal';
import { until } from '../../helpers/until';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startTemporal();
});
afterAll(async () => {
  await env?.teardown();
});

const file = path.join(__dirname, '..', '..', '..', 'examples', 'backup-stack-d-cluster.yaml');

async function apply() {
  const { group, policies, clusterPolicies } = loadBackupPolicies(file);
  return applySchedules(env.client, [...policies, ...clusterPolicies], group);
}

test("stack D's four schedules: created once, then unchanged, each running its workflow, the cluster ones in stack D's inventory", async () => {
  expect((await apply()).map((p) => [p.action, p.scheduleId, p.describe])).toEqual([
    ['create', 'backup-stack-d-databases', 'every 6h'],
    ['create', 'backup-stack-d-cluster', 'cron "0 2 * * *" UTC'],
    ['create', 'backup-stack-d-config', 'cron "0 3 * * *" UTC'],
    ['create', 'backup-stack-d-weekly', 'cron "0 1 * * 0" UTC'],
  ]);
  expect((await apply()).map((p) => p.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  const types = await Promise.all(
    ['databases', 'cluster', 'config', 'weekly'].map(
      async (n) => (await env.client.schedule.getHandle(`backup-stack-d-${n}`).describe()).action.workflowType,
    ),
  );
  expect(types).toEqual(['runBackups', 'backupCluster', 'backupCluster', 'backupCluster']);
  await until('the four schedules listed', async () => ((await listSchedules(env.client)).length === 4 ? true : undefined));

  // The environment entity (started by the attach signal) runs on opsflow's queue: served here to read its inventory.
  const inventory = await withWorker(env, TASK_QUEUE, {}, () =>
    env.client.workflow.getHandle(environmentWorkflowId('stack-d')).query<Inventory>('inventory'),
  );
  expect(inventory.backups.map((b) => [b.policy, b.targets])).toEqual([
    ['stack-d-cluster', ['stack-d (cluster: shop, monitoring)']],
    ['stack-d-config', ['stack-d (cluster: shop, monitoring)']],
    ['stack-d-weekly', ['stack-d (cluster: shop, monitoring)']],
  ]);
});
