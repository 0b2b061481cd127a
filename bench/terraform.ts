// Benchmark: stack A's infrastructure (SSH key, VPC, droplet, firewall, 20 GB volume and its
// attachment, reserved IP and its assignment) made by Terraform with DigitalOcean's own provider
// (test/terraform/configs/stack-a/main.tf) and by opsflow's provisionEnvironment (the production
// worker, dist/worker.js), on one local cloud with realistic timing and DigitalOcean's rate limit.
// Each round runs both, the cloud emptied before each; requests counted from the cloud's request
// log, wall time to the last API request (infrastructure done) and, for Terraform, the whole apply.
// Then 20 environments at once with each tool: Terraform one config and state folder per
// environment, 20 applies in parallel; opsflow 20 provisionEnvironment runs on one worker.
// Without the provider binary (OPSFLOW_TF_PROVIDER_DIR or ~/.cache/opsflow) it says so and exits 0.
// OPSFLOW_BENCH_TOOLS=opsflow measures opsflow alone (no provider needed), OPSFLOW_BENCH_DIST
// another build of it (the commit before a change): the baseline of "at most 0.7 of today's".
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { dropletSshPort, generateEd25519, LocalCloud, type LoggedRequest, REALISTIC_TIMING } from '@opsflow/localcloud';
import { resolveTemporalCli } from '../src/devstack/temporal-cli';
import type { EnvironmentSpec } from '../src/specs/environment';
import { loadEnvironmentSpec } from '../src/specs/load';
import { OPS_SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { TASK_QUEUE } from '../src/temporal/task-queues';
import { findTerraformSetup, terraformIn } from '../test/helpers/terraform';
import { writeResults, type Row } from './harness';
import {
  byKind,
  DIST,
  extras,
  inventory,
  kindOf,
  resetCloud,
  ROOT,
  startWorker,
  stopWorker,
  WORKER,
  writeWorkflowBundle,
} from './opsflow-run';

const ROUNDS = Number(process.env.OPSFLOW_BENCH_ROUNDS ?? 3);
const AT_ONCE = Number(process.env.OPSFLOW_BENCH_AT_ONCE ?? 20);
const OPSFLOW_ONLY = process.env.OPSFLOW_BENCH_TOOLS === 'opsflow';
/** provision.ts uses 98, the e2e test 99, `npm start` 100. */
const HOST_NETWORK = Number(process.env.OPSFLOW_BENCH_HOST_NETWORK ?? 97);
const STACK_A_TF = path.join(ROOT, 'test', 'terraform', 'configs', 'stack-a', 'main.tf');

interface Run {
  requests: LoggedRequest[];
  /** From the start to the response to the last API request: the infrastructure is done. */
  infraMs: number;
  /** The whole run: Terraform's apply process, or opsflow's workflow (with its SSH wait and mount). */
  wholeMs: number;
}

function measured(cloud: LocalCloud, since: number, startedAt: number, wholeMs: number): Run {
  const requests = cloud.requestLog.list(since).requests;
  const last = Math.max(...requests.map((r) => Date.parse(r.at)));
  return { requests, infraMs: last - startedAt, wholeMs };
}

/** When each create was sent, from the start: shows what went at once and what one after another. */
function creates(run: Run, startedAt: number): string {
  return run.requests
    .filter((r) => r.method === 'POST')
    .map((r) => `${kindOf(r).replace('POST ', '')} @${((Date.parse(r.at) - startedAt) / 1000).toFixed(1)}s`)
    .join(', ');
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const errorsOf = (run: Run) => run.requests.filter((r) => r.status >= 400).map((r) => `${r.status} ${kindOf(r)}`);

/** Many environments at once: what the cloud served and refused, and what is left in it. */
interface AtOnceRun {
  served: LoggedRequest[];
  throttled: number;
  /** From the start to the last API request served. */
  infraMs: number;
  /** Until the last apply or workflow ended. */
  wholeMs: number;
  failures: string[];
  /** Resources other than one of each per environment that succeeded. */
  leftOver: string[];
}

async function atOnceRun(cloud: LocalCloud, since: number, startedAt: number, wholeMs: number, failures: string[]): Promise<AtOnceRun> {
  const requests = cloud.requestLog.list(since).requests;
  const served = requests.filter((r) => r.status !== 429);
  const last = Math.max(...served.map((r) => Date.parse(r.at)));
  const leftOver = extras(await inventory(cloud), AT_ONCE - failures.length);
  return { served, throttled: requests.length - served.length, infraMs: last - startedAt, wholeMs, failures, leftOver };
}

const padded = (i: number) => String(i + 1).padStart(2, '0');

async function main(): Promise<void> {
  const setup = OPSFLOW_ONLY ? undefined : findTerraformSetup();
  if (setup && !setup.ok) {
    console.log(`bench/terraform.ts skipped: ${setup.reason}`);
    return;
  }
  if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run \`npm run build\` first`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'opsflow-bench-terraform-'));
  const key = generateEd25519();
  const keyFile = path.join(work, 'deploy');
  writeFileSync(keyFile, key.private, { mode: 0o600 });
  const sshPort = await dropletSshPort(HOST_NETWORK);
  // Stack A's infrastructure only: what Terraform makes. The SSH work (bootstrap, compose, health gate) is left out.
  const stackA = loadEnvironmentSpec(path.join(ROOT, 'examples', 'stack-a.yaml'));
  const infraSpec = (name: string, n: number): EnvironmentSpec => ({
    ...structuredClone(stackA),
    name,
    vpc: { ipRange: `10.${n}.0.0/16` },
    ssh: { ...stackA.ssh, port: sshPort },
    bootstrap: { packages: [], directories: [], files: [], systemdUnits: [], commands: [] },
    application: undefined,
    healthChecks: [],
  });

  const bundle = await writeWorkflowBundle(work);
  const temporal = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await resolveTemporalCli() },
      ip: '127.0.0.1',
      searchAttributes: [...OPS_SEARCH_ATTRIBUTES],
    },
  });
  const cloud = await LocalCloud.start({
    stateDir: path.join(work, 'cloud'),
    hostNetwork: HOST_NETWORK,
    dropletLimit: AT_ONCE + 10,
    timing: REALISTIC_TIMING,
    sshHosts: { sshPort },
  });
  let worker: ChildProcess | undefined;
  try {
    worker = await startWorker(
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: temporal.address,
        OPSFLOW_WORKFLOW_BUNDLE: bundle,
        OPSFLOW_METRICS_ADDRESS: 'off',
        DIGITALOCEAN_TOKEN: cloud.token,
        DIGITALOCEAN_API_URL: cloud.apiUrl,
        OPSFLOW_SSH_KEYS: `deploy=${keyFile}`,
      },
      path.join(work, 'worker.log'),
    );

    const terraformRuns: Run[] = [];
    const destroys: Run[] = [];
    const opsflowRuns: Run[] = [];
    const notes: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let tf: Run | undefined;
      let since = cloud.requestLog.total;
      if (setup) {
        await resetCloud(cloud);
        const dir = path.join(work, `tf-${round}`);
        mkdirSync(dir);
        copyFileSync(STACK_A_TF, path.join(dir, 'main.tf'));
        const terraform = terraformIn(setup, dir, cloud, {
          name: `tfa${round}`,
          public_key: key.public,
          ip_range: `10.${20 + round}.0.0/16`,
        });
        console.log(`round ${round}: terraform apply...`);
        since = cloud.requestLog.total;
        const tfStartedAt = Date.now();
        const apply = await terraform.run(['apply', '-auto-approve']);
        if (apply.code !== 0) throw new Error(`terraform apply failed:\n${apply.output}`);
        tf = measured(cloud, since, tfStartedAt, apply.ms);
        terraformRuns.push(tf);
        since = cloud.requestLog.total;
        const destroyStarted = Date.now();
        const destroy = await terraform.run(['destroy', '-auto-approve']);
        if (destroy.code !== 0) throw new Error(`terraform destroy failed:\n${destroy.output}`);
        destroys.push(measured(cloud, since, destroyStarted, destroy.ms));
        if (round === 1) {
          notes.push(`Terraform creates (round 1): ${creates(tf, tfStartedAt)}`);
          notes.push(`Terraform requests by kind (round 1): ${byKind(tf.requests)}`);
        }
      }

      await resetCloud(cloud);
      console.log(`round ${round}: opsflow provisionEnvironment...`);
      const spec = infraSpec(`ofa${round}`, 30 + round);
      since = cloud.requestLog.total;
      const opsStartedAt = Date.now();
      const started = performance.now();
      await temporal.client.workflow.execute('provisionEnvironment', {
        taskQueue: TASK_QUEUE,
        workflowId: `bench-terraform-${spec.name}-${opsStartedAt}`,
        args: [{ spec }],
      });
      const ops = measured(cloud, since, opsStartedAt, performance.now() - started);
      opsflowRuns.push(ops);
      const tfLine = tf ? `Terraform ${tf.requests.length} requests, last at ${seconds(tf.infraMs)}, apply ${seconds(tf.wholeMs)}; ` : '';
      const destroyLine = tf
        ? `; Terraform destroy ${destroys.at(-1)?.requests.length} requests, ${seconds(destroys.at(-1)?.wholeMs ?? 0)}`
        : '';
      console.log(`round ${round}: ${tfLine}opsflow ${ops.requests.length} requests ${seconds(ops.infraMs)}`);
      notes.push(
        `round ${round}: ${tfLine}opsflow ${ops.requests.length} requests, last at ${seconds(ops.infraMs)}, workflow ${seconds(ops.wholeMs)}${destroyLine}`,
      );
      if (round === 1) {
        notes.push(`opsflow creates (round 1): ${creates(ops, opsStartedAt)}`);
        notes.push(`opsflow requests by kind (round 1): ${byKind(ops.requests)}`);
      }
    }

    // Many environments at once: Terraform one folder (config and state) per environment, each
    // with its own SSH key as such configs hold one; opsflow's runs share the worker's deploy key.
    let tfMany: AtOnceRun | undefined;
    let tfManyDestroy: AtOnceRun | undefined;
    if (setup) {
      await resetCloud(cloud);
      const terraforms = Array.from({ length: AT_ONCE }, (_, i) => {
        const dir = path.join(work, `tf-many-${padded(i)}`);
        mkdirSync(dir);
        copyFileSync(STACK_A_TF, path.join(dir, 'main.tf'));
        return terraformIn(setup, dir, cloud, {
          name: `tfm${padded(i)}`,
          public_key: generateEd25519().public,
          ip_range: `10.${101 + i}.0.0/16`,
        });
      });
      console.log(`${AT_ONCE} at once: terraform apply in ${AT_ONCE} folders...`);
      let since = cloud.requestLog.total;
      let startedAt = Date.now();
      let started = performance.now();
      const applies = await Promise.all(terraforms.map((t) => t.run(['apply', '-auto-approve'])));
      const failed = applies.flatMap((a, i) => (a.code === 0 ? [] : [`tfm${padded(i)}: ${firstError(a.output)}`]));
      tfMany = await atOnceRun(cloud, since, startedAt, performance.now() - started, failed);
      console.log(`${AT_ONCE} at once: terraform destroy...`);
      since = cloud.requestLog.total;
      startedAt = Date.now();
      started = performance.now();
      const destroyed = await Promise.all(terraforms.map((t) => t.run(['destroy', '-auto-approve'])));
      const destroyFailed = destroyed.flatMap((a, i) => (a.code === 0 ? [] : [`tfm${padded(i)}: ${firstError(a.output)}`]));
      tfManyDestroy = { ...(await atOnceRun(cloud, since, startedAt, performance.now() - started, destroyFailed)), leftOver: [] };
      const left = await inventory(cloud);
      tfManyDestroy.leftOver = ['droplets', 'volumes', 'firewalls', 'vpcs', 'reserved_ips'].flatMap((k) =>
        left[k]?.length ? [`${k} ${left[k]?.length}`] : [],
      );
    }

    await resetCloud(cloud);
    console.log(`${AT_ONCE} at once: opsflow, ${AT_ONCE} provisionEnvironment runs...`);
    const since = cloud.requestLog.total;
    const startedAt = Date.now();
    const started = performance.now();
    const handles = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, i) =>
        temporal.client.workflow.start('provisionEnvironment', {
          taskQueue: TASK_QUEUE,
          workflowId: `bench-terraform-ofm${padded(i)}-${startedAt}`,
          args: [{ spec: infraSpec(`ofm${padded(i)}`, 101 + i) }],
        }),
      ),
    );
    const opsFailed: string[] = [];
    await Promise.all(
      handles.map((h) =>
        h.result().catch((err: unknown) => opsFailed.push(`${h.workflowId}: ${(err as { cause?: Error }).cause?.message ?? String(err)}`)),
      ),
    );
    const opsMany = await atOnceRun(cloud, since, startedAt, performance.now() - started, opsFailed);
    const opsManyBefore = Number(process.env.OPSFLOW_BENCH_BEFORE_AT_ONCE_REQUESTS ?? NaN);

    const opsRequests = median(opsflowRuns.map((r) => r.requests.length));
    const opsInfra = median(opsflowRuns.map((r) => r.infraMs));
    const errors = [...terraformRuns, ...opsflowRuns].flatMap(errorsOf);
    const rows: Row[] = [];
    if (setup) {
      const tfRequests = median(terraformRuns.map((r) => r.requests.length));
      const tfInfra = median(terraformRuns.map((r) => r.infraMs));
      rows.push(
        {
          measure: `API requests for stack A's infrastructure (median of ${ROUNDS})`,
          value: `opsflow ${opsRequests}`,
          baseline: `Terraform ${tfRequests}`,
          ratio: (opsRequests / tfRequests).toFixed(2),
          target: '< 1',
          verdict: opsRequests < tfRequests ? 'met' : 'missed',
        },
        {
          measure: `wall time to the last API request (median of ${ROUNDS})`,
          value: `opsflow ${seconds(opsInfra)}`,
          baseline: `Terraform ${seconds(tfInfra)}`,
          ratio: (opsInfra / tfInfra).toFixed(2),
          target: '≤ 1',
          verdict: opsInfra <= tfInfra ? 'met' : 'missed',
        },
        {
          measure: 'whole run: terraform apply process / opsflow workflow with its SSH wait and volume mount (median)',
          value: `opsflow ${seconds(median(opsflowRuns.map((r) => r.wholeMs)))}`,
          baseline: `Terraform ${seconds(median(terraformRuns.map((r) => r.wholeMs)))}`,
          verdict: 'info',
        },
        {
          measure: 'Terraform destroy of the same (median)',
          value: `${median(destroys.map((r) => r.requests.length))} requests, ${seconds(median(destroys.map((r) => r.wholeMs)))}`,
          verdict: 'info',
        },
      );
    } else {
      rows.push(
        {
          measure: `opsflow alone: API requests for stack A's infrastructure (median of ${ROUNDS})`,
          value: String(opsRequests),
          verdict: 'info',
        },
        { measure: `opsflow alone: wall time to the last API request (median of ${ROUNDS})`, value: seconds(opsInfra), verdict: 'info' },
      );
    }
    rows.push({
      measure: '4xx/5xx answered, both tools, all single rounds',
      value: errors.length ? errors.join(', ') : '0',
      verdict: 'info',
    });
    const many = (who: string, run: AtOnceRun, baseline?: AtOnceRun) => [
      {
        measure: `${AT_ONCE} at once, ${who}: API requests served (429s not counted)`,
        value: String(run.served.length),
        ...(baseline
          ? { baseline: `Terraform ${baseline.served.length}`, ratio: (run.served.length / baseline.served.length).toFixed(2) }
          : {}),
        verdict: 'info' as const,
      },
      { measure: `${AT_ONCE} at once, ${who}: 429s the cloud answered`, value: String(run.throttled), verdict: 'info' as const },
      {
        measure: `${AT_ONCE} at once, ${who}: wall time to the last API request; until the last run ended`,
        value: `${seconds(run.infraMs)}; ${seconds(run.wholeMs)}`,
        ...(baseline
          ? {
              baseline: `Terraform ${seconds(baseline.infraMs)}; ${seconds(baseline.wholeMs)}`,
              ratio: (run.infraMs / baseline.infraMs).toFixed(2),
            }
          : {}),
        verdict: 'info' as const,
      },
      {
        measure: `${AT_ONCE} at once, ${who}: runs failed`,
        value: run.failures.length ? `${run.failures.length}` : '0',
        target: '0',
        verdict: run.failures.length === 0 ? ('met' as const) : ('missed' as const),
      },
      {
        measure: `${AT_ONCE} at once, ${who}: resources other than one of each per environment that succeeded (duplicates, orphans)`,
        value: run.leftOver.length ? run.leftOver.join('; ') : '0',
        target: '0',
        verdict: run.leftOver.length ? ('missed' as const) : ('met' as const),
      },
    ];
    if (tfMany) rows.push(...many('Terraform', tfMany));
    rows.push(...many('opsflow', opsMany, tfMany));
    if (Number.isFinite(opsManyBefore)) {
      const ratio = opsMany.served.length / opsManyBefore;
      rows.push({
        measure: `${AT_ONCE} at once, opsflow: requests against the same bench on the build before issue 17's look-up and polling change`,
        value: String(opsMany.served.length),
        baseline: `${opsManyBefore} (before)`,
        ratio: ratio.toFixed(2),
        target: '≤ 0.7',
        verdict: ratio <= 0.7 ? 'met' : 'missed',
      });
    }
    if (tfManyDestroy)
      rows.push({
        measure: `${AT_ONCE} at once: Terraform destroy (requests served, 429s, wall time, failed, left in the cloud)`,
        value: `${tfManyDestroy.served.length}, ${tfManyDestroy.throttled}, ${seconds(tfManyDestroy.wholeMs)}, ${tfManyDestroy.failures.length}, ${tfManyDestroy.leftOver.join('; ') || 'nothing'}`,
        verdict: 'info',
      });
    if (tfMany) notes.push(`${AT_ONCE} at once, Terraform requests by kind, per environment: ${byKind(tfMany.served, AT_ONCE)}`);
    notes.push(`${AT_ONCE} at once, opsflow requests by kind, per environment: ${byKind(opsMany.served, AT_ONCE)}`);
    for (const f of [...(tfMany?.failures ?? []), ...opsMany.failures, ...(tfManyDestroy?.failures ?? [])]) notes.push(`failed: ${f}`);
    notes.push(
      `local cloud: realistic timing (droplet active 25 s after create, actions 6 s), DigitalOcean's rate limit (250/min), droplet limit ${AT_ONCE + 10}, droplets as SSH hosts on 127.${HOST_NETWORK}.x.y; emptied before each run`,
      ...(setup
        ? [
            `${setup.version} with digitalocean/digitalocean built from its repository (dev_overrides), default parallelism 10, config test/terraform/configs/stack-a/main.tf; its wall time includes starting terraform and the provider; ${AT_ONCE} at once: one folder and state per environment, each with its own SSH key, ${AT_ONCE} processes started together`,
          ]
        : []),
      `opsflow: provisionEnvironment on the production worker (${path.relative(ROOT, DIST) || DIST}/worker.js, prebuilt bundle), stack A without bootstrap, application and health checks; after the last API request it waits for SSH and mounts the volume; ${AT_ONCE} at once: ${AT_ONCE} runs on one worker (its request pacer keeps to 250 a minute)`,
    );
    const name = process.env.OPSFLOW_BENCH_RESULTS ?? 'terraform';
    console.log(
      writeResults(name, "Stack A's infrastructure: Terraform (DigitalOcean's provider) and opsflow on one local cloud", rows, notes),
    );
    for (const row of rows) console.log(`${row.measure}: ${row.value} vs ${row.baseline ?? ''} ${row.ratio ?? ''} ${row.verdict ?? ''}`);
  } finally {
    if (worker) await stopWorker(worker);
    await cloud.stop();
    await temporal.teardown();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The first line Terraform marks as an error, for the table's notes. */
function firstError(output: string): string {
  return (/Error: (.+)/.exec(output)?.[1] ?? output.trim().split('\n').at(-1) ?? '').slice(0, 200);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
