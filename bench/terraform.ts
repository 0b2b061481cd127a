// Benchmark: stack A's infrastructure (SSH key, VPC, droplet, firewall, 20 GB volume and its
// attachment, reserved IP and its assignment) made by Terraform with DigitalOcean's own provider
// (test/terraform/configs/stack-a/main.tf) and by opsflow's provisionEnvironment (the production
// worker, dist/worker.js), on one local cloud with realistic timing and DigitalOcean's rate limit.
// Each round runs both, the cloud emptied before each; requests counted from the cloud's request
// log, wall time to the last API request (infrastructure done) and, for Terraform, the whole apply.
// Without the provider binary (OPSFLOW_TF_PROVIDER_DIR or ~/.cache/opsflow) it says so and exits 0.
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
import { byKind, kindOf, resetCloud, ROOT, startWorker, stopWorker, WORKER, writeWorkflowBundle } from './opsflow-run';

const ROUNDS = Number(process.env.OPSFLOW_BENCH_ROUNDS ?? 3);
/** provision.ts uses 98, the e2e test 99, `npm start` 100. */
const HOST_NETWORK = 97;
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

async function main(): Promise<void> {
  const setup = findTerraformSetup();
  if (!setup.ok) {
    console.log(`bench/terraform.ts skipped: ${setup.reason}`);
    return;
  }
  if (!existsSync(WORKER)) throw new Error('dist/worker.js is missing: run `npm run build` first');
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
      let since = cloud.requestLog.total;
      const tfStartedAt = Date.now();
      const apply = await terraform.run(['apply', '-auto-approve']);
      if (apply.code !== 0) throw new Error(`terraform apply failed:\n${apply.output}`);
      const tf = measured(cloud, since, tfStartedAt, apply.ms);
      terraformRuns.push(tf);
      since = cloud.requestLog.total;
      const destroyStarted = Date.now();
      const destroy = await terraform.run(['destroy', '-auto-approve']);
      if (destroy.code !== 0) throw new Error(`terraform destroy failed:\n${destroy.output}`);
      destroys.push(measured(cloud, since, destroyStarted, destroy.ms));

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
      console.log(
        `round ${round}: terraform ${tf.requests.length} requests ${seconds(tf.infraMs)}; opsflow ${ops.requests.length} requests ${seconds(ops.infraMs)}`,
      );
      notes.push(
        `round ${round}: Terraform ${tf.requests.length} requests, last at ${seconds(tf.infraMs)}, apply ${seconds(tf.wholeMs)}; ` +
          `opsflow ${ops.requests.length} requests, last at ${seconds(ops.infraMs)}, workflow ${seconds(ops.wholeMs)}; ` +
          `Terraform destroy ${destroys.at(-1)?.requests.length} requests, ${seconds(destroy.ms)}`,
      );
      if (round === 1) {
        notes.push(`Terraform creates (round 1): ${creates(tf, tfStartedAt)}`);
        notes.push(`opsflow creates (round 1): ${creates(ops, opsStartedAt)}`);
        notes.push(`Terraform requests by kind (round 1): ${byKind(tf.requests)}`);
        notes.push(`opsflow requests by kind (round 1): ${byKind(ops.requests)}`);
      }
    }

    const tfRequests = median(terraformRuns.map((r) => r.requests.length));
    const opsRequests = median(opsflowRuns.map((r) => r.requests.length));
    const tfInfra = median(terraformRuns.map((r) => r.infraMs));
    const opsInfra = median(opsflowRuns.map((r) => r.infraMs));
    const errors = [...terraformRuns, ...opsflowRuns].flatMap(errorsOf);
    const rows: Row[] = [
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
      { measure: '4xx/5xx answered, both tools, all rounds', value: errors.length ? errors.join(', ') : '0', verdict: 'info' },
    ];
    notes.push(
      `local cloud: realistic timing (droplet active 25 s after create, actions 6 s), DigitalOcean's rate limit (250/min), droplets as SSH hosts on 127.${HOST_NETWORK}.x.y; emptied before each run`,
      `${setup.version} with digitalocean/digitalocean built from its repository (dev_overrides), default parallelism 10, config test/terraform/configs/stack-a/main.tf; its wall time includes starting terraform and the provider`,
      'opsflow: provisionEnvironment on the production worker (dist/worker.js, prebuilt bundle), stack A without bootstrap, application and health checks; after the last API request it waits for SSH and mounts the volume',
    );
    console.log(
      writeResults(
        'terraform',
        "Stack A's infrastructure: Terraform (DigitalOcean's provider) and opsflow on one local cloud",
        rows,
        notes,
      ),
    );
    for (const row of rows) console.log(`${row.measure}: ${row.value} vs ${row.baseline ?? ''} ${row.ratio ?? ''} ${row.verdict ?? ''}`);
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
