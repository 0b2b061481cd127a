// Secrets at rest in Temporal: a full provision, a deploy that rolls back (driven by the opsflow
// CLI) and a backup run, then every history read raw from the server, without the codec. With the
// codec on, no payload or failure holds a spec value, an address, a secret or a result in clear;
// with it off (the control) the same scan finds every one, so the scan can fail. Through
// `opsflow codec-server` (as the Web UI and `temporal --codec-endpoint` call it) they come back.
import { execFile } from 'node:child_process';
import { backupScheduleId, provisionWorkflowId } from '../../../src/names/workflow-ids';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createBackupActivities } from '../../../src/activities/backups/backup-steps';
import { localRunner } from '../../../src/backups/local-runner';
import { secretResolver } from '../../../src/backups/secrets';
import { buildCli } from '../../../src/client/cli';
import { createCodecServer, DEFAULT_UI_ORIGINS } from '../../../src/client/codec-server';
import { applySchedules } from '../../../src/client/schedules';
import { parseBackupPolicy, type BackupPolicy } from '../../../src/specs/backup-policy';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import { EncryptionCodec } from '../../../src/temporal/codec/encryption-codec';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { RunBackupsResult } from '../../../src/workflows/backups/run-backups';
import { TEST_KEYRING } from '../../helpers/backup-keys';
import { startTestCodec, type TestCodec } from '../../helpers/codec';
import { startProvisionHarness, type ProvisionHarness } from '../../helpers/provision-harness';
import { privateTempDir, startSpaces, type TestSpaces } from '../../helpers/spaces';
import { temporalCliPath, uniqueTaskQueue, workflowBundlePath } from '../../helpers/temporal';
import { requireCodecBundle } from '../../../src/temporal/codec/data-converter';

jest.setTimeout(20 * 60_000);
const run = promisify(execFile);

const PG_PASSWORD = 'correct-horse-battery';
const UNHEALTHY = 'ghcr.io/acme/auth:2.0.3-unhealthy';
const savedEnv = { ...process.env };
// Started by the first scenario that needs it.
let spaces: TestSpaces;
const ownDirs: string[] = [];

// Stack A with a quick health gate, so the release that fails is rolled back in seconds.
const spec: EnvironmentSpec = (() => {
  const s = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));
  return { ...s, onFailure: 'rollback', healthChecks: s.healthChecks.map((c) => ({ ...c, intervalSeconds: 1, attempts: 3 })) };
})();

afterAll(async () => {
  process.env = savedEnv;
  await spaces?.stop();
  for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
});

interface Scenario {
  env: TestWorkflowEnvironment;
  histories: temporal.api.history.v1.IHistory[];
  /** Values that a clear history shows in its payloads and failures. */
  needles: string[];
  /** The raw schedule the opsflow client created. */
  schedule: unknown;
  /** What the opsflow CLI printed or threw for the deploy (decoded on its side). */
  deployError: string;
  publicIp: string;
}

/** Runs provision, deploy (through the opsflow CLI), a backup run and a schedule; reads every history raw. */
async function runScenario(label: string, codec: TestCodec | undefined, body: (s: Scenario) => Promise<void>): Promise<void> {
  if (!spaces) spaces = await startSpaces();
  const harness: ProvisionHarness = await startProvisionHarness({}, codec);
  const { env, workers } = harness;
  process.env = { ...savedEnv, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default' };
  delete process.env.OPSFLOW_CODEC_KEY_FILE;
  if (codec) process.env.OPSFLOW_CODEC_KEYS = codec.keyText;
  else delete process.env.OPSFLOW_CODEC_KEYS;
  const mediaDir = privateTempDir(`at-rest-media-${label}`);
  ownDirs.push(mediaDir);
  mkdirSync(path.join(mediaDir, 'uploads'));
  writeFileSync(path.join(mediaDir, 'uploads', 'a.jpg'), Buffer.alloc(10_000, 7));
  try {
    const { provisioned, deployError } = await workers.withWorkflowWorker(TASK_QUEUE, async () => {
      const provisioned = (await env.client.workflow.execute('provisionEnvironment', {
        taskQueue: TASK_QUEUE,
        workflowId: provisionWorkflowId(spec.name),
        args: [{ spec }],
      })) as ProvisionResult;
      // The CLI reads the provisioning result and the deploy's failure through its own client.
      const deployError = await cliRun(['deploy', spec.name, '--set', `auth=${UNHEALTHY}`]).then(
        () => 'no error',
        (err: unknown) =>
          err instanceof WorkflowFailedError ? `${(err.cause as ApplicationFailure).type}: ${err.cause?.message}` : String(err),
      );
      return { provisioned, deployError };
    });

    const backupQueue = uniqueTaskQueue('at-rest-backups');
    const policy = backupPolicy(mediaDir, label);
    const activities = createBackupActivities({
      resolveSecret: secretResolver({
        OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY: spaces.accessKey,
        OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY: spaces.secretKey,
      }),
      dropletRunner: () => localRunner(), // the worker stands in for the droplet, as in backups.test.ts
      backupKeys: TEST_KEYRING,
    });
    const backupWorker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: backupQueue,
      workflowBundle: { codePath: codec?.workflowBundlePath ?? workflowBundlePath() },
      activities,
      dataConverter: codec?.dataConverter,
    });
    const backup = (await backupWorker.runUntil(
      env.client.workflow.execute('runBackups', { taskQueue: backupQueue, workflowId: `backups-${label}`, args: [{ policy }] }),
    )) as RunBackupsResult;
    expect(backup.failures).toEqual([]);
    const backedUp = backup.results[0]!;

    // A schedule as `opsflow schedules apply` makes it, read back as `schedules apply` compares it.
    await applySchedules(env.client, [policy], 'at-rest');
    const described = await env.client.schedule.getHandle(backupScheduleId(policy.name)).describe();
    const scheduleReadBack = {
      memo: described.memo,
      policy: (described.action.args?.[0] as { policy?: BackupPolicy } | undefined)?.policy,
    };
    expect(scheduleReadBack).toEqual({ memo: { managedBy: 'opsflow', group: 'at-rest' }, policy });
    const schedule = await env.client.workflowService.describeSchedule({
      namespace: env.namespace ?? 'default',
      scheduleId: backupScheduleId(policy.name),
    });

    const app = provisioned.droplets[0]!;
    const needles = [
      // spec values
      ...Object.values(spec.application!.images),
      '/mnt/pgdata',
      'env:STACK_A_POSTGRES_PASSWORD',
      mediaDir,
      spaces.endpoint,
      policy.destination.prefix,
      // addresses and results
      app.publicIp,
      app.privateIp!,
      provisioned.reservedIp!,
      provisioned.hosts[0]!.hostKey,
      UNHEALTHY,
      backedUp.key!,
      backedUp.sha256!,
      // a failure message only (the deploy's health gate)
      'consecutive failed probes',
    ];
    const { workflowIds, histories } = await rawHistories(env);
    // Visibility could lag: the scan must at least cover the three operations.
    expect(workflowIds).toEqual(
      expect.arrayContaining([
        provisionWorkflowId(spec.name),
        `backups-${label}`,
        expect.stringMatching(new RegExp(`^deploy-${spec.name}`)),
      ]),
    );
    await body({ env, histories, needles, schedule, deployError, publicIp: app.publicIp });
  } finally {
    await harness.stop();
  }
}

function backupPolicy(mediaDir: string, label: string): BackupPolicy {
  return parseBackupPolicy({
    name: `at-rest-${label}`,
    targets: [{ name: 'media', kind: 'directory', path: mediaDir, in: { environment: 'test-env', droplet: 'app' } }],
    destination: {
      bucket: spaces.bucket,
      prefix: `at-rest-${label}/`,
      endpoint: spaces.endpoint,
      accessKey: 'env:OPSFLOW_SECRET_TEST_SPACES_ACCESS_KEY',
      secretKey: 'env:OPSFLOW_SECRET_TEST_SPACES_SECRET_KEY',
    },
    retention: { keepDays: 30, minVerified: 1 },
    schedule: { every: '24h' },
  });
}

/** Runs the opsflow CLI in-process, quietly. */
async function cliRun(args: string[]): Promise<void> {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await buildCli().parseAsync(args, { from: 'user' });
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

/** Every event of every workflow in the namespace, as the server stores them: no codec applied. */
async function rawHistories(
  env: TestWorkflowEnvironment,
): Promise<{ workflowIds: string[]; histories: temporal.api.history.v1.IHistory[] }> {
  const namespace = env.namespace ?? 'default';
  const histories: temporal.api.history.v1.IHistory[] = [];
  const listed = await env.client.workflowService.listWorkflowExecutions({ namespace, pageSize: 1000 });
  for (const execution of listed.executions ?? []) {
    const events: temporal.api.history.v1.IHistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await env.client.workflowService.getWorkflowExecutionHistory({
        namespace,
        execution: execution.execution,
        nextPageToken,
        maximumPageSize: 1000,
      });
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    histories.push({ events });
  }
  return { workflowIds: (listed.executions ?? []).map((e) => e.execution?.workflowId ?? ''), histories };
}

interface Stored {
  payloads: Payload[];
  /** Each failure's message and stack trace as stored. */
  failureTexts: string[];
}

/**
 * Every payload and failure under `node`. Search attributes are left out: the server must read
 * them to index them, so they are never encrypted (opsflow puts only environment, operation and
 * cloud names there).
 */
function stored(node: unknown, into: Stored = { payloads: [], failureTexts: [] }): Stored {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return into;
  if (Array.isArray(node)) {
    for (const item of node) stored(item, into);
    return into;
  }
  const o = node as Record<string, unknown>;
  // patched(): the SDK's core writes the marker itself, in clear, holding only the patch id (a name in the code).
  if (o.markerName === 'core_patch') return into;
  if (o.data instanceof Uint8Array && typeof o.metadata === 'object') {
    into.payloads.push(o as Payload);
    return into;
  }
  if (typeof o.message === 'string' && ('stackTrace' in o || 'encodedAttributes' in o || 'source' in o))
    into.failureTexts.push(`${o.message}\n${String(o.stackTrace ?? '')}`);
  for (const [key, value] of Object.entries(o)) if (key !== 'searchAttributes') stored(value, into);
  return into;
}

const payloadText = (p: Payload) =>
  [Buffer.from(p.data ?? []), ...Object.values(p.metadata ?? {}).map((v) => Buffer.from(v))].map((b) => b.toString('latin1')).join('\n');
const encodingOf = (p: Payload) => Buffer.from(p.metadata?.encoding ?? []).toString();

/** The payload data `temporal workflow show --output json` printed (base64 in its JSON), as text. */
function payloadsShown(json: string): string {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (typeof o.data === 'string' && typeof o.metadata === 'object') texts.push(Buffer.from(o.data, 'base64').toString('utf8'));
    Object.values(o).forEach(walk);
  };
  walk(JSON.parse(json));
  return texts.join('\n');
}

function inClear(texts: string[], needles: string[]): string[] {
  const all = texts.join('\n');
  return needles.filter((n) => all.includes(n));
}

test('control, codec off: the raw scan finds every spec value, address and result in clear, and never a secret', async () => {
  await runScenario('clear', undefined, async ({ histories, needles, schedule, deployError }) => {
    expect(deployError).toMatch(/^RolledBack: /);
    const found = stored(histories);
    expect(found.payloads.length).toBeGreaterThan(50);
    const texts = [...found.payloads.map(payloadText), ...found.failureTexts];
    expect(inClear(texts, needles)).toEqual(needles);
    expect(inClear(stored(schedule).payloads.map(payloadText), [spaces.endpoint])).toEqual([spaces.endpoint]);
    // Secrets never enter history, codec or not (rule 6).
    expect(inClear(texts, [PG_PASSWORD, spaces.secretKey])).toEqual([]);
  });
});

test('codec on: no payload or failure in any history holds a value in clear; the codec server gives them back', async () => {
  const codec = await startTestCodec();
  await runScenario('sealed', codec, async ({ env, histories, needles, schedule, deployError, publicIp }) => {
    // The CLI decoded the failure: the health gate's message reached the user in clear.
    expect(deployError).toMatch(/^RolledBack: /);
    expect(deployError).toContain('consecutive failed probes');

    const found = stored(histories);
    expect(found.payloads.length).toBeGreaterThan(50);
    const notEncrypted = found.payloads.filter((p) => encodingOf(p) !== 'binary/encrypted').map((p) => payloadText(p).slice(0, 120));
    expect(notEncrypted).toEqual([]);
    const texts = [...found.payloads.map(payloadText), ...found.failureTexts];
    expect(inClear(texts, [...needles, PG_PASSWORD, spaces.secretKey])).toEqual([]);
    // Failures are stored as "Encoded failure", their message and stack inside an encrypted payload.
    expect(found.failureTexts.some((t) => t.startsWith('Encoded failure'))).toBe(true);
    const scheduled = stored(schedule);
    expect(scheduled.payloads.length).toBeGreaterThan(0);
    expect(scheduled.payloads.filter((p) => encodingOf(p) !== 'binary/encrypted')).toEqual([]);

    // The codec server, called as the Web UI calls it, decodes them back.
    const token = randomBytes(24).toString('base64url');
    const server: Server = createCodecServer({ codec: new EncryptionCodec(codec.keys), token, origins: DEFAULT_UI_ORIGINS });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');
      const asJson = found.payloads.map((p) => ({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
        data: b64(p.data),
      }));
      const headers = { 'Content-Type': 'application/json', 'X-Namespace': env.namespace ?? 'default', Origin: DEFAULT_UI_ORIGINS[0]! };
      const preflight = await fetch(`${base}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: DEFAULT_UI_ORIGINS[0]!, 'Access-Control-Request-Method': 'POST' },
      });
      expect([preflight.status, preflight.headers.get('access-control-allow-origin')]).toEqual([204, DEFAULT_UI_ORIGINS[0]]);
      const refused = await fetch(`${base}/decode`, { method: 'POST', headers, body: JSON.stringify({ payloads: asJson.slice(0, 5) }) });
      expect(refused.status).toBe(401);
      const decoded = await fetch(`${base}/decode`, {
        method: 'POST',
        headers: { ...headers, Authorization: `Bearer ${token}` },
        body: JSON.stringify({ payloads: asJson }),
      });
      expect(decoded.status).toBe(200);
      const clear = ((await decoded.json()) as { payloads: { data: string }[] }).payloads.map((p) =>
        Buffer.from(p.data, 'base64').toString('utf8'),
      );
      expect(inClear(clear, needles)).toEqual(needles);

      // The temporal CLI shows the provisioning result only through the codec server.
      const show = ['workflow', 'show', '--workflow-id', provisionWorkflowId(spec.name), '--address', env.address, '--output', 'json'];
      expect(payloadsShown((await run(temporalCliPath(), show)).stdout)).not.toContain(publicIp);
      const withCodec = await run(temporalCliPath(), [...show, '--codec-endpoint', base, '--codec-auth', `Bearer ${token}`]);
      expect(payloadsShown(withCodec.stdout)).toContain(publicIp);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

test('the codec bundle carries the failure converter the worker checks for; the plain bundle does not', async () => {
  const codec = await startTestCodec();
  expect(() => requireCodecBundle(codec.workflowBundlePath)).not.toThrow();
  expect(() => requireCodecBundle(workflowBundlePath())).toThrow(/built without opsflow's failure converter/);
});
