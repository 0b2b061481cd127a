// `opsflow dr drill schedule <env> --input <file> [--calendar first-sunday | --cron "<5 fields>"]`
// makes (or updates) the environment's DR drill Schedule, dr-drill-<env>; `opsflow dr drill run
// <env>` triggers it now. The input is checked with the workflow's own parser before connecting,
// and must be for the environment named; secrets stay references, printed nowhere.
import type { Command } from 'commander';
import { checkedEnvironmentName } from '../names/environment-name';
import { drDrillScheduleId } from '../names/workflow-ids';
import { loadDrDrillInput } from '../specs/load-failover';
import { describeWhen, drillWhen, runDrillNow, scheduleDrill } from './dr-drill';
import { withClient } from './opsflow-client';

export function registerDrDrillCommands(dr: Command): void {
  const drill = dr
    .command('drill')
    .description('the DR drill: a planned failover and failback on a Temporal Schedule, RTO and RPO recorded each time');

  drill
    .command('schedule')
    .description('create or update the Schedule dr-drill-<env> that runs drDrill (default: the first Sunday of each month, 04:00 UTC)')
    .argument('<environment>')
    .option('--input <file>', "drDrill's input (YAML or JSON): environment, approval (drill | human), failover, failback")
    .option('--calendar <name>', 'when: first-sunday (the first Sunday of each month at 04:00 UTC)')
    .option('--cron <expression>', 'when: a 5-field cron expression in UTC, such as "0 4 * * 0"')
    .action(async (environment: string, opts: { input?: string; calendar?: string; cron?: string }) => {
      checkedEnvironmentName(environment);
      if (opts.input === undefined)
        throw new Error("say what the drill runs: --input <file> (drDrill's input, see the README's DR drill section)");
      const when = drillWhen(opts);
      const input = loadDrDrillInput(opts.input);
      if (input.environment !== environment)
        throw new Error(`${opts.input}: environment is ${input.environment}, not ${environment}: a drill input is for one environment`);
      const done = await withClient((client) => scheduleDrill(client, input, when));
      const id = drDrillScheduleId(environment);
      console.log(
        [
          `${done} schedule ${id}: drDrill of ${environment} (${input.failover.from} -> ${input.failover.to} and back), ${describeWhen(when)}, overlap skip; approved by ${input.approval === 'drill' ? 'the drill itself (drill-policy)' : 'a human (opsflow approve)'}`,
          `run one now: opsflow dr drill run ${environment}   (or: temporal schedule trigger --schedule-id ${id})`,
        ].join('\n'),
      );
    });

  drill
    .command('run')
    .description('trigger the drill schedule now (skipped while a drill still runs); then `opsflow dr status <env>`')
    .argument('<environment>')
    .action(async (environment: string) => {
      checkedEnvironmentName(environment);
      const outcome = await withClient((client) => runDrillNow(client, environment));
      if ('skipped' in outcome)
        throw new Error(`skipped: a drill of ${environment} still runs (${outcome.skipped.running.join(', ') || 'see opsflow dr status'})`);
      console.log(
        `started ${outcome.started.workflowId} (run ${outcome.started.runId}); follow it with \`opsflow dr status ${environment}\``,
      );
    });
}
