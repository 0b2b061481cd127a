// deployRelease on the real Temporal server against a provisioned stack A in the local cloud, whose
// droplet answers SSH and runs the compose services (a tag with `unhealthy` answers /health 503):
// a healthy release goes out, a failing one is rolled back to what ran before, a cancelled one too,
// bad input is refused before any SSH, and `opsflow deploy` drives it all from the terminal.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildCli } from '../../../src/client/cli';
import { buildDeployInput } from '../../../src/client/deploy';
import type { LocalCloud } from '@opsflow/localcloud';
import type { DeployReleaseInput } from '../../../src/specs/deploy-release';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { OpsEnvironment, OpsOperation } from '../../../src/temporal/search-attributes';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { DeployResult } from '../../../src/workflows/release/deploy-release';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { connect, exec } from '../../helpers/droplet-host';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { tempDir } from '../../helpers/temp';
import { freePort } from '../../helpers/processes';
import { startTemporal, temporalCliPath } from '../../helpers/temporal';
import { startPrometheus, type PrometheusInstance } from '../../rollouts/helpers/prometheus-instance';
import { generateLoad, type LoadTally } from '../../../src/rollouts/load-generator';
import type { DeployAnalysisInput } from '../../../src/specs/deploy-analysis';
import { decodedText } from '../../helpers/history-text';

const run = promisify(execFile);

const SECRET = 'correct-horse-battery';
const PORTS: Record<string, number> = { frontend: 3000, auth: 8081, fleet: 8082, booking: 8083, payment: 8084 };

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: OpsflowWorkers;
let provisioned: ProvisionResult;
/** Scrapes auth (port 8081) on the droplet every second: what the post-deploy analyses read. */
let prometheus: PrometheusInstance;
const savedEnv = { ...process.env };

// Stack A as in examples/, with a quick health gate: a probe a second, three failures in a row.
const spec: EnvironmentSpec = (() => {
  const s = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));
  return { ...s, onFailure: 'rollback', healthChecks: s.healthChecks.map((c) => ({ ...c, intervalSeconds: 1, attempts: 3 })) };
})();

/** Workflows run on the task queue the CLI starts on, served by this file's workers. */
function withWorker<T>(fn: () => Promise<T>): Promise<T> {
  return workers.withWorkflowWorker(TASK_QUEUE, fn);
}

function input(images: Record<string, string>, changes: Partial<DeployReleaseInput> = {}): DeployReleaseInput {
  return { ...buildDeployInput({ result: provisioned, spec }, images), ...changes };
}

const address = () => provisioned.hosts[0]!.address;

async function answers(service: string, urlPath: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${address()}:${PORTS[service]}${urlPath}`);
  return { status: response.status, body: (await response.text()).trim() };
}

/** What the droplet itself says: each running service's image (docker compose ps), and its .env. */
async function onHost(): Promise<{ images: Record<string, string>; env: string; envMode: string }> {
  const host = provisioned.hosts[0]!;
  const { client } = await connect(
    { id: host.dropletId, address: host.address, port: provisioned.ssh.port, region: spec.region },
    workers.deployKey,
  );
  try {
    const ps = await exec(client, "cd /opt/app && docker compose ps --format '{{.Service}} {{.Image}}'");
    const envFile = await exec(client, 'cat /opt/app/.env; stat -c %a /opt/app/.env');
    const lines = envFile.stdout.trim().split('\n');
    return {
      images: Object.fromEntries(
        ps.stdout
          .trim()
          .split('\n')
          .map((line) => line.split(' ') as [string, string]),
      ),
      env: lines.slice(0, -1).join('\n'),
      envMode: lines.at(-1)!,
    };
  } finally {
    client.end();
  }
}

/** The application's services and their images as the host runs them now (earlier tests change them). */
async function applicationImages(): Promise<Record<string, string>> {
  const { postgres: _postgres, ...images } = (await onHost()).images;
  return images;
}

/** Every application service is healthy and reports the tag of `images`. */
async function expectServing(images: Record<string, string>): Promise<void> {
  for (const [service, image] of Object.entries(images)) {
    expect([service, await answers(service, '/health')]).toEqual([service, { status: 200, body: 'ok' }]);
    expect([service, (await answers(service, '/version')).body]).toEqual([service, image.split(':').pop()]);
  }
}

async function activitiesScheduled(workflowId: string): Promise<string[]> {
  const names: string[] = [];
  for (const event of (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) names.push(scheduled.activityType?.name ?? '?');
  }
  return names;
}

/** Runs the CLI in-process; returns what it printed (console and progress) or throws its error. */
async function cli(args: string[]): Promise<string> {
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...line: unknown[]) => void printed.push(line.join(' ')));
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((text: string | Uint8Array) => printed.push(String(text)) > 0);
  try {
    await buildCli().parseAsync(args, { from: 'user' });
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return printed.join('\n');
}

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 150 },
  }));
  workers = await startOpsflowWorkers(env, cloud, { STACK_A_POSTGRES_PASSWORD: SECRET });
  // The CLI connects through Temporal's environment configuration, as a user's shell would.
  process.env.TEMPORAL_ADDRESS = env.address;
  process.env.TEMPORAL_NAMESPACE = env.namespace ?? 'default';
  provisioned = await withWorker(() =>
    env.client.workflow.execute('provisionEnvironment', { taskQueue: TASK_QUEUE, workflowId: 'provision-stack-a', args: [{ spec }] }),
  );
  prometheus = await startPrometheus([`${address()}:${PORTS.auth}`]);
});

afterAll(async () => {
  process.env = savedEnv;
  await prometheus?.stop();
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
});

test('a healthy release of two services goes out: the result and the hosts show the new images, secrets stay on the host', async () => {
  const images = { auth: 'ghcr.io/acme/auth:2.0.2', booking: 'ghcr.io/acme/booking:3.2.1' };
  const { result, history } = await withWorker(async () => {
    const handle = await env.client.workflow.start('deployRelease', {
      taskQueue: TASK_QUEUE,
      workflowId: 'deploy-healthy',
      args: [input(images)],
    });
    const value = (await handle.result()) as DeployResult;
    const status = await handle.query<OperationStatus>('status');
    expect(status).toMatchObject({
      step: 'done',
      completedSteps: ['validate input', 'record running images', 'write new images', 'pull and start', 'health gate'],
      remainingSteps: [],
    });
    const attributes = (await handle.describe()).searchAttributes;
    expect([attributes[OpsEnvironment.name], attributes[OpsOperation.name]]).toEqual([['stack-a'], ['deploy']]);
    return { result: value, history: decodedText(await handle.fetchHistory()) };
  });
  const before = spec.application!.images;
  expect(result).toEqual({
    environment: 'stack-a',
    images,
    hosts: [
      {
        instance: 'app',
        address: address(),
        previous: { auth: before.auth, booking: before.booking },
        running: { ...before, ...images, postgres: 'postgres:15' },
      },
    ],
    urls: Object.values(PORTS).map((port) => `http://${address()}:${port}/health`),
  });
  await expectServing({ ...before, ...images });
  const host = await onHost();
  expect(host.images).toEqual({ ...before, ...images, postgres: 'postgres:15' });
  // Only the image lines changed: the secret is still in .env (mode 0600), and never in history.
  expect(host.env).toContain(`POSTGRES_PASSWORD='${SECRET}'`);
  expect(host.env).toContain("AUTH_IMAGE='ghcr.io/acme/auth:2.0.2'");
  expect(host.envMode).toBe('600');
  // Payloads decoded: the history carries the new images, not the secret.
  expect(history).toContain('ghcr.io/acme/auth:2.0.2');
  expect(history).not.toContain(SECRET);
});

test('a release that fails its health gate is rolled back: RolledBack says what runs, every service is back and healthy', async () => {
  const current = await applicationImages();
  const started = Date.now();
  const { err, status } = await withWorker(async () => {
    const handle = await env.client.workflow.start('deployRelease', {
      taskQueue: TASK_QUEUE,
      workflowId: 'deploy-unhealthy',
      args: [input({ auth: 'ghcr.io/acme/auth:2.0.3-unhealthy', fleet: 'ghcr.io/acme/fleet:1.1.1' })],
    });
    return { err: await handle.result().catch((e: unknown) => e), status: await handle.query<OperationStatus>('status') };
  });
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  expect(failure.message).toContain('release auth ghcr.io/acme/auth:2.0.3-unhealthy, fleet ghcr.io/acme/fleet:1.1.1 failed');
  expect(failure.message).toContain(`http://${address()}:8081/health was not healthy after 3 consecutive failed probes`);
  expect(failure.message).toContain(`rolled back, healthy again: app runs auth ${current.auth}, fleet ${current.fleet}`);
  expect(failure.details).toEqual([
    expect.objectContaining({ running: { app: expect.objectContaining({ auth: current.auth, fleet: current.fleet }) } }),
  ]);
  expect(status.step).toBe('rolled back');
  expect(status.outcome).toMatchObject({
    state: 'rolled back',
    reason: expect.stringContaining('was not healthy after 3 consecutive failed probes'),
  });
  // Three probes a second apart, then the restore: seconds, not minutes.
  expect(Date.now() - started).toBeLessThan(30_000);

  await expectServing(current);
  expect((await onHost()).images).toEqual({ ...current, postgres: 'postgres:15' });
});

test('when the previous images do not come back healthy either, the run fails with RollbackIncomplete, not RolledBack', async () => {
  const current = await applicationImages();
  // A check nothing answers: the release fails it, and so does the version put back.
  const healthChecks = [
    ...spec.healthChecks,
    { name: 'nothing', port: 9, path: '/health', expectStatus: 200, intervalSeconds: 1, attempts: 2 },
  ];
  const err = await withWorker(() =>
    env.client.workflow
      .execute('deployRelease', {
        taskQueue: TASK_QUEUE,
        workflowId: 'deploy-rollback-fails',
        args: [input({ fleet: 'ghcr.io/acme/fleet:1.1.2' }, { healthChecks })],
      })
      .catch((e: unknown) => e),
  );
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RollbackIncomplete');
  expect(failure.message).toContain('release fleet ghcr.io/acme/fleet:1.1.2 failed');
  expect(failure.message).toContain(
    `the previous images did not come back: restore previous images on app: waitHealthy: http://${address()}:9/health was not healthy`,
  );
  // The old images were written back and started; only their health could not be shown.
  expect((await onHost()).images).toEqual({ ...current, postgres: 'postgres:15' });
});

test('cancelling a release during its health gate puts the previous images back', async () => {
  const current = await applicationImages();
  const err = await withWorker(async () => {
    // Twenty failures allowed: it would take 20 s to give up on its own.
    const handle = await env.client.workflow.start('deployRelease', {
      taskQueue: TASK_QUEUE,
      workflowId: 'deploy-cancelled',
      args: [input({ payment: 'ghcr.io/acme/payment:1.0.9-unhealthy' }, { consecutiveFailures: 20 })],
    });
    for (let i = 0; i < 200 && (await handle.query<OperationStatus>('status')).step !== 'health gate'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await answers('payment', '/version')).body).toBe('1.0.9-unhealthy');
    await handle.cancel();
    const e = await handle.result().catch((x: unknown) => x);
    // The status ends as the rollback did, with cancelling as the reason and what was put back.
    expect((await handle.query<OperationStatus>('status')).outcome).toEqual({
      state: 'rolled back',
      reason: 'cancelled',
      undone: ['restore previous images on app'],
      notUndone: [],
      kept: [],
    });
    return e;
  });
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  await expectServing(current);
});

test('bad input is refused before any SSH: InvalidInput naming the field; a service the host does not run is refused before any change', async () => {
  const cases: [string, Partial<DeployReleaseInput>, string][] = [
    ['malformed image', { images: { auth: 'ghcr.io/acme/auth' } }, 'images.auth: must be an image with a tag'],
    ['shell in an image', { images: { auth: "ghcr.io/acme/auth:1'; rm -rf /" } }, 'images.auth: must be an image with a tag'],
    ['bad service name', { images: { 'auth service': 'ghcr.io/acme/auth:2.0.2' } }, 'images.auth service: is not a compose service name'],
    ['no images', { images: {} }, 'images: names no service to deploy'],
    [
      'host key not pinned',
      { hosts: [{ instance: 'app', address: '127.0.0.1', hostKey: 'yes' }] },
      'hosts.0.hostKey: must be an OpenSSH SHA256 fingerprint',
    ],
  ];
  const outcomes = await withWorker(() =>
    Promise.all(
      cases.map(async ([what, changes], i) => {
        const workflowId = `deploy-bad-${i}`;
        const error = await env.client.workflow
          .execute('deployRelease', { taskQueue: TASK_QUEUE, workflowId, args: [input({ auth: 'ghcr.io/acme/auth:2.0.2' }, changes)] })
          .catch((e: unknown) => e);
        const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
        return { what, type: failure.type, message: failure.message, activities: (await activitiesScheduled(workflowId)).length };
      }),
    ),
  );
  expect(outcomes).toEqual(
    cases.map(([what, , field]) => ({ what, type: 'InvalidInput', message: expect.stringContaining(field), activities: 0 })),
  );

  // Well formed, but not a service of this application: found by reading the host, nothing written.
  const unknown = await withWorker(() =>
    env.client.workflow
      .execute('deployRelease', {
        taskQueue: TASK_QUEUE,
        workflowId: 'deploy-unknown',
        args: [input({ auth: 'ghcr.io/acme/auth:2.0.2' }, { images: { notifications: 'ghcr.io/acme/notifications:1.0.0' } })],
      })
      .catch((e: unknown) => e),
  );
  const failure = (unknown as WorkflowFailedError).cause as ApplicationFailure;
  expect([failure.type, failure.message]).toEqual([
    'ServiceNotRunning',
    expect.stringContaining('notifications on app is not a running service (running: auth, booking, fleet, frontend, payment, postgres)'),
  ]);
  // The claim of the environment first (refused input never gets that far), then the read.
  expect(await activitiesScheduled('deploy-unknown')).toEqual(['claimEnvironment', 'runRemoteCommand']);

  // The CLI refuses an unknown service or a bad tag before starting anything.
  await expect(cli(['deploy', 'stack-a', '--set', 'notifications=1.0.0'])).rejects.toThrow(
    '--set notifications: stack-a has no service notifications; its services are auth, booking, fleet, frontend, payment',
  );
  await expect(cli(['deploy', 'stack-a', '--set', 'auth=2.0 2'])).rejects.toThrow('--set auth=2.0 2: not a tag');
  await expect(cli(['deploy', 'stack-a', '--set', 'auth'])).rejects.toThrow('--set auth: write service=tag');
  const started: string[] = [];
  for await (const run of env.client.workflow.list({ query: "WorkflowType = 'deployRelease'" })) started.push(run.workflowId);
  expect(started.filter((id) => id.startsWith('deploy-stack-a-'))).toEqual([]);
});

test('`opsflow deploy` finds the environment, deploys, follows progress and prints what runs; a failing release says it was rolled back', async () => {
  // --print-input: the input for `temporal workflow start --type deployRelease --input-file`.
  const printedInput = await cli(['deploy', 'stack-a', '--set', 'fleet=1.1.3', '--print-input']);
  expect(JSON.parse(printedInput)).toMatchObject({
    environment: 'stack-a',
    directory: '/opt/app',
    images: { fleet: 'ghcr.io/acme/fleet:1.1.3' },
    hosts: [{ instance: 'app', address: address(), hostKey: provisioned.hosts[0]!.hostKey }],
    ssh: provisioned.ssh,
  });
  const inputFile = path.join(tempDir('deploy-input'), 'deploy.json');
  writeFileSync(inputFile, printedInput);
  await withWorker(async () => {
    const where = ['--address', env.address, '--namespace', env.namespace ?? 'default'];
    await run(temporalCliPath(), [
      'workflow',
      'start',
      '--type',
      'deployRelease',
      '--task-queue',
      TASK_QUEUE,
      '--workflow-id',
      'deploy-from-temporal-cli',
      '--input-file',
      inputFile,
      ...where,
    ]);
    const { stdout } = await run(temporalCliPath(), [
      'workflow',
      'result',
      '--workflow-id',
      'deploy-from-temporal-cli',
      '--output',
      'json',
      ...where,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({
      status: expect.stringMatching(/COMPLETED/),
      result: { images: { fleet: 'ghcr.io/acme/fleet:1.1.3' } },
    });
  });
  expect((await answers('fleet', '/version')).body).toBe('1.1.3');

  const before = await applicationImages();
  const output = await withWorker(() =>
    cli(['deploy', 'stack-a', '--set', 'payment=1.0.8', '--set', 'frontend=ghcr.io/acme/frontend:1.5.0']),
  );
  expect(output).toMatch(
    /Deploying payment ghcr.io\/acme\/payment:1.0.8, frontend ghcr.io\/acme\/frontend:1.5.0 to stack-a: workflow deploy-stack-a-\d+/,
  );
  expect(output).toContain('✔ health gate');
  expect(output).toContain('Released to stack-a: payment ghcr.io/acme/payment:1.0.8, frontend ghcr.io/acme/frontend:1.5.0');
  expect(output).toContain(`payment      ghcr.io/acme/payment:1.0.8  (was ${before.payment})`);
  const now: Record<string, string> = { ...before, payment: 'ghcr.io/acme/payment:1.0.8', frontend: 'ghcr.io/acme/frontend:1.5.0' };
  await expectServing(now);

  const failed = await withWorker(() => cli(['deploy', 'stack-a', '--set', 'booking=3.3.0-unhealthy']).catch((e: unknown) => e));
  expect(((failed as WorkflowFailedError).cause as ApplicationFailure).type).toBe('RolledBack');
  expect(((failed as WorkflowFailedError).cause as ApplicationFailure).message).toContain(`app runs booking ${now.booking}`);
  await expectServing(now);

  // No environment, or none whose provisioning completed: said plainly, nothing started.
  await expect(cli(['deploy', 'nowhere', '--set', 'auth=1.0.0'])).rejects.toThrow(
    'environment nowhere is unknown here (no workflow environment-nowhere)',
  );
  await withWorker(() =>
    env.client.workflow
      .execute('provisionEnvironment', {
        taskQueue: TASK_QUEUE,
        workflowId: 'provision-broken',
        args: [{ spec: { ...spec, name: 'broken', region: 'mars1' } }],
      })
      .catch(() => undefined),
  );
  await expect(cli(['deploy', 'broken', '--set', 'auth=1.0.0'])).rejects.toThrow(
    'environment broken is unknown here (no workflow environment-broken)',
  );
});

// Post-deploy verification (issue 14 item 6): a release that passes /health must also pass an
// analysis of its real requests in Prometheus, or it is rolled back through the same saga.

/** auth's error ratio for the version deployed, every 2 s; no data yet (not scraped twice) is tolerated three times. */
function errorRatioAnalysis(): DeployAnalysisInput {
  const ofVersion = 'version="{{args.canary-version}}"';
  return {
    prometheus: { address: prometheus.address },
    templates: {
      'auth-errors': {
        metrics: [
          {
            name: 'error-ratio',
            query: `(sum(rate(http_requests_total{${ofVersion},code=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total{${ofVersion}}[10s]))`,
            successCondition: 'result < 0.05',
            interval: '2s',
            count: 6,
            inconclusiveLimit: 3,
          },
        ],
      },
    },
  };
}

/** Requests to auth, two at a time, for as long as `fn` runs (bounded: at most 3 minutes): the traffic the analysis judges. */
async function underLoad<T>(fn: () => Promise<T>): Promise<{ value: T; load: LoadTally }> {
  let finished = false;
  const load = generateLoad(`http://${address()}:${PORTS.auth}/`, {
    total: 1_000_000,
    concurrency: 2,
    deadlineMs: 180_000,
    enough: () => finished,
  });
  const value = await fn().finally(() => (finished = true));
  return { value, load: await load };
}

test('a release that answers /health but fails real requests is rolled back by its analysis, naming the metric and its values', async () => {
  const current = await applicationImages();
  const bad = 'ghcr.io/acme/auth:2.4.0-err20'; // 20 of every 100 requests answer 500; /health always 200
  const { value, load } = await underLoad(() =>
    withWorker(async () => {
      const handle = await env.client.workflow.start('deployRelease', {
        taskQueue: TASK_QUEUE,
        workflowId: 'deploy-analysis-bad',
        args: [input({ auth: bad }, { analysis: errorRatioAnalysis() })],
      });
      const err = await handle.result().catch((e: unknown) => e);
      return { err, status: await handle.query<OperationStatus>('status'), printed: await cli(['status', 'deploy-analysis-bad']) };
    }),
  );
  // The version really failed requests, and its health gate passed: the analysis caught it.
  expect(load.failures).toContain('HTTP 500');
  const failure = (value.err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  expect((failure.cause as ApplicationFailure).type).toBe('AnalysisFailed');
  const measured =
    /analysis failed: error-ratio: 1 failed measurement, more than failureLimit 0; last: ([\d.]+) does not meet result < 0\.05 \(values measured: ([^)]*)\)/.exec(
      failure.message,
    );
  expect(measured).not.toBeNull();
  // About 20% of auth's requests, as the tag says (rates over a 10 s window of live traffic).
  expect(Number(measured![1])).toBeGreaterThan(0.1);
  expect(Number(measured![1])).toBeLessThan(0.3);
  expect(failure.message).toContain(`release auth ${bad} failed (`);
  expect(failure.message).toContain(`rolled back, healthy again: app runs auth ${current.auth}`);

  // The status says how it ended, and each measurement; one activity per measurement, a timer between them.
  expect(value.status.outcome).toMatchObject({
    state: 'rolled back',
    reason: expect.stringContaining('analysis failed: error-ratio'),
    undone: ['restore previous images on app'],
  });
  expect(value.status.completedSteps).toEqual([
    'validate input',
    'record running images',
    'write new images',
    'pull and start',
    'health gate',
  ]);
  expect(value.status.failedSteps).toEqual([expect.stringMatching(/^analysis: analysis failed: error-ratio/)]);
  const measurements = value.status.resources.filter((r) => r.kind === 'measurement');
  expect(measurements.at(-1)!.id).toMatch(/^error-ratio #\d+ failed: /);
  const history = (await env.client.workflow.getHandle('deploy-analysis-bad').fetchHistory()).events ?? [];
  expect((await activitiesScheduled('deploy-analysis-bad')).filter((a) => a === 'measureMetric')).toHaveLength(measurements.length);
  expect(history.filter((e) => e.timerStartedEventAttributes).length).toBeGreaterThanOrEqual(measurements.length - 1);
  expect(value.printed).toContain('state: rolled back');
  expect(value.printed).toMatch(/reason: analysis failed: error-ratio: 1 failed measurement, more than failureLimit 0; last: 0\.\d+/);
  expect(value.printed).toContain('undone: restore previous images on app');

  await expectServing(current);
  expect((await onHost()).images.auth).toBe(current.auth);
});

test('`opsflow deploy --analysis <file>`: a good version passes its analysis and stays; a bad analysis file is refused at its line', async () => {
  const good = 'ghcr.io/acme/auth:2.4.1';
  const file = path.join(tempDir('deploy-analysis'), 'analysis.json');
  writeFileSync(file, JSON.stringify(errorRatioAnalysis(), null, 2));
  const { value: output, load } = await underLoad(() =>
    withWorker(() => cli(['deploy', 'stack-a', '--set', 'auth=2.4.1', '--analysis', file])),
  );
  expect(load.failures).not.toContain('HTTP 500');
  expect(output).toContain('✔ health gate');
  expect(output).toContain('✔ analysis');
  expect(output).toMatch(/measurement +error-ratio #\d+ successful: 0 meets result < 0\.05/);
  expect(output).toMatch(/analysis +passed: all 1 metrics succeeded/);
  expect(output).toContain(`Released to stack-a: auth ${good}`);
  expect((await answers('auth', '/version')).body).toBe('2.4.1');

  // Refused before connecting: the file's own line and column, and what a deploy cannot do.
  const badFile = path.join(tempDir('deploy-analysis-bad'), 'analysis.yaml');
  writeFileSync(
    badFile,
    [
      'prometheus:',
      `  address: ${prometheus.address}`,
      'templates:',
      '  versus-stable:',
      '    metrics:',
      '      - name: errors',
      '        compare: { canary: "x", stable: "y", margin: { relative: 0.1 } }',
      '',
    ].join('\n'),
  );
  await expect(cli(['deploy', 'stack-a', '--set', 'auth=2.4.2', '--analysis', badFile])).rejects.toThrow(
    `${badFile}:7:9: templates.versus-stable.metrics.0.compare: a deploy replaces every host at once, so there is no stable version to compare with`,
  );
  // Two tags at once, but a query asks for "the" version: refused by the input's schema, nothing started.
  await expect(cli(['deploy', 'stack-a', '--set', 'auth=2.4.2', '--set', 'fleet=1.2.0', '--analysis', file])).rejects.toThrow(
    'analysis: a query uses {{args.canary-version}}, but the images have different tags (2.4.2, 1.2.0)',
  );
});

test('with Prometheus unreachable the analysis cannot measure, and the release is rolled back, never passed', async () => {
  const current = await applicationImages();
  const nowhere = { ...errorRatioAnalysis(), prometheus: { address: `http://127.0.0.1:${await freePort()}` } };
  nowhere.templates!['auth-errors']!.metrics[0]!.consecutiveErrorLimit = 1;
  const err = await withWorker(() =>
    env.client.workflow
      .execute('deployRelease', {
        taskQueue: TASK_QUEUE,
        workflowId: 'deploy-analysis-unreachable',
        args: [input({ auth: 'ghcr.io/acme/auth:2.4.3' }, { analysis: nowhere })],
      })
      .catch((e: unknown) => e),
  );
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  expect((failure.cause as ApplicationFailure).type).toBe('AnalysisFailed');
  expect(failure.message).toMatch(
    /analysis could not measure: error-ratio: 2 errors in a row, more than consecutiveErrorLimit 1; last: PrometheusUnreachableError: Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED \(values measured: none, none\)/,
  );
  // Two measurements, each one activity that answered (an error is a measurement, not a retried failure).
  expect((await activitiesScheduled('deploy-analysis-unreachable')).filter((a) => a === 'measureMetric')).toHaveLength(2);
  await expectServing(current);
});
