// `opsflow rollout <env> --set svc=tag [--strategy canary|blue-green] [--spec file]` starts
// rolloutRelease and follows it live; `opsflow rollout status|promote|abort|pause|resume <env>`
// read and steer the running one. Every update carries `by` (user@host), and a refusal is printed
// in the rollout's own words (it was refused before anything reached the history).
import type { Client } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkedEnvironmentName } from '../names/environment-name';
import { loadEnvironmentSpec } from '../specs/load';
import { loadAnyRolloutSpec } from '../specs/load-rollout';
import { describeKubernetes } from '../workflows/release/rollout-words';
import { rolloutWorkflowId, type RolloutResult, type RolloutStatus } from '../workflows/release/rollout-api';
import { deployBasis, parseSets } from './deploy';
import { formatStatus } from './format-status';
import { startOperation, withClient, workflowStatus, WorkflowNotFoundError } from './opsflow-client';
import { followProgress } from './progress';
import {
  buildKubernetesRolloutInput,
  buildRolloutInput,
  checkStrategy,
  parseContainerSets,
  rolloutSpecFile,
  sendRolloutUpdate,
  STRATEGIES,
  whoAmI,
  type Strategy,
} from './rollout';
import { formatRolloutView, rolloutProgressLines } from './rollout-view';

export function formatRolloutResult(result: RolloutResult): string {
  const images = Object.entries(result.images).map(
    ([s, i]) => `${s} ${i}${result.previousImages[s] ? ` (was ${result.previousImages[s]})` : ''}`,
  );
  const lines = [
    `Rolled out to ${result.environment}: ${images.join(', ')}`,
    result.kubernetes
      ? `  ${describeKubernetes(result.kubernetes)}; removed: ${result.kubernetes.removed?.join(', ') || 'nothing'}`
      : `  hosts: ${result.hosts.join(', ')}`,
  ];
  for (const u of result.updates) lines.push(`  ${u.name} by ${u.by}: ${u.detail}`);
  return lines.join('\n');
}

function reason(value: string): string {
  if (value.trim() === '' || value.length > 500) throw new InvalidArgumentError('must be text of 1 to 500 characters');
  return value;
}

interface RolloutOptions {
  set: string[];
  strategy?: Strategy;
  spec?: string;
  environmentSpec?: string;
  detach?: boolean;
  wait?: boolean;
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command('rollout')
    .description(
      'a canary release judged by Prometheus, steered by updates: `opsflow rollout <env> --set svc=tag` (on Kubernetes --set container=image), then status|promote|abort|pause|resume',
    )
    .argument('<environment>')
    .option(
      '--set <service=tag>',
      'a service and its new tag, or a full image; on Kubernetes a container of the stable Deployment and its full image; repeat per service',
      (v: string, list: string[]) => [...list, v],
      [],
    )
    .addOption(new Option('--strategy <strategy>', 'must match the spec: canary or blue-green').choices(STRATEGIES))
    .option('--spec <file>', 'the rollout spec (YAML or JSON; default ./rollout-<environment>.yaml)')
    .option(
      '--environment-spec <file>',
      'the environment spec the fleet was provisioned from: a canary with maxSurge, or blue-green with previewFleet.create, makes its droplets from it',
    )
    .option('--detach', 'start it and return; follow with `opsflow rollout status <environment>`')
    .option('--wait', 'if another operation holds the environment, wait for it to end instead of being refused')
    .action(async (environment: string, opts: RolloutOptions) => {
      checkedEnvironmentName(environment);
      // Everything that can be checked without Temporal is, before connecting.
      const file = rolloutSpecFile(environment, opts.spec);
      const loaded = loadAnyRolloutSpec(file);
      checkStrategy(loaded.spec, file, opts.strategy);
      let build: (client: Client) => Promise<{ images: Record<string, string> }>;
      if (loaded.kind === 'kubernetes') {
        // A canary or blue-green on Kubernetes: no inventory to read (the spec names the cluster, the workflow reads
        // the stable Deployment), so the whole input is built and checked here.
        if (opts.environmentSpec !== undefined)
          throw new Error(
            `--environment-spec: ${file} is a rollout on Kubernetes (traffic.httpRoute), whose canary or preview is a copy of the stable Deployment made in the cluster; leave --environment-spec out`,
          );
        const input = buildKubernetesRolloutInput(environment, parseContainerSets(opts.set, file), loaded.spec, whoAmI());
        build = () => Promise.resolve(input);
      } else {
        const sets = parseSets(opts.set);
        const environmentSpec = opts.environmentSpec === undefined ? undefined : loadEnvironmentSpec(opts.environmentSpec);
        build = async (client) => buildRolloutInput(await deployBasis(client, environment), sets, loaded.spec, whoAmI(), environmentSpec);
      }
      const kind = `${loaded.spec.blueGreen ? 'blue-green' : 'canary'}${loaded.kind === 'kubernetes' ? ' on Kubernetes' : ''}`;
      await withClient(async (client) => {
        const input = await build(client);
        const what = Object.entries(input.images)
          .map(([service, image]) => `${service} ${image}`)
          .join(', ');
        const handle = await startOperation(
          client,
          'rolloutRelease',
          rolloutWorkflowId(environment),
          [input],
          `roll out ${what} to ${environment} (${kind})`,
          opts.wait ? { waitForEnvironment: true } : undefined,
          { environment, operation: 'rollout', specFile: file },
        );
        console.log(`Rolling out ${what} to ${environment}: workflow ${handle.workflowId}`);
        if (opts.detach) return;
        console.log(formatRolloutResult(await followProgress<RolloutResult>(handle, { lines: rolloutProgressLines(environment) })));
      });
    });

  rollout
    .command('status')
    .description("the rollout's split, step, measurements, pause or abort reason, and who steered it")
    .argument('<environment>')
    .action(async (environment: string) => {
      checkedEnvironmentName(environment);
      await withClient(async (client) => {
        const workflowId = rolloutWorkflowId(environment);
        const report = await workflowStatus(client, workflowId).catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) throw new Error(`no rollout of ${environment} (no workflow ${workflowId})`);
          throw err;
        });
        const view = (report.status as RolloutStatus | undefined)?.rollout;
        console.log([formatStatus(report), ...(view ? [formatRolloutView(view, environment)] : [])].join('\n'));
      });
    });

  const steer = (name: 'promote' | 'abort' | 'pause' | 'resume', description: string, configure: (c: Command) => Command = (c) => c) =>
    configure(rollout.command(name).description(description).argument('<environment>')).action(
      async (environment: string, opts: { full?: boolean; reason?: string }) => {
        checkedEnvironmentName(environment);
        const args = { by: whoAmI(), ...(opts.full ? { full: true } : {}), ...(opts.reason !== undefined ? { reason: opts.reason } : {}) };
        console.log(await withClient((client) => sendRolloutUpdate(client, environment, name, args)));
      },
    );
  steer('promote', 'go past the step that waits (a pause, an inconclusive analysis); --full skips every remaining step', (c) =>
    c.option('--full', 'straight to 100% and the end'),
  );
  steer('abort', 'all traffic back to stable, then the canary hosts back to the stable images', (c) =>
    c.option('--reason <text>', 'why, recorded with the abort', reason),
  );
  steer('pause', 'hold the rollout after the current step until resume');
  steer('resume', 'go on after a pause update');
}
