#!/usr/bin/env node
// The opsflow CLI. Every command connects through Temporal's environment configuration
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, ...); see `opsflow --help`.
import { Command, InvalidArgumentError } from 'commander';
import { up } from '../devstack/up';
import { ensureStateDir } from '../paths';
import { explainMissingLocalCloud, LOCALCLOUD_PORT, localCloudDir } from '../devstack/localcloud-loading';
import { backupPolicyJsonSchema } from '../specs/backup-policy';
import { clusterBackupPolicyJsonSchema } from '../specs/cluster-backup-policy';
import { environmentJsonSchema } from '../specs/environment';
import { rolloutJsonSchema } from '../specs/rollout';
import { deployAnalysisJsonSchema } from '../specs/deploy-analysis';
import { notOneOf } from '../specs/messages';
import { OPSFLOW_VERSION } from '../version';

const SPEC_SCHEMAS: Record<string, () => unknown> = {
  environment: environmentJsonSchema,
  'backup-policy': backupPolicyJsonSchema,
  'cluster-backup-policy': clusterBackupPolicyJsonSchema,
  rollout: rolloutJsonSchema,
  'deploy-analysis': deployAnalysisJsonSchema,
};
import { formatDoctor, runDoctor } from './doctor';
import { formatStatus } from './format-status';
import { connectClient, startOperation, withClient, workflowStatus, WorkflowNotFoundError } from './opsflow-client';
import { followProgress } from './progress';
import { loadBackupPolicies, loadEnvironmentSpec, readYamlFile } from '../specs/load';
import { isClusterEnvironment } from '../specs/cluster-environment';
import { provisionClusterCommand } from './provision-cluster';
import { provisionStackCommand } from './provision-stack';
import { releaseStackCommand } from './release-stack';
import { isStackDocument } from '../specs/load-stack';
import { applySchedules, listSchedules, planSchedules } from './schedules';
import { formatProvisionResult } from './format-status';
import type { ProvisionResult } from '../workflows/environment/provision-environment';
import type { DeployResult } from '../workflows/release/deploy-release';
import { buildDeployInput, deployBasis, formatDeployResult, parseSets } from './deploy';
import { loadDeployAnalysis } from '../specs/load-deploy-analysis';
import { registerEnvironmentCommands } from './env-commands';
import { deployWorkflowId, provisionWorkflowId, uniqueSuffix } from '../names/workflow-ids';
import { registerCodecServerCommand } from './codec-server-cli';
import { registerRolloutCommands } from './rollout-commands';
import { registerFailoverCommands } from './failover-commands';
import { registerSpacesCommands } from './spaces-commands';
import { registerRestoreCommand } from './restore-command';
import { registerClusterRestoreCommand } from './cluster-restore-command';
import { describeFailure } from './failure-text';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a port number from 1 to 65535');
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('must be a whole number from 1 to 100');
  return n;
}

export function buildCli(): Command {
  const program = new Command('opsflow').version(OPSFLOW_VERSION).description('Durable infrastructure operations as Temporal workflows');

  program
    .command('up')
    .description('start the local stack: Temporal dev server with Web UI, and the worker (Ctrl-C stops it)')
    .option('--ip <address>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'Temporal gRPC port', port, 7233)
    .option('--ui-port <port>', 'Web UI port', port, 8233)
    .option('--metrics-port <port>', 'worker Prometheus metrics port', port, 9464)
    .option('--localcloud-port <port>', 'local cloud API port (used when DIGITALOCEAN_TOKEN is not set)', port, LOCALCLOUD_PORT)
    .option('--no-demo', 'do not provision the demo environment (examples/stack-a.yaml) on the local cloud')
    .action(async (opts: { ip: string; port: number; uiPort: number; metricsPort: number; localcloudPort: number; demo: boolean }) => {
      process.exitCode = await up(opts);
    });

  program
    .command('status')
    .description("show a workflow's current step, what exists so far and what is left")
    .argument('<workflow-id>')
    .action(async (workflowId: string) => {
      const { client, connection } = await connectClient();
      try {
        console.log(formatStatus(await workflowStatus(client, workflowId)));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new Error(`no workflow with id ${workflowId}`);
        throw err;
      } finally {
        await connection.close();
      }
    });

  program
    .command('provision')
    .description('provision an environment from a spec file, showing progress until it ends')
    .argument('<spec>', 'environment spec (YAML or JSON), such as examples/stack-a.yaml')
    .option('--detach', 'start it and return; follow with `opsflow status provision-<name>`')
    .option('--print-input', 'print the workflow input as JSON (for `temporal workflow start --input-file`) and exit')
    .option('--root <folder>', "the folder files the spec names (composeFile) must be inside (default: the spec's folder)")
    .option('--wait', 'if another operation holds the environment, wait for it to end instead of being refused')
    .action(async (file: string, opts: { detach?: boolean; printInput?: boolean; root?: string; wait?: boolean }) => {
      const document = readYamlFile(file);
      if (isClusterEnvironment(document)) return provisionClusterCommand(file, opts);
      if (isStackDocument(document)) return provisionStackCommand(file, opts);
      const spec = loadEnvironmentSpec(file, { root: opts.root }); // refuses a bad spec before anything starts
      if (opts.printInput) {
        console.log(JSON.stringify({ spec }));
        return;
      }
      await withClient(async (client) => {
        const handle = await startOperation(
          client,
          'provisionEnvironment',
          provisionWorkflowId(spec.name),
          [{ spec }],
          `provision ${spec.name} in ${spec.region}`,
          opts.wait ? { waitForEnvironment: true } : undefined,
          { environment: spec.name, operation: 'provision', specFile: file },
        );
        console.log(`Provisioning ${spec.name}: workflow ${handle.workflowId}`);
        if (opts.detach) return;
        console.log(formatProvisionResult(await followProgress<ProvisionResult>(handle)));
      });
    });

  program
    .command('release')
    .description(
      "a stack's staged release: staging first, then, once approved, every production site, each with its own health gate and rollback",
    )
    .argument('<file>', 'release file (YAML), such as examples/release-stack-e.yaml')
    .option('--detach', 'start it and return; follow with `opsflow status <workflow id>`')
    .option('--print-input', 'print the workflow input as JSON (for `temporal workflow start --type releaseStack --input-file`) and exit')
    .action((file: string, opts: { detach?: boolean; printInput?: boolean }) => releaseStackCommand(file, opts));

  program
    .command('deploy')
    .description('deploy new images to a provisioned environment; a release that fails its health gate is rolled back')
    .argument('<environment>')
    .option(
      '--set <service=tag>',
      'a service and its new tag, or a full image (registry/name:tag); repeat per service',
      (value: string, list: string[]) => [...list, value],
      [] as string[],
    )
    .option(
      '--consecutive-failures <n>',
      "failed probes in a row that fail the health gate (default: each check's attempts)",
      positiveInteger,
    )
    .option('--analysis <file>', 'Prometheus analysis to pass after the health gate, or the release is rolled back (YAML or JSON)')
    .option('--detach', 'start it and return; follow with `opsflow status <workflow id>`')
    .option('--print-input', 'print the workflow input as JSON (for `temporal workflow start --type deployRelease --input-file`) and exit')
    .option('--wait', 'if another operation holds the environment, wait for it to end instead of being refused')
    .action(
      async (
        environment: string,
        opts: { set: string[]; consecutiveFailures?: number; analysis?: string; detach?: boolean; printInput?: boolean; wait?: boolean },
      ) => {
        const sets = parseSets(opts.set); // refuses a malformed --set before connecting
        const analysis = opts.analysis === undefined ? undefined : loadDeployAnalysis(opts.analysis);
        await withClient(async (client) => {
          const input = buildDeployInput(await deployBasis(client, environment), sets, {
            consecutiveFailures: opts.consecutiveFailures,
            analysis,
          });
          if (opts.printInput) {
            console.log(JSON.stringify(input));
            return;
          }
          const what = Object.entries(input.images)
            .map(([service, image]) => `${service} ${image}`)
            .join(', ');
          const handle = await startOperation(
            client,
            'deployRelease',
            deployWorkflowId(environment, uniqueSuffix()),
            [input],
            `deploy ${what} to ${environment}`,
            opts.wait ? { waitForEnvironment: true } : undefined,
            { environment, operation: 'deploy' },
          );
          console.log(`Deploying ${what} to ${environment}: workflow ${handle.workflowId}`);
          if (opts.detach) return;
          console.log(formatDeployResult(await followProgress<DeployResult>(handle)));
        });
      },
    );

  program
    .command('doctor')
    .description('check Temporal, the worker, provider credentials and SSH keys; says what to fix')
    .action(async () => {
      const results = await runDoctor();
      console.log(formatDoctor(results));
      if (results.some((r) => r.state === 'fail')) process.exitCode = 1;
    });

  program
    .command('schema')
    .description('print the JSON Schema of a spec kind, for editors and CI checks')
    .argument('<kind>', `one of: ${Object.keys(SPEC_SCHEMAS).join(', ')}`)
    .action((kind: string) => {
      const schema = SPEC_SCHEMAS[kind];
      if (!schema) throw new Error(`schema: ${notOneOf('a spec kind', kind, Object.keys(SPEC_SCHEMAS))}`);
      console.log(JSON.stringify(schema(), null, 2));
    });

  const schedules = program.command('schedules').description('Temporal Schedules that run backup policies');
  schedules
    .command('apply')
    .description('create, update and remove schedules to match a backup policy file')
    .argument('<file>', 'one policy, or several under `policies:`, such as examples/backup-stack-b.yaml')
    .option('--dry-run', 'print the changes without making them')
    .action(async (file: string, opts: { dryRun?: boolean }) => {
      const { group, policies, clusterPolicies } = loadBackupPolicies(file); // refuses a bad policy before touching anything
      const scheduled = [...policies, ...clusterPolicies];
      await withClient(async (client) => {
        const plan = opts.dryRun ? await planSchedules(client, scheduled, group) : await applySchedules(client, scheduled, group);
        for (const item of plan)
          console.log(
            `${opts.dryRun && item.action !== 'unchanged' ? `would ${item.action}` : item.action}  ${item.scheduleId}  (${item.describe})`,
          );
      });
    });
  schedules
    .command('list')
    .description("opsflow's schedules with their next run and last result")
    .action(async () => {
      await withClient(async (client) => {
        const listings = await listSchedules(client);
        if (listings.length === 0) console.log('no opsflow schedules');
        for (const l of listings) {
          const last = l.lastRun
            ? `last ${l.lastRun.workflowId} ${l.lastRun.status} at ${l.lastRun.startedAt.toISOString()}`
            : 'not run yet';
          console.log(
            `${l.scheduleId}  ${l.spec}${l.paused ? '  PAUSED' : ''}  next ${l.nextRun?.toISOString() ?? '-'}  ${last}  (group ${l.group})`,
          );
        }
      });
    });

  program
    .command('localcloud')
    .description('the local DigitalOcean-compatible cloud: start | status | reset | faults (`opsflow localcloud --help`)')
    // Its own program, in its own package, loaded only now: everything after `localcloud` is its.
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[arguments...]')
    .action(async (args: string[]) => {
      const { localCloudCommand } = await explainMissingLocalCloud(import('@opsflow/localcloud'));
      ensureStateDir(); // the local cloud's folder lives in it, private like it
      await localCloudCommand({ dir: localCloudDir(), parsePort: port }).parseAsync(args, { from: 'user' });
    });

  registerEnvironmentCommands(program);
  registerCodecServerCommand(program, port);
  registerSpacesCommands(program);
  registerRestoreCommand(program);
  registerClusterRestoreCommand(program);
  registerRolloutCommands(program);
  registerFailoverCommands(program);
  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`opsflow: ${describeFailure(err)}`);
      process.exitCode = 1;
    });
}
