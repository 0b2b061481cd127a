// `opsflow failover <env> --input failover.json [--planned] [--detach]` starts failoverSite under
// failover-<env>-<from> and follows it live (the steps, each observer's view, the wait for
// approval, the switch, RTO and RPO); `opsflow failover status <env>` shows it once; `opsflow
// approve <env> [--note text]` sends its `approve` update as `user@host`, a refusal printed in the
// validator's words; `opsflow dr status <env>` shows the DR monitor and the last failover and
// failback. The input file is checked before anything connects.
import { InvalidArgumentError, type Command } from 'commander';
import { checkedEnvironmentName } from '../names/environment-name';
import { failbackWorkflowId, failoverWorkflowId } from '../names/workflow-ids';
import { loadFailbackInput, loadFailoverInput } from '../specs/load-failover';
import type { FailbackResult, FailbackStatus } from '../workflows/failover/failback-api';
import {
  failbackDetachedText,
  failbackInputFor,
  failbackProgressLines,
  findFailback,
  formatFailbackResult,
  formatFailbackView,
} from './failback';
import type { FailoverResult, FailoverStatus } from '../workflows/failover/failover-api';
import {
  approveFailover,
  detachedText,
  failoverInputFor,
  failoverProgressLines,
  findFailover,
  formatFailoverResult,
  formatFailoverView,
  nothingRunning,
} from './failover';
import { registerDrDrillCommands } from './dr-drill-commands';
import { drStatus, formatDrStatus } from './dr-status';
import { formatStatus } from './format-status';
import { startOperation, withClient, workflowStatus, WorkflowNotFoundError } from './opsflow-client';
import { followProgress } from './progress';
import { whoAmI } from './rollout';

function note(value: string): string {
  if (value.trim() === '' || value.length > 500) throw new InvalidArgumentError('must be text of 1 to 500 characters');
  return value;
}

export function registerFailoverCommands(program: Command): void {
  const failover = program
    .command('failover')
    .description('move a two-site environment onto its surviving site (failoverSite), after a human approves: then `opsflow approve <env>`')
    .argument('<environment>')
    .option('--input <file>', "failoverSite's input (YAML or JSON; secrets as references only), such as failover.json")
    .option('--site <site>', "the site to fail over from (the input's `from`); the other site takes over (default: the input says)")
    .option('--planned', 'a planned switchover: the site is healthy on purpose, no majority of observers needed (default: the input says)')
    .option('--detach', 'start it and return; then `opsflow failover status <env>` and `opsflow approve <env>`')
    .action(async (environment: string, opts: { input?: string; site?: string; planned?: boolean; detach?: boolean }) => {
      checkedEnvironmentName(environment);
      if (opts.input === undefined)
        throw new Error(`say what to fail over: --input <file> (failoverSite's input, see the README's Failover section)`);
      // Everything that can be checked without Temporal is, before connecting.
      const by = whoAmI();
      const input = failoverInputFor(environment, opts.input, loadFailoverInput(opts.input, opts.site), opts.planned === true, by);
      await withClient(async (client) => {
        const handle = await startOperation(
          client,
          'failoverSite',
          failoverWorkflowId(environment, input.from),
          [input],
          `${input.mode} failover of ${environment}: ${input.from} -> ${input.to}`,
          undefined,
          { environment, operation: 'failover', specFile: opts.input },
        );
        if (opts.detach) {
          console.log(detachedText(environment, input, by));
          return;
        }
        console.log(`Failing over ${environment} (${input.mode}): ${input.from} -> ${input.to}: workflow ${handle.workflowId}`);
        const result = await followProgress<FailoverResult>(handle, { lines: failoverProgressLines(environment) });
        console.log(formatFailoverResult(result));
      });
    });

  failover
    .command('status')
    .description("the environment's failover: its step, each observer's view, the approval, fence, promotion, traffic, RTO and RPO")
    .argument('<environment>')
    .action(async (environment: string) => {
      checkedEnvironmentName(environment);
      await withClient(async (client) => {
        const found = await findFailover(client, environment);
        if (!found) throw new Error(nothingRunning(environment));
        const report = await workflowStatus(client, found.workflowId).catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) throw new Error(`no failover of ${environment} (no workflow ${found.workflowId})`);
          throw err;
        });
        const view = (report.status as Partial<FailoverStatus> | undefined)?.failover;
        console.log([formatStatus(report), ...(view ? [formatFailoverView(view, environment)] : [])].join('\n'));
      });
    });

  const failback = program
    .command('failback')
    .description(
      'after a failover, bring the recovered site back (failbackSite): rebuilt as a replica, caught up, then, once approved, the primary and traffic moved back',
    )
    .argument('<environment>')
    .option('--input <file>', "failbackSite's input (YAML or JSON; secrets as references only), such as failback.json")
    .option('--detach', 'start it and return; then `opsflow failback status <env>` and `opsflow approve <env>`')
    .action(async (environment: string, opts: { input?: string; detach?: boolean }) => {
      checkedEnvironmentName(environment);
      if (opts.input === undefined)
        throw new Error(`say what to fail back: --input <file> (failbackSite's input, see the README's Failover section)`);
      const by = whoAmI();
      const input = failbackInputFor(environment, opts.input, loadFailbackInput(opts.input), by);
      await withClient(async (client) => {
        const handle = await startOperation(
          client,
          'failbackSite',
          failbackWorkflowId(environment, input.to),
          [input],
          `failback of ${environment}: ${input.from} -> ${input.to}`,
          undefined,
          { environment, operation: 'failback', specFile: opts.input },
        );
        if (opts.detach) {
          console.log(failbackDetachedText(environment, input, by));
          return;
        }
        console.log(`Failing back ${environment}: ${input.from} -> ${input.to}: workflow ${handle.workflowId}`);
        const result = await followProgress<FailbackResult>(handle, { lines: failbackProgressLines(environment) });
        console.log(formatFailbackResult(result));
      });
    });

  failback
    .command('status')
    .description("the environment's failback: its step, the replica's catch-up, the approval, the switch, traffic, RTO and RPO")
    .argument('<environment>')
    .action(async (environment: string) => {
      checkedEnvironmentName(environment);
      await withClient(async (client) => {
        const found = await findFailback(client, environment);
        if (!found)
          throw new Error(`no failback of ${environment} was started; start one with \`opsflow failback ${environment} --input <file>\``);
        const report = await workflowStatus(client, found.workflowId).catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) throw new Error(`no failback of ${environment} (no workflow ${found.workflowId})`);
          throw err;
        });
        const view = (report.status as Partial<FailbackStatus> | undefined)?.failback;
        console.log([formatStatus(report), ...(view ? [formatFailbackView(view, environment)] : [])].join('\n'));
      });
    });

  const dr = program
    .command('dr')
    .description("an environment's disaster recovery: its DR monitor and drill, the last failover and failback, which site serves");
  registerDrDrillCommands(dr);
  dr.command('status')
    .description(
      "the DR monitor's state (verdicts, consecutive count, cooldown, the failover it started), the last failover and failback with RTO and RPO, which site serves",
    )
    .argument('<environment>')
    .action(async (environment: string) => {
      checkedEnvironmentName(environment);
      console.log(await withClient(async (client) => formatDrStatus(await drStatus(client, environment))));
    });

  program
    .command('approve')
    .description(
      "approve the environment's failover or failback, or the stack's staged release, that waits for a human (sent as user@host, or OPSFLOW_REQUESTED_BY)",
    )
    .argument('<environment>')
    .option('--note <text>', 'why, recorded with the approval', note)
    .action(async (environment: string, opts: { note?: string }) => {
      checkedEnvironmentName(environment);
      const args = { by: whoAmI(), ...(opts.note !== undefined ? { note: opts.note } : {}) };
      console.log(await withClient((client) => approveFailover(client, environment, args)));
    });
}
