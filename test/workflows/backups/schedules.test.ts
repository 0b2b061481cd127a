// Backup schedules on the real Temporal server: applying a policy file creates, updates and
// removes exactly what changed; a dry run changes nothing; a triggered run starts the workflow.
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { stringify } from 'yaml';
import { applySchedules, listSchedules, planSchedules } from '../../../src/client/schedules';
import { loadBackupPolicies, readYamlFile } from '../../../src/specs/load';
import { startTemporal } from '../../helpers/temporal';
import { tempDir } from '../../helpers/temp';
import { until } from '../../helpers/until';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startTemporal();
});
afterAll(async () => {
  await env?.teardown();
});

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const examples = path.join(__dirname, '..', '..', '..', 'examples');
const stackB = readYamlFile(path.join(examples, 'backup-stack-b.yaml')) as Spec;
const stackD = readYamlFile(path.join(examples, 'backup-stack-d.yaml')) as Spec;

function policyFile(policies: Spec[], group: string): string {
  const file = path.join(tempDir('schedules'), 'backups.yaml');
  writeFileSync(file, stringify({ group, policies }));
  return file;
}

async function apply(file: string) {
  const { group, policies } = loadBackupPolicies(file);
  return applySchedules(env.client, policies, group);
}

async function plan(file: string) {
  const { group, policies } = loadBackupPolicies(file);
  return planSchedules(env.client, policies, group);
}

test('apply creates, is idempotent, updates what changed, and removes what left the file', async () => {
  const dir = tempDir('schedules');
  const file = path.join(dir, 'backups.yaml');
  const write = (policies: Spec[]) => writeFileSync(file, stringify({ policies }));

  write([stackB, stackD]);
  expect((await apply(file)).map((p) => [p.action, p.scheduleId])).toEqual([
    ['create', 'backup-stack-b-nightly'],
    ['create', 'backup-stack-d-databases'],
  ]);
  expect((await apply(file)).map((p) => p.action)).toEqual(['unchanged', 'unchanged']);

  // Removals are found through the schedule list, which is eventually consistent: wait until it shows both.
  const ids = async () => (await listSchedules(env.client)).map((l) => l.scheduleId).sort();
  await until('both schedules to be listed', async () => ((await ids()).length === 2 ? true : undefined));

  const changed = structuredClone(stackB);
  changed.schedule.cron = '30 3 * * *';
  write([changed]);
  const dry = await plan(file);
  expect(dry.map((p) => [p.action, p.scheduleId])).toEqual([
    ['update', 'backup-stack-b-nightly'],
    ['remove', 'backup-stack-d-databases'],
  ]);
  // A dry run changed nothing.
  expect(await ids()).toEqual(['backup-stack-b-nightly', 'backup-stack-d-databases']);

  await apply(file);
  const listed = await until('the removed schedule to leave the list', async () => {
    const now = await listSchedules(env.client);
    return now.length === 1 ? now : undefined;
  });
  expect(listed.map((l) => [l.scheduleId, l.spec])).toEqual([['backup-stack-b-nightly', 'cron "30 3 * * *" Europe/Amsterdam']]);
  expect(listed[0]?.nextRun?.getTime()).toBeGreaterThan(Date.now());
  const description = await env.client.schedule.getHandle('backup-stack-b-nightly').describe();
  expect(description.policies.overlap).toBe('SKIP');
  expect(description.spec.timezone).toBe('Europe/Amsterdam');
});

test('another group’s schedules are left alone', async () => {
  // Same file name, different group: an empty `prod` file must not remove `staging` schedules.
  await apply(policyFile([{ ...structuredClone(stackD), name: 'staging-databases' }], 'staging'));
  expect(await plan(policyFile([], 'prod'))).toEqual([]);
  expect((await apply(policyFile([], 'staging'))).map((p) => [p.action, p.scheduleId])).toEqual([['remove', 'backup-staging-databases']]);
  await apply(policyFile([{ ...structuredClone(stackD), name: 'other-file-policy' }], 'staging'));
  // The schedule list is eventually consistent: wait for the new schedule to be listed.
  const listed = await until('backup-other-file-policy to be listed', async () => {
    const ids = (await listSchedules(env.client)).map((l) => l.scheduleId);
    return ids.includes('backup-other-file-policy') ? ids : undefined;
  });
  expect(listed).toContain('backup-other-file-policy');
});

test('a triggered schedule starts its backup workflow, visible in the workflow list', async () => {
  await env.client.schedule.getHandle('backup-stack-b-nightly').trigger();
  for (let i = 0; i < 50; i++) {
    const description = await env.client.schedule.getHandle('backup-stack-b-nightly').describe();
    if (description.info.recentActions.length > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const [listing] = (await listSchedules(env.client)).filter((l) => l.scheduleId === 'backup-stack-b-nightly');
  expect(listing?.lastRun?.workflowId).toMatch(/^backup-stack-b-nightly/);
  const started = await env.client.workflow.getHandle(listing?.lastRun?.workflowId as string).describe();
  expect(started.type).toBe('runBackups');
  await env.client.workflow.getHandle(started.workflowId).terminate('test: runBackups is not implemented yet');
});
