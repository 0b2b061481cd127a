// Benchmark: what provisioning stack A costs in DigitalOcean API requests, and 20 stack-A
// environments provisioned at once against the account's 250 requests a minute (the local cloud's
// default budget), by the production worker (dist/worker.js) as a child process with its
// task-queue rate limit. Counted from the local cloud's request log: requests per environment by
// kind, 429s served, workflows failed; wall time against the floor the rate limit sets for that
// many requests; the worker's peak RSS (VmHWM).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { dropletSshPort, LocalCloud, generateEd25519, type LoggedRequest, REALISTIC_TIMING } from '@opsflow/localcloud';
import { resolveTemporalCli } from '../src/devstack/temporal-cli';
import { loadEnvironmentSpec } from '../src/specs/load';
import type { EnvironmentSpec } from '../src/specs/environment';
import { OPS_SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { DIGITALOCEAN_ACTIVITIES_PER_SECOND, TASK_QUEUE } from '../src/temporal/task-queues';
import { writeResults, type Row } from './harness';
import { byKind, extras, inventory, kindOf, resetCloud, ROOT, startWorker, stopWorker, WORKER, writeWorkflowBundle } from './opsflow-run';

const ENVIRONMENTS = 20;
const PER_MINUTE = 250;
/** Droplets of the e2e test live on 127.99.x.y, a developer's `npm start` on 127.100.x.y. */
const HOST_NETWORK = 98;
const TARGET_RATIO = 1.3;

const stackA = loadEnvironmentSpec(path.join(ROOT, 'examples', 'stack-a.yaml'));

interface Phase {
  /** Epoch ms when the workflows were started. */
  startedAt: number;
  wallMs: number;
  requests: LoggedRequest[];
  failures: string[];
  /** Activity attempts beyond the first, from the workflows' histories. */
  retries: number;
  /** The most attempts one activity took (CLOUD_RETRY allows 8). */
  maxAttempt: number;
}

/** The most requests (429s not counted) the cloud served in any 60 s window. */
function busiestMinute(requests: LoggedRequest[]): number {
  const times = requests.filter((r) => r.status !== 429).map((r) => Date.parse(r.at));
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while ((times[j] as number) - (times[i] as number) >= 60_000) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

/**
 * Where the budget went: requests served (and 429s) in each 10 s from the start, and how long the
 * run went on after its last served request (the SSH work no API scheduling can shorten).
 */
function timeline(phase: Phase): string {
  const buckets: { served: number; throttled: number }[] = [];
  let lastServed = 0;
  for (const r of phase.requests) {
    const offset = Date.parse(r.at) - phase.startedAt;
    const bucket = (buckets[Math.floor(offset / 10_000)] ??= { served: 0, throttled: 0 });
    if (r.status === 429) bucket.throttled++;
    else {
      bucket.served++;
      lastServed = Math.max(lastServed, offset);
    }
  }
  const cells = Array.from(buckets, (b, i) => `${i * 10}s ${b?.served ?? 0}${b?.throttled ? `+${b.throttled}×429` : ''}`);
  return `served per 10 s from the start: ${cells.join(', ')}; last served request at ${(lastServed / 1000).toFixed(1)} s, the run ended ${((phase.wallMs - lastServed) / 1000).toFixed(1)} s later`;
}

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

async function attemptsOf(handle: WorkflowHandle): Promise<number[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => event.activityTaskStartedEventAttributes?.attempt ?? []);
}

async function provision(temporal: TestWorkflowEnvironment, cloud: LocalCloud, specs: EnvironmentSpec[]): Promise<Phase> {
  const since = cloud.requestLog.total;
  const startedAt = Date.now();
  const started = performance.now();
  const handles = await Promise.all(
    specs.map((spec) =>
      temporal.client.workflow.start('provisionEnvironment', {
        taskQueue: TASK_QUEUE,
        workflowId: `provision-${spec.name}`,
        args: [{ spec }],
      }),
    ),
  );
  const failures: string[] = [];
  await Promise.all(
    handles.map((handle) =>
      handle.result().catch((err: unknown) => {
        const cause = (err as { cause?: { message?: string } }).cause;
        failures.push(`${handle.workflowId}: ${cause?.message ?? String(err)}`);
      }),
    ),
  );
  const wallMs = performance.now() - started;
  const attempts = (await Promise.all(handles.map(attemptsOf))).flat();
  return {
    startedAt,
    wallMs,
    requests: cloud.requestLog.list(since).requests,
    failures,
    retries: attempts.reduce((sum, a) => sum + a - 1, 0),
    maxAttempt: Math.max(...attempts),
  };
}

async function main(): Promise<void> {
  if (!existsSync(WORKER)) throw new Error('dist/worker.js is missing: run `npm run build` first');
  const work = mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-provision-'));
  const keyFile = path.join(work, 'deploy');
  writeFileSync(keyFile, generateEd25519().private, { mode: 0o600 });
  const workerLog = path.join(work, 'worker.log');

  const sshPort = await dropletSshPort(HOST_NETWORK);
  const spec = (name: string, n: number): EnvironmentSpec => ({
    ...structuredClone(stackA),
    name,
    vpc: { ipRange: `10.${n}.0.0/16` },
    ssh: { ...stackA.ssh, port: sshPort },
  });

  // The production worker loads a prebuilt bundle (as a Docker image would), so its memory is the load's.
  const bundle = await writeWorkflowBundle(work);

  const temporal = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await resolveTemporalCli() },
      ip: '127.0.0.1',
      searchAttributes: [...OPS_SEARCH_ATTRIBUTES],
    },
  });
  // DigitalOcean's own budget (250 a minute, 5,000 an hour) and durations close to its own.
  const cloud = await LocalCloud.start({
    stateDir: path.join(work, 'cloud'),
    hostNetwork: HOST_NETWORK,
    dropletLimit: ENVIRONMENTS + 10,
    timing: REALISTIC_TIMING,
    sshHosts: { sshPort },
  });
  let worker: ChildProcess | undefined;
  try {
    const workerEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: temporal.address,
      OPSFLOW_WORKFLOW_BUNDLE: bundle,
      OPSFLOW_METRICS_ADDRESS: 'off',
      DIGITALOCEAN_TOKEN: cloud.token,
      DIGITALOCEAN_API_URL: cloud.apiUrl,
      OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
      STACK_A_POSTGRES_PASSWORD: randomBytes(18).toString('base64url'),
    };

    // (a) one environment alone: the requests it costs.
    worker = await startWorker(workerEnv, workerLog);
    console.log('(a) one stack-A environment...');
    const one = await provision(temporal, cloud, [spec('solo', 10)]);
    if (one.failures.length) throw new Error(`the single environment failed: ${one.failures.join('; ')}`);
    await stopWorker(worker);
    await resetCloud(cloud);

    // (b) twenty at once, a fresh worker and a fresh rate-limit window.
    worker = await startWorker(workerEnv, workerLog);
    const pid = worker.pid as number;
    const idleRssKb = procStatusKb(pid, 'VmRSS');
    let peakKb = procStatusKb(pid, 'VmHWM');
    const sampler = setInterval(() => {
      try {
        peakKb = Math.max(peakKb, procStatusKb(pid, 'VmHWM'));
      } catch {
        // exited
      }
    }, 1000);
    console.log(`(b) ${ENVIRONMENTS} stack-A environments at once...`);
    const many = await provision(
      temporal,
      cloud,
      Array.from({ length: ENVIRONMENTS }, (_, i) => spec(`bench-${String(i + 1).padStart(2, '0')}`, 101 + i)),
    );
    clearInterval(sampler);
    peakKb = Math.max(peakKb, procStatusKb(pid, 'VmHWM'));
    await stopWorker(worker);
    worker = undefined;
    const leftOver = extras(await inventory(cloud), ENVIRONMENTS - many.failures.length);

    const served = (p: Phase) => p.requests.filter((r) => r.status !== 429);
    const throttled = many.requests.filter((r) => r.status === 429).length;
    const perEnv = served(many).length / ENVIRONMENTS;
    const floorMs = (served(many).length / PER_MINUTE) * 60_000;
    const ratio = many.wallMs / floorMs;
    const other = many.requests.filter((r) => r.status >= 400 && r.status !== 429);
    const rows: Row[] = [
      { measure: '(a) API requests for one stack-A environment', value: String(served(one).length), target: 'count', verdict: 'info' },
      { measure: '(a) its wall time, alone', value: `${(one.wallMs / 1000).toFixed(1)} s`, verdict: 'info' },
      {
        measure: `(b) API requests for ${ENVIRONMENTS} environments at once (429s not counted)`,
        value: String(served(many).length),
        baseline: `${served(one).length * ENVIRONMENTS} (${ENVIRONMENTS} × one alone)`,
        ratio: (served(many).length / (served(one).length * ENVIRONMENTS)).toFixed(2),
        target: 'info',
        verdict: 'info',
      },
      {
        measure: '(b) API requests per environment',
        value: perEnv.toFixed(1),
        baseline: String(served(one).length),
        ratio: (perEnv / served(one).length).toFixed(2),
        verdict: 'info',
      },
      { measure: '(b) 429s the cloud served', value: String(throttled), verdict: 'info' },
      {
        measure: '(b) workflows failed (429s or anything else surfacing)',
        value: String(many.failures.length),
        target: '0',
        verdict: many.failures.length === 0 ? 'met' : 'missed',
      },
      { measure: '(b) other 4xx/5xx the cloud served', value: String(other.length), target: 'info', verdict: 'info' },
      {
        measure: '(b) resources other than one of each per environment (duplicates, orphans)',
        value: leftOver.length ? leftOver.join('; ') : '0',
        target: '0',
        verdict: leftOver.length ? 'missed' : 'met',
      },
      {
        measure: '(b) activity retries (attempts beyond the first); most attempts of one activity',
        value: `${many.retries}; ${many.maxAttempt}`,
        target: 'most < 8 (CLOUD_RETRY)',
        verdict: many.maxAttempt < 8 ? 'met' : 'missed',
      },
      {
        measure: '(b) most requests served in any 60 s',
        value: String(busiestMinute(many.requests)),
        target: `≤ ${PER_MINUTE}`,
        verdict: busiestMinute(many.requests) <= PER_MINUTE ? 'met' : 'missed',
      },
      {
        measure: `(b) wall time, ${ENVIRONMENTS} environments`,
        value: `${(many.wallMs / 1000).toFixed(1)} s`,
        baseline: `${(floorMs / 1000).toFixed(1)} s floor (${served(many).length} requests at ${PER_MINUTE}/min)`,
        ratio: ratio.toFixed(2),
        target: `≤ ${TARGET_RATIO}`,
        verdict: ratio <= TARGET_RATIO ? 'met' : 'missed',
      },
      {
        measure: '(b) worker peak RSS (VmHWM)',
        value: `${(peakKb / 1024).toFixed(0)} MiB`,
        baseline: `${(idleRssKb / 1024).toFixed(0)} MiB at start`,
        ratio: (peakKb / idleRssKb).toFixed(2),
        target: 'info',
        verdict: 'info',
      },
    ];
    const notes = [
      `(a) requests by kind: ${byKind(served(one))}`,
      `(b) requests by kind, per environment: ${byKind(served(many), ENVIRONMENTS)}`,
      `(b) ${timeline(many)}`,
      ...(throttled ? [`(b) 429s by kind: ${byKind(many.requests.filter((r) => r.status === 429))}`] : []),
      ...(other.length ? [`(b) other errors: ${[...new Set(other.map((r) => `${r.status} ${kindOf(r)}`))].join(', ')}`] : []),
      ...many.failures.map((f) => `(b) failed: ${f}`),
      `local cloud: rate limit ${PER_MINUTE}/min and 5,000/h (its defaults, DigitalOcean's), realistic timing (droplet active ${REALISTIC_TIMING.dropletCreateMs / 1000} s after create, actions ${REALISTIC_TIMING.actionMs / 1000} s), droplet limit ${ENVIRONMENTS + 10}, droplets as SSH hosts on 127.${HOST_NETWORK}.x.y:${sshPort}`,
      `worker: dist/worker.js as a child process (prebuilt workflow bundle), DigitalOcean task queue limited to ${DIGITALOCEAN_ACTIVITIES_PER_SECOND} activity starts a second across workers, each request paced in the worker (250 in any 60.5 s, DIGITALOCEAN_REQUESTS_PER_MINUTE unset); Temporal dev server on this machine`,
      "floor = requests served ÷ 250 a minute: the time the account budget alone needs for that many requests; the wall time also holds each environment's SSH work (mount, apt, compose up of PostgreSQL and five services, health gate) on the same 2 cores",
      'each environment: register SSH key, VPC, firewall, droplet, wait, 20 GB volume, attach, reserved IP, then over SSH: mount, bootstrap, compose up, health gate (stack A as in examples/stack-a.yaml, names and VPC ranges distinct)',
    ];
    console.log(
      writeResults(
        'provision',
        `Provisioning stack A: API requests and ${ENVIRONMENTS} environments under 250 requests a minute`,
        rows,
        notes,
      ),
    );
    for (const row of rows) console.log(`${row.measure}: ${row.value}${row.ratio ? ` (${row.ratio})` : ''} ${row.verdict ?? ''}`);
  } finally {
    if (worker) await stopWorker(worker);
    await cloud.stop();
    await temporal.teardown();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
