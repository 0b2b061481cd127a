// Droplet and volume snapshots as backup targets, on the real Temporal server against the local
// cloud's DigitalOcean API, with opsflow's two workers (the DigitalOcean activities on their own
// queue): runBackups takes both snapshots with the run's deterministic names and lists them in its
// result; a lost response or an errored snapshot action never yields a second snapshot; a target
// whose droplet does not exist fails by name while the others are taken; with powerOff the droplet
// is stopped for its snapshot and always started again, by the retry if its worker died; retention over 60
// simulated days keeps exactly the expected snapshots and never touches anyone else's.
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createSnapshotActivities, type SnapshotTarget, type TakenSnapshot } from '../../src/activities/digitalocean/snapshots';
import { snapshotName } from '../../src/backups/snapshot-names';
import { DigitalOceanClient } from '../../src/integrations/digitalocean/client';
import type { LocalCloud } from '@opsflow/localcloud';
import { parseBackupPolicy, type BackupPolicy } from '../../src/specs/backup-policy';
import type { ApplyRetentionResult } from '../../src/workflows/backups/apply-retention';
import type { RunBackupsResult } from '../../src/workflows/backups/run-backups';
import type { OperationStatus } from '../../src/workflows/shared/status';
import type { ContractClient } from '../helpers/do-api';
import { createHostDroplet, type TestDroplet } from '../helpers/droplet-host';
import { startLocalCloud, waitForAction } from '../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../helpers/opsflow-workers';
import { startSpaces, type TestSpaces } from '../helpers/spaces';
import { startTemporal, uniqueTaskQueue } from '../helpers/temporal';

const FAST = { maximumAttempts: 4, initialInterval: '200ms' };

let env: TestWorkflowEnvironment;
let spaces: TestSpaces;
let cloud: LocalCloud;
let api: ContractClient;
let workers: OpsflowWorkers;
let droplet: TestDroplet;
let volumeId: string;

interface CloudSnapshot {
  id: string;
  name: string;
  resource_id: string;
  resource_type: 'droplet' | 'volume';
}

const snapshotsInCloud = (): CloudSnapshot[] =>
  cloud.ctx.store.state.snapshots.map(({ id, name, resource_id, resource_type }) => ({ id, name, resource_id, resource_type }));
const named = (name: string) => snapshotsInCloud().filter((s) => s.name === name);

function policy(name: string, changes: Record<string, unknown> = {}): BackupPolicy {
  return parseBackupPolicy({
    name,
    targets: [
      { name: 'web', kind: 'droplet-snapshot', environment: 'snapenv', resource: 'web' },
      { name: 'data', kind: 'volume-snapshot', environment: 'snapenv', resource: 'data' },
    ],
    destination: {
      bucket: spaces.bucket,
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_SNAPSHOT_ACCESS_KEY',
      secretKey: 'env:OPSFLOW_SECRET_SNAPSHOT_SECRET_KEY',
    },
    retention: { keepDays: 7, keepWeekly: 4, keepMonthly: 3, minVerified: 3 },
    schedule: { cron: '30 3 * * 0' },
    ...changes,
  });
}

/** Runs runBackups; `status` is its status query, answered after the end (the worker still runs). */
async function runBackups(workflowId: string, p: BackupPolicy): Promise<RunBackupsResult & { status?: OperationStatus }> {
  const taskQueue = uniqueTaskQueue('snapshots');
  return workers.withWorkflowWorker(taskQueue, async () => {
    const handle = await env.client.workflow.start('runBackups', { taskQueue, workflowId, args: [{ policy: p, retry: FAST }] });
    const result = (await handle.result()) as RunBackupsResult;
    return { ...result, status: await handle.query<OperationStatus>('status') };
  });
}

async function applyRetention(workflowId: string, p: BackupPolicy, now: string): Promise<ApplyRetentionResult> {
  const taskQueue = uniqueTaskQueue('snapshot-retention');
  return workers.withWorkflowWorker(
    taskQueue,
    () =>
      env.client.workflow.execute('applyRetention', {
        taskQueue,
        workflowId,
        args: [{ policy: p, now, retry: FAST }],
      }) as Promise<ApplyRetentionResult>,
  );
}

beforeAll(async () => {
  // Actions take 3 s here, so a retried step meets its earlier attempt's snapshot still being taken.
  [env, spaces, { cloud, api }] = await Promise.all([
    startTemporal(),
    startSpaces(),
    startLocalCloud({ timing: { dropletCreateMs: 300, actionMs: 3000 }, rateLimit: { perMinute: 100_000, perHour: 100_000 } }),
  ]);
  process.env.OPSFLOW_SECRET_SNAPSHOT_ACCESS_KEY = spaces.accessKey;
  process.env.OPSFLOW_SECRET_SNAPSHOT_SECRET_KEY = spaces.secretKey;
  droplet = await createHostDroplet(cloud, api, 'snapenv-web', []);
  const created = await api.call<{ volume: { id: string } }>('POST', '/v2/volumes', {
    name: 'snapenv-data',
    region: droplet.region,
    size_gigabytes: 10,
    filesystem_type: 'ext4',
  });
  volumeId = created.body.volume.id;
  workers = await startOpsflowWorkers(env, cloud);
}, 120_000);

afterAll(async () => {
  await workers?.stop();
  await cloud?.stop();
  await spaces?.stop();
  await env?.teardown();
  delete process.env.OPSFLOW_SECRET_SNAPSHOT_ACCESS_KEY;
  delete process.env.OPSFLOW_SECRET_SNAPSHOT_SECRET_KEY;
}, 60_000);

afterEach(() => cloud.ctx.faults.set({}));

test('runBackups takes a snapshot of the droplet and of the volume, named for the run, and lists them in its result', async () => {
  const p = policy('snap-run');
  const result = await runBackups('snapshots-run', p);
  expect(result.failures).toEqual([]);
  const stamp = result.takenAt.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  expect(result.results.map((r) => [r.target, r.ok, r.key])).toEqual([
    ['web', true, `opsflow.snap-run.web.${stamp}`],
    ['data', true, `opsflow.snap-run.data.${stamp}`],
  ]);
  // What the run reports is what the cloud holds: one snapshot each, of the right resource.
  const [web, data] = result.results;
  expect(named(web!.key!)).toEqual([{ id: web!.snapshotId, name: web!.key, resource_id: String(droplet.id), resource_type: 'droplet' }]);
  expect(named(data!.key!)).toEqual([{ id: data!.snapshotId, name: data!.key, resource_id: volumeId, resource_type: 'volume' }]);
  // Snapshots are not restored to verify them, and nothing was written to Spaces for them.
  expect(result.results.map((r) => r.verified)).toEqual([undefined, undefined]);
  expect(result.retention).toEqual({ kept: 2, removed: [] });
  expect(result.status!.step).toBe('done');
  expect(result.status!.resources.map((r) => [r.kind, r.id])).toEqual(
    expect.arrayContaining([
      ['droplet_snapshot', web!.snapshotId],
      ['volume_snapshot', data!.snapshotId],
    ]),
  );
}, 120_000);

test('a lost response to the snapshot request, or a snapshot action that errors, is retried into exactly one snapshot', async () => {
  // Every snapshot request is carried out, but its answer is lost: the retry must find the
  // droplet's snapshot still being taken, wait for it, and the volume's already made.
  cloud.ctx.faults.set({
    rules: [
      { method: 'POST', path: `/v2/droplets/${droplet.id}/actions`, errorRate: 1, statuses: [503], loseResponse: true },
      { method: 'POST', path: `/v2/volumes/${volumeId}/snapshots`, errorRate: 1, statuses: [503], loseResponse: true },
    ],
  });
  const lost = await runBackups('snapshots-lost-response', policy('snap-lost'));
  expect(lost.failures).toEqual([]);
  for (const r of lost.results) expect(named(r.key!)).toHaveLength(1);
  const lostHistory = await env.client.workflow.getHandle('snapshots-lost-response').fetchHistory();
  const lostAttempts = (lostHistory.events ?? []).flatMap((e) => e.activityTaskStartedEventAttributes?.attempt ?? []);
  expect(Math.max(...lostAttempts)).toBeGreaterThanOrEqual(2);

  // The snapshot action itself errors once: nothing was made, so the retry takes it again.
  cloud.ctx.faults.set({ failNextActions: { snapshot: 1 } });
  const errored = await runBackups('snapshots-action-errored', policy('snap-errored', { targets: [policy('base').targets[0]] }));
  expect(errored.failures).toEqual([]);
  expect(named(errored.results[0]!.key!)).toHaveLength(1);
  expect(cloud.ctx.faults.current.failNextActions.snapshot).toBe(0);
}, 180_000);

test('a target whose droplet does not exist fails by name; the other snapshot is still taken and the run fails loudly', async () => {
  const p = policy('snap-missing', {
    targets: [
      { name: 'gone', kind: 'droplet-snapshot', environment: 'snapenv', resource: 'nope' },
      { name: 'data', kind: 'volume-snapshot', environment: 'snapenv', resource: 'data' },
    ],
  });
  const failure = await runBackups('snapshots-missing', p).then(
    () => undefined,
    (err: unknown) => (err as WorkflowFailedError).cause as ApplicationFailure,
  );
  expect(failure?.type).toBe('BackupsFailed');
  expect(failure?.message).toContain('gone: ');
  expect(failure?.message).toContain('no droplet named snapenv-nope in the account');
  const details = failure?.details?.[0] as RunBackupsResult;
  expect(details.results.map((r) => [r.target, r.ok])).toEqual([
    ['gone', false],
    ['data', true],
  ]);
  expect(named(details.results[1]!.key!)).toHaveLength(1);
}, 120_000);

/** The droplet's status every 100 ms while `during` runs. */
async function statusesDuring<T>(during: () => Promise<T>): Promise<{ result: T | unknown; statuses: string[] }> {
  const statuses: string[] = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      statuses.push(cloud.ctx.store.state.droplets.find((d) => d.id === droplet.id)!.status);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await during().catch((err: unknown) => err);
  watching = false;
  await watch;
  statuses.push(cloud.ctx.store.state.droplets.find((d) => d.id === droplet.id)!.status);
  return { result, statuses: statuses.filter((s, i) => s !== statuses[i - 1]) };
}

test('with powerOff the droplet is shut down for its snapshot and started again, also when the snapshot fails', async () => {
  const web = { name: 'web', kind: 'droplet-snapshot', environment: 'snapenv', resource: 'web', powerOff: true };
  const ok = await statusesDuring(() => runBackups('snapshots-power-off', policy('snap-power', { targets: [web] })));
  expect((ok.result as RunBackupsResult).failures).toEqual([]);
  expect(named((ok.result as RunBackupsResult).results[0]!.key!)).toHaveLength(1);
  expect(ok.statuses).toEqual(['active', 'off', 'active']);

  // Every snapshot action errors: each attempt stops the droplet and starts it again, and the run fails.
  cloud.ctx.faults.set({ failNextActions: { snapshot: 10 } });
  const p = policy('snap-power-failing', { targets: [web] });
  const taskQueue = uniqueTaskQueue('snapshots-power');
  const failed = await statusesDuring(() =>
    workers.withWorkflowWorker(taskQueue, () =>
      env.client.workflow.execute('runBackups', {
        taskQueue,
        workflowId: 'snapshots-power-off-failing',
        args: [{ policy: p, retry: { maximumAttempts: 2, initialInterval: '200ms' } }],
      }),
    ),
  );
  expect(((failed.result as WorkflowFailedError).cause as ApplicationFailure).type).toBe('BackupsFailed');
  expect(failed.statuses).toEqual(['active', 'off', 'active', 'off', 'active']);
}, 180_000);

test('a droplet stopped by an attempt whose worker died is started again by the retry, even when the snapshot was already taken', async () => {
  const web = policy('snap-revive', {
    targets: [{ name: 'web', kind: 'droplet-snapshot', environment: 'snapenv', resource: 'web', powerOff: true }],
  }).targets[0] as SnapshotTarget;
  const takenAt = '2026-03-01T02:00:00.000Z';
  // What the dead attempt left: the droplet off, its snapshot taken, no power-on.
  for (const body of [{ type: 'shutdown' }, { type: 'snapshot', name: snapshotName('snap-revive', 'web', takenAt) }]) {
    const { body: started } = await api.call<{ action: { id: number } }>('POST', `/v2/droplets/${droplet.id}/actions`, body);
    expect(await waitForAction(api, started.action.id)).toBe('completed');
  }
  expect(cloud.ctx.store.state.droplets.find((d) => d.id === droplet.id)!.status).toBe('off');

  const activities = createSnapshotActivities({
    digitalOcean: () => new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl }),
    snapshotPollMs: { first: 100, max: 400 },
  });
  const retry = new MockActivityEnvironment(
    { attempt: 2, heartbeatDetails: { remembered: { poweredOffDroplet: droplet.id } } },
    { logger: new DefaultLogger('ERROR') },
  );
  const taken = (await retry.run(activities.takeSnapshot, { policy: 'snap-revive', target: web, takenAt })) as TakenSnapshot;
  expect(taken.name).toBe(snapshotName('snap-revive', 'web', takenAt));
  expect(named(taken.name)).toHaveLength(1);
  expect(cloud.ctx.store.state.droplets.find((d) => d.id === droplet.id)!.status).toBe('active');
}, 60_000);

/** A volume snapshot for each of 60 nightly runs from 2026-01-01, as the runs would have named them. */
async function seedSixtyNights(p: BackupPolicy, skip: (day: number) => boolean = () => false): Promise<void> {
  for (let day = 0; day < 60; day++) {
    if (skip(day)) continue;
    const name = snapshotName(p.name, 'data', new Date(Date.UTC(2026, 0, 1 + day, 2)).toISOString());
    const { status } = await api.call('POST', `/v2/volumes/${volumeId}/snapshots`, { name });
    expect(status).toBe(201);
  }
}

const keptDays = (p: BackupPolicy) =>
  snapshotsInCloud()
    .filter((s) => s.name.startsWith(`opsflow.${p.name}.data.`))
    .map((s) => s.name.slice(-16, -8).replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3'))
    .sort();

test("retention over 60 simulated days keeps exactly 7 daily, 4 weekly and 3 monthly snapshots, and no one else's", async () => {
  const p = policy('snap-retention', { targets: [policy('base').targets[1]] });
  await seedSixtyNights(p);
  // Snapshots retention must never touch: another policy's whose name starts the same, and a hand-made one.
  const { status: s1 } = await api.call('POST', `/v2/volumes/${volumeId}/snapshots`, {
    name: snapshotName('snap-retention-x', 'data', '2026-01-01T02:00:00.000Z'),
  });
  const { status: s2 } = await api.call('POST', `/v2/volumes/${volumeId}/snapshots`, { name: 'before-upgrade' });
  expect([s1, s2]).toEqual([201, 201]);

  const result = await applyRetention('snapshots-retention', p, '2026-03-01T12:00:00.000Z');
  expect(keptDays(p)).toEqual([
    '2026-01-31',
    '2026-02-08',
    '2026-02-15',
    '2026-02-22',
    '2026-02-23',
    '2026-02-24',
    '2026-02-25',
    '2026-02-26',
    '2026-02-27',
    '2026-02-28',
    '2026-03-01',
  ]);
  expect(result.removed).toHaveLength(49);
  expect(result.reasons[snapshotName(p.name, 'data', '2026-01-31T02:00:00.000Z')]).toEqual(['newest of month 2026-01']);
  expect(named(snapshotName('snap-retention-x', 'data', '2026-01-01T02:00:00.000Z'))).toHaveLength(1);
  expect(named('before-upgrade')).toHaveLength(1);

  // Run again: nothing more to remove.
  expect((await applyRetention('snapshots-retention-again', p, '2026-03-01T12:00:00.000Z')).removed).toEqual([]);
}, 180_000);

test('with the last five nights missing, the floor keeps the newest three snapshots', async () => {
  const p = policy('snap-floor', { targets: [policy('base').targets[1]], retention: { keepDays: 3, minVerified: 3 } });
  await seedSixtyNights(p, (day) => day >= 55);
  await applyRetention('snapshots-floor', p, '2026-03-01T12:00:00.000Z');
  expect(keptDays(p)).toEqual(['2026-02-22', '2026-02-23', '2026-02-24']);
}, 180_000);

test('deleting refuses any snapshot not named for the policy, and one whose name changed under its id', async () => {
  const activities = createSnapshotActivities({ digitalOcean: () => new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl }) });
  const run = <T>(fn: (input: never) => Promise<T>, input: unknown) =>
    (
      new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(fn as (i: unknown) => Promise<T>, input) as Promise<T>
    ).catch((err: unknown) => err as ApplicationFailure);
  const { body } = await api.call<{ snapshot: { id: string } }>('POST', `/v2/volumes/${volumeId}/snapshots`, { name: 'hand-made' });
  const foreign = await run(activities.deleteSnapshots, { policy: 'snap-run', snapshots: [{ id: body.snapshot.id, name: 'hand-made' }] });
  expect(foreign).toMatchObject({ type: 'Unsupported', nonRetryable: true, message: expect.stringContaining('hand-made') });
  const renamed = await run(activities.deleteSnapshots, {
    policy: 'snap-run',
    snapshots: [{ id: body.snapshot.id, name: 'opsflow.snap-run.data.20260101T020000Z' }],
  });
  expect(renamed).toMatchObject({ type: 'SnapshotChanged', nonRetryable: true });
  expect(named('hand-made')).toHaveLength(1);
  // Already gone counts as done.
  expect(
    await run(activities.deleteSnapshots, {
      policy: 'snap-run',
      snapshots: [{ id: 'no-such-id', name: 'opsflow.snap-run.data.20260101T020000Z' }],
    }),
  ).toEqual({ deleted: 0 });
});

test('the snapshot action waits are real: the local cloud locks the droplet while its snapshot is taken', async () => {
  // Guards the premise of the lost-response test: with 3 s actions a retry meets a locked droplet.
  const { body } = await api.call<{ action: { id: number } }>('POST', `/v2/droplets/${droplet.id}/actions`, {
    type: 'snapshot',
    name: 'lock-check',
  });
  const { body: during } = await api.call<{ droplet: { locked: boolean } }>('GET', `/v2/droplets/${droplet.id}`);
  expect(during.droplet.locked).toBe(true);
  expect(await waitForAction(api, body.action.id)).toBe('completed');
  const { body: after } = await api.call<{ droplet: { locked: boolean } }>('GET', `/v2/droplets/${droplet.id}`);
  expect(after.droplet.locked).toBe(false);
  expect(named('lock-check')).toHaveLength(1);
});
