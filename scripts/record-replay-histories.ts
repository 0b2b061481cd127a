// Records histories of the current workflows into test/replay/, for the replay test that guards
// determinism. Run after a deliberate workflow change: npx tsx scripts/record-replay-histories.ts
// (a change that breaks replay of old histories needs workflow versioning, not a re-recording).
// Give file names to record only those: npx tsx scripts/record-replay-histories.ts provision-environment-stack-a.json
// deployRelease runs need a provisioned stack A: the script provisions one first when the stack A
// recording is not among those made in the same invocation.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { createActivities, createCloudActivities } from '../src/activities';
import { DigitalOceanClient } from '../src/integrations/digitalocean/client';
import { LocalCloud, generateEd25519 } from '@opsflow/localcloud';
import { loadEnvironmentSpec } from '../src/specs/load';
import { DIGITALOCEAN_TASK_QUEUE } from '../src/temporal/task-queues';
import { resolveTemporalCli } from '../src/devstack/temporal-cli';
import { OPS_SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { createSagaFixtureActivities } from '../test/fixtures/saga-activities';
import { buildDeployInput } from '../src/client/deploy';
import type { ProvisionResult } from '../src/workflows/environment/provision-environment';
import { startPrometheus, type RunningPrometheus } from '../src/devstack/prometheus';
import { generateLoad } from '../src/rollouts/load-generator';

const OUT = path.join(__dirname, '..', 'test', 'replay');
const TASK_QUEUE = 'record-replay';

async function main(): Promise<void> {
  const cli = await resolveTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: cli }, searchAttributes: [...OPS_SEARCH_ATTRIBUTES] },
  });
  // A deploy key made for the recording; the histories hold only its fingerprint.
  const deployKey = generateEd25519();
  const recordingSecrets: Record<string, string> = { STACK_A_POSTGRES_PASSWORD: 'recording-only-password' };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('../test/fixtures/workflows'),
    activities: {
      ...createActivities({
        opsflowVersion: 'recording',
        providers: ['localcloud'],
        ssh: { privateKey: () => deployKey.private, resolveSecret: async (ref) => recordingSecrets[ref.replace(/^env:/, '')] ?? '' },
      }),
      ...createSagaFixtureActivities({ calls: [] }, { undeletable: ['thing-2'] }),
    },
  });
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-record-'));
  const cloud = await LocalCloud.start({
    stateDir,
    hostNetwork: 97,
    timing: { dropletCreateMs: 1000, actionMs: 150 },
    rateLimit: { perMinute: 1e6, perHour: 1e6 },
  });
  const cloudWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: DIGITALOCEAN_TASK_QUEUE,
    activities: createCloudActivities({
      digitalOcean: () => new DigitalOceanClient({ token: cloud.token, apiUrl: cloud.apiUrl }),
      pollMs: { first: 100, max: 400 },
      sshPublicKey: () => deployKey.public,
    }),
  });
  const stackA = loadEnvironmentSpec(path.join(__dirname, '..', 'examples', 'stack-a.yaml'));
  // Runs on the stack A hosts take their arguments from its provisioning result.
  const deploy = (images: Record<string, string>, consecutiveFailures?: number) => (provisioned: ProvisionResult) => [
    buildDeployInput({ result: provisioned, spec: stackA }, images, { consecutiveFailures }),
  ];
  // The post-deploy analysis reads a real Prometheus scraping auth, fed by load while the release runs.
  let prometheus: RunningPrometheus | undefined;
  const analysed = (images: Record<string, string>) => (provisioned: ProvisionResult) => [
    buildDeployInput({ result: provisioned, spec: stackA }, images, {
      analysis: {
        prometheus: { address: prometheus!.address },
        templates: {
          'auth-errors': {
            metrics: [
              {
                name: 'error-ratio',
                query:
                  '(sum(rate(http_requests_total{version="{{args.canary-version}}",code=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total{version="{{args.canary-version}}"}[10s]))',
                successCondition: 'result < 0.05',
                interval: '2s',
                count: 4,
                inconclusiveLimit: 3,
              },
            ],
          },
        },
      },
    }),
  ];
  const runs: { file: string; type: string; args: unknown[] | ((provisioned: ProvisionResult) => unknown[]) }[] = [
    { file: 'provision-environment-stack-a.json', type: 'provisionEnvironment', args: [{ spec: stackA }] },
    // The same stack through the provider seam's neutral activities (patch provider-seam); the one above predates it.
    { file: 'provision-environment-provider-seam.json', type: 'provisionEnvironment', args: [{ spec: stackA }] },
    { file: 'deploy-release-healthy.json', type: 'deployRelease', args: deploy({ auth: '2.0.2', booking: '3.2.1' }) },
    { file: 'deploy-release-rolled-back.json', type: 'deployRelease', args: deploy({ auth: '2.0.3-unhealthy' }, 2) },
    { file: 'deploy-release-analysis-passed.json', type: 'deployRelease', args: analysed({ auth: '2.4.1' }) },
    { file: 'deploy-release-analysis-rolled-back.json', type: 'deployRelease', args: analysed({ auth: '2.4.0-err20' }) },
    { file: 'check-worker.json', type: 'checkWorker', args: [] },
    { file: 'saga-failure-with-stuck-compensation.json', type: 'threeStepsThen', args: [{ after: 'fail' }] },
    { file: 'saga-keep.json', type: 'threeStepsThen', args: [{ after: 'fail', onFailure: 'keep' }] },
  ];
  const only = process.argv.slice(2);
  let provisioned: ProvisionResult | undefined;
  await cloudWorker.runUntil(() =>
    worker.runUntil(async () => {
      for (const run of runs.filter((r) => only.length === 0 || only.includes(r.file))) {
        if (typeof run.args === 'function' && !provisioned) {
          provisioned = await env.client.workflow.execute('provisionEnvironment', {
            taskQueue: TASK_QUEUE,
            workflowId: 'provision-stack-a-for-recording',
            args: [{ spec: stackA }],
          });
        }
        const auth = provisioned ? `${provisioned.hosts[0]!.address}:8081` : undefined;
        if (run.file.includes('analysis') && !prometheus)
          prometheus = await startPrometheus({
            dir: path.join(stateDir, 'prometheus'),
            scrapeInterval: '1s',
            targets: [{ address: auth! }],
          });
        const args = typeof run.args === 'function' ? run.args(provisioned!) : run.args;
        const handle = await env.client.workflow.start(run.type, {
          taskQueue: TASK_QUEUE,
          workflowId: run.file.replace('.json', ''),
          args,
        });
        let ended = false;
        const load = run.file.includes('analysis')
          ? generateLoad(`http://${auth}/`, { total: 1_000_000, concurrency: 2, deadlineMs: 180_000, enough: () => ended })
          : undefined;
        const result: unknown = await handle.result().catch(() => undefined);
        ended = true;
        await load;
        if (run.file === 'provision-environment-stack-a.json' && result) provisioned = result as ProvisionResult;
        // The CLI's JSON is the format users export from production too (`temporal workflow show -o json`).
        const json = execFileSync(cli, [
          'workflow',
          'show',
          '--address',
          env.address,
          '--workflow-id',
          handle.workflowId,
          '--output',
          'json',
        ]);
        writeFileSync(path.join(OUT, run.file), json);
        console.log(`recorded ${run.file}`);
      }
    }),
  );
  await prometheus?.stop();
  await cloud.stop();
  rmSync(stateDir, { recursive: true, force: true });
  await env.teardown();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
