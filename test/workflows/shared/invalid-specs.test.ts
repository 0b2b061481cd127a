// Issue 4: every bad environment spec is refused with a message that names the field, through both
// real entry points, before anything reaches the cloud. `opsflow provision <file>` refuses it in
// the CLI; a provisionEnvironment started directly (skipping the CLI) refuses it at its first step
// with InvalidSpec. Behind both stand a real Temporal dev server, a worker and a cloud worker
// pointed at a local cloud whose request log must stay empty. A valid spec through the same path
// shows that log does fill when something does get through.
import { execFile } from 'node:child_process';
import { provisionWorkflowId } from '../../../src/names/workflow-ids';
import { cpSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { parse, stringify } from 'yaml';
import { createCloudActivities } from '../../../src/activities';
import { createEnvironmentActivities } from '../../../src/activities/environment/claims';
import { createSecretActivities } from '../../../src/activities/secrets/check-secret-references';
import { buildCli } from '../../../src/client/cli';
import { DigitalOceanClient } from '../../../src/integrations/digitalocean/client';
import type { LocalCloud, LoggedRequest } from '@opsflow/localcloud';
import { PROJECT_ROOT } from '../../../src/paths';
import { SpecError } from '../../../src/specs/common';
import { DIGITALOCEAN_TASK_QUEUE, TASK_QUEUE } from '../../../src/temporal/task-queues';
import { baseSpec, brokenSpec, EXAMPLES_DIR, invalidEnvironmentSpecs } from '../../fixtures/invalid-environment-specs';
import { startLocalCloud } from '../../helpers/localcloud';
import { generateEd25519 } from '../../helpers/ssh-keys';
import { tempDir } from '../../helpers/temp';
import { startTemporal, workflowBundlePath } from '../../helpers/temporal';

const run = promisify(execFile);
const specDir = tempDir('invalid-specs');
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: Worker[] = [];
let workersDone: Promise<unknown>;
const savedEnv = { ...process.env };

/** The cases, each written to a YAML file beside a copy of stack A's compose file. */
const cases = invalidEnvironmentSpecs.map((item, i) => {
  const file = path.join(specDir, `bad-${String(i).padStart(2, '0')}.yaml`);
  return { what: item[0], expected: item[2], spec: brokenSpec(item), file, workflowId: `invalid-spec-${i}` };
});

async function requestLog(since = 0): Promise<{ total: number; requests: LoggedRequest[] }> {
  const response = await fetch(`${cloud.apiUrl}/_localcloud/requests?since=${since}`, { headers: cloud.controlHeaders });
  expect(response.status).toBe(200);
  return response.json() as Promise<{ total: number; requests: LoggedRequest[] }>;
}

/** Every workflow id the CLI could have started for these specs (it uses provision-<name>). */
function cliWorkflowIds(): string[] {
  return [...new Set(cases.map((c) => provisionWorkflowId(String(c.spec.name))))];
}

async function expectNoWorkflow(workflowId: string): Promise<void> {
  await expect(env.client.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

beforeAll(async () => {
  cpSync(path.join(EXAMPLES_DIR, 'stack-a'), path.join(specDir, 'stack-a'), { recursive: true });
  for (const c of cases) writeFileSync(c.file, stringify(c.spec));
  writeFileSync(path.join(specDir, 'good.yaml'), stringify(baseSpec()));

  env = await startTemporal();
  // API only: nothing here needs a droplet to answer SSH, and the request log is what is watched.
  ({ cloud } = await startLocalCloud({ sshHosts: false, rateLimit: { perMinute: 100_000, perHour: 100_000 } }));
  const client = new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl });
  // A key for the control run's droplets (taken by workers that register the deploy key themselves).
  const deployKey = generateEd25519().public;
  const cloudDeps = { digitalOcean: () => client, pollMs: { first: 100, max: 400 }, sshPublicKey: () => deployKey };
  // The task queue the CLI starts on: the workflow worker serves it as the real worker does.
  workers = [
    // The environment claim (provision holds its environment while it runs) is an activity here.
    await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: { codePath: workflowBundlePath() },
      // The secrets preflight runs before the cloud: the control run's one secret is there.
      activities: {
        ...createEnvironmentActivities(),
        ...createSecretActivities({ env: () => ({ OPSFLOW_SECRET_ENV: 'STACK_A_POSTGRES_PASSWORD', STACK_A_POSTGRES_PASSWORD: 'x' }) }),
      },
    }),
    await Worker.create({
      connection: env.nativeConnection,
      taskQueue: DIGITALOCEAN_TASK_QUEUE,
      activities: createCloudActivities(cloudDeps),
    }),
  ];
  workersDone = Promise.all(workers.map((w) => w.run()));
  // The CLI connects through Temporal's environment configuration, as a user's shell would.
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = env.namespace ?? 'default';
});

afterAll(async () => {
  process.env = savedEnv;
  for (const worker of workers) worker.shutdown();
  await workersDone;
  await cloud?.stop();
  await env?.teardown();
});

test('the list has at least 30 bad specs, and the spec they break is itself fine', async () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    // --print-input loads and validates the file, then stops before connecting anywhere.
    await buildCli().parseAsync(['provision', path.join(specDir, 'good.yaml'), '--print-input'], { from: 'user' });
  } finally {
    log.mockRestore();
  }
  expect(JSON.parse(printed[0]!).spec.application.compose).toContain('services:');
  expect(await requestLog()).toEqual({ total: 0, requests: [] });
});

/** `opsflow provision <file>` in this process, one case at a time: whether each was refused, and why. */
async function cliRefusals(items: { what: string; file: string }[]): Promise<{ what: string; refused: boolean; message: string }[]> {
  const refusals = [];
  for (const c of items) {
    const error = await buildCli()
      .parseAsync(['provision', c.file], { from: 'user' })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    refusals.push({ what: c.what, refused: error instanceof SpecError, message: (error as Error | undefined)?.message ?? '' });
  }
  return refusals;
}

test('`opsflow provision <file>` refuses every bad spec with a message naming the field, and starts no workflow', async () => {
  const refusals = await cliRefusals(cases);
  expect(refusals).toEqual(cases.map((c) => ({ what: c.what, refused: true, message: expect.stringContaining(c.expected) })));
  for (const workflowId of cliWorkflowIds()) await expectNoWorkflow(workflowId);
  expect(await requestLog()).toEqual({ total: 0, requests: [] });
});

test('the opsflow process itself exits 1 with the named field on stderr, and nothing on stdout', async () => {
  // A process per spec costs a second of TypeScript loading; one of each kind the issue names.
  const kinds = [
    'name missing',
    'health check port wrong type',
    'VPC range with host bits',
    'droplet size unknown',
    'overlapping firewall rules',
    'secret written inline',
  ];
  const sample = cases.filter((c) => kinds.includes(c.what));
  expect(sample).toHaveLength(kinds.length);
  const results = await Promise.all(
    sample.map((c) =>
      run(process.execPath, ['--require', 'tsx/cjs', path.join(PROJECT_ROOT, 'src/client/cli.ts'), 'provision', c.file], {
        cwd: PROJECT_ROOT,
        env: process.env,
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
      ),
    ),
  );
  expect(results).toEqual(
    sample.map((c) => ({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(new RegExp(`^opsflow: invalid environment spec:\\n[\\s\\S]*${escapeRegExp(c.expected)}`)),
    })),
  );
  for (const result of results) expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  for (const workflowId of cliWorkflowIds()) await expectNoWorkflow(workflowId);
  expect(await requestLog()).toEqual({ total: 0, requests: [] });
});

test('provisionEnvironment started directly re-validates: InvalidSpec naming the field, before any activity', async () => {
  const outcomes = await Promise.all(
    cases.map(async (c) => {
      const error = await env.client.workflow
        .execute('provisionEnvironment', {
          taskQueue: TASK_QUEUE,
          workflowId: c.workflowId,
          args: [{ spec: c.spec }],
          workflowExecutionTimeout: '30s',
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      const failure = error instanceof WorkflowFailedError ? (error.cause as ApplicationFailure) : undefined;
      let activities = 0;
      for (const event of (await env.client.workflow.getHandle(c.workflowId).fetchHistory()).events ?? [])
        if (event.activityTaskScheduledEventAttributes) activities++;
      return {
        what: c.what,
        type: failure?.type,
        nonRetryable: failure?.nonRetryable,
        message: failure?.message ?? String(error),
        activities,
      };
    }),
  );
  expect(outcomes).toEqual(
    cases.map((c) => ({
      what: c.what,
      type: 'InvalidSpec',
      nonRetryable: true,
      message: expect.stringContaining(c.expected),
      activities: 0,
    })),
  );
  expect(await requestLog()).toEqual({ total: 0, requests: [] });
  expect((await cloudInventory()).vpcs).toEqual([]);
});

test('control: a valid spec through the same CLI, worker and cloud does reach the cloud, and the log shows it', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await buildCli().parseAsync(['provision', path.join(specDir, 'good.yaml'), '--detach'], { from: 'user' });
  } finally {
    log.mockRestore();
  }
  const handle = env.client.workflow.getHandle('provision-stack-a');
  const deadline = Date.now() + 30_000;
  while ((await requestLog()).total === 0) {
    if (Date.now() > deadline) throw new Error('the valid spec never reached the cloud');
    await new Promise((r) => setTimeout(r, 50));
  }
  // Enough seen: cancel, so the run rolls back what it made instead of going on to SSH.
  await handle.cancel();
  await handle.result().catch(() => undefined);
  const { total, requests } = await requestLog();
  expect(total).toBeGreaterThan(0);
  // Every request is there, from the first: nothing before this run reached the cloud.
  expect(requests).toHaveLength(total);
  expect(requests[0]).toEqual({
    seq: 1,
    at: expect.any(String),
    method: expect.any(String),
    url: expect.stringMatching(/^\/v2\//),
    status: expect.any(Number),
  });
});

// Issue 11, item 5: what the spec showed but used to pass the edge. Files the spec pulls in, and
// values only the CLI sees, are refused by the CLI; backup inputs by the workflow at start.
describe('refused at the edge, with no workflow and no API call', () => {
  const fakeKey = ['-----BEGIN OPENSSH', 'PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH', 'PRIVATE KEY-----\n'].join(' ');
  const fileCases: { what: string; file: string; expected: string }[] = [];

  beforeAll(() => {
    // A spec beside a folder holding a private key, as in the report: composeFile: ../fake-key/id_ed25519.
    const project = path.join(specDir, 'project');
    mkdirSync(path.join(specDir, 'fake-key'), { recursive: true });
    mkdirSync(project, { recursive: true });
    writeFileSync(path.join(specDir, 'fake-key', 'id_ed25519'), fakeKey);
    writeFileSync(path.join(project, 'id_ed25519'), fakeKey);
    const withCompose = (name: string, composeFile: string) => {
      const file = path.join(project, `${name}.yaml`);
      writeFileSync(file, stringify({ ...baseSpec(), name, application: { ...baseSpec().application, composeFile } }));
      return file;
    };
    fileCases.push(
      {
        what: 'compose file outside the spec folder',
        file: withCompose('outside', '../fake-key/id_ed25519'),
        expected: 'application.composeFile: ../fake-key/id_ed25519 is outside',
      },
      {
        what: 'private key as the compose file',
        file: withCompose('keyfile', 'id_ed25519'),
        expected: 'application.composeFile: id_ed25519 holds what looks like a private key',
      },
    );
    // 50 MB that used to take 31 s and 1.8 GB: refused from its size (sparse, so cheap to make).
    const huge = path.join(specDir, 'huge.yaml');
    writeFileSync(huge, readFileSync(path.join(specDir, 'good.yaml')));
    truncateSync(huge, 50 * 1024 * 1024);
    fileCases.push({ what: '50 MB spec', file: huge, expected: `${huge}: over the limit of 1 MiB` });
  });

  test('`opsflow provision` refuses spec files that pull in a key, climb out, or are over 1 MiB', async () => {
    // The control test above may have reached the cloud: count from here.
    const before = (await requestLog()).total;
    const refusals = await cliRefusals(fileCases);
    expect(refusals).toEqual(fileCases.map((c) => ({ what: c.what, refused: true, message: expect.stringContaining(c.expected) })));
    expect(JSON.stringify(refusals)).not.toContain('b3BlbnNzaC1rZXk');
    for (const name of ['outside', 'keyfile']) await expectNoWorkflow(provisionWorkflowId(name));
    expect((await requestLog(before)).requests).toEqual([]);
  });

  test('`opsflow deploy --set` with a quote, a line break or a bad service is refused before connecting', async () => {
    const saved = process.env.TEMPORAL_ADDRESS;
    process.env.TEMPORAL_ADDRESS = '127.0.0.1:1'; // nothing listens there: a refusal must come first
    try {
      for (const [value, expected] of [
        ["auth=2.0.2'", "--set auth=2.0.2': not a tag"],
        ['auth=2.0.2\nX=1', '--set auth: not a tag'],
        ['a b=2.0.2', 'a b is not a compose service name'],
      ]) {
        await expect(buildCli().parseAsync(['deploy', 'stack-a', '--set', value!], { from: 'user' })).rejects.toThrow(expected);
      }
    } finally {
      process.env.TEMPORAL_ADDRESS = saved;
    }
  });

  test('runBackups and restoreBackup started directly refuse a climbing prefix or a foreign key, before any activity', async () => {
    const policy = parse(readFileSync(path.join(EXAMPLES_DIR, 'backup-stack-b.yaml'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const climbing = { ...policy, destination: { ...policy.destination, prefix: '../../etc/' } };
    const starts: { what: string; type: string; args: unknown; expected: string; failure: string }[] = [
      {
        what: 'backup prefix climbing out',
        type: 'runBackups',
        args: { policy: climbing },
        expected: 'destination.prefix: must not contain .., . or // parts',
        failure: 'InvalidSpec',
      },
      {
        what: 'restore key climbing out',
        type: 'restoreBackup',
        args: { policy, target: 'postgres', backupKey: 'nightly/stack-b-nightly/../../../etc/passwd', intoDatabase: 'restored' },
        expected: 'backupKey: must not contain ..',
        failure: 'InvalidInput',
      },
      {
        what: "another policy's key",
        type: 'restoreBackup',
        args: {
          policy,
          target: 'postgres',
          backupKey: 'nightly/other/postgres/accounts/20260301T020000Z.sql.gz',
          intoDatabase: 'restored',
        },
        expected: 'backupKey: must be a backup of policy stack-b-nightly: a key under nightly/stack-b-nightly/',
        failure: 'InvalidInput',
      },
    ];
    const outcomes = await Promise.all(
      starts.map(async (c, i) => {
        const workflowId = `edge-refusal-${i}`;
        const error = await env.client.workflow
          .execute(c.type, { taskQueue: TASK_QUEUE, workflowId, args: [c.args], workflowExecutionTimeout: '30s' })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        const failure = error instanceof WorkflowFailedError ? (error.cause as ApplicationFailure) : undefined;
        let activities = 0;
        for (const event of (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [])
          if (event.activityTaskScheduledEventAttributes) activities++;
        return { what: c.what, type: failure?.type, message: failure?.message ?? String(error), activities };
      }),
    );
    expect(outcomes).toEqual(
      starts.map((c) => ({ what: c.what, type: c.failure, message: expect.stringContaining(c.expected), activities: 0 })),
    );
  });
});

async function cloudInventory(): Promise<{ vpcs: unknown[] }> {
  return (await fetch(`${cloud.apiUrl}/_localcloud/inventory`, { headers: cloud.controlHeaders })).json() as Promise<{ vpcs: unknown[] }>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
