// What drDrill takes: the planned switchover it rehearses (failoverSite's input) and the way back
// (failbackSite's input), for one environment, and who approves each half: the drill's own policy
// (`drill`, recorded as drill-policy) or a human (`human`, `opsflow approve <env>`). Checked whole,
// every problem named by field; pure, so the workflow, the CLI and the schedule use the same
// function. Secrets only as references, as in the inputs it carries.
import { z } from 'zod';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE } from '../names/environment-name';
import { parseSpec, SpecError } from './common';
import { failbackSiteSchema, parseFailbackSiteInput } from './failback';
import { failoverSiteSchema, parseFailoverSiteInput } from './failover';
import { actorName } from './rollout-release';

export const drDrillSchema = z.strictObject({
  environment: z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE),
  /** `drill`: the drill approves each half itself once it waits (as drill-policy); `human`: each half waits for `opsflow approve`. */
  approval: z.enum(['drill', 'human']).default('drill'),
  requestedBy: actorName.optional(),
  /** The switchover rehearsed: failoverSite's input (always run as `mode: planned`). */
  failover: failoverSiteSchema,
  /** The way back: failbackSite's input, from the failover's `to` to its `from` (its split, default 50/50). */
  failback: failbackSiteSchema,
});

export type DrDrillInput = z.input<typeof drDrillSchema>;
export type DrDrill = z.output<typeof drDrillSchema>;

/** Who the drill's own approval is recorded as (an approver name the `approve` validator accepts). */
export const DRILL_APPROVER = 'drill-policy';

export function parseDrDrillInput(input: unknown): DrDrill {
  const parsed = parseSpec('drDrill input', drDrillSchema, input);
  const problems: string[] = [];
  for (const [field, parse] of [
    ['failover', parseFailoverSiteInput],
    ['failback', parseFailbackSiteInput],
  ] as const) {
    try {
      parse(parsed[field]);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      problems.push(...err.problems.map((p) => `${field}.${p}`));
    }
  }
  const { failover, failback, environment } = parsed;
  for (const [field, env] of [
    ['failover', failover.environment],
    ['failback', failback.environment],
  ] as const)
    if (env !== environment) problems.push(`${field}.environment: ${env} is not the drill's environment ${environment}`);
  if (failback.from !== failover.to || failback.to !== failover.from)
    problems.push(
      `failback: goes ${failback.from} -> ${failback.to}, not back the way the failover came (${failover.to} -> ${failover.from})`,
    );
  // Parsed, an omitted mode reads as emergency: only one the file names is refused.
  if ((input as { failover?: { mode?: unknown } }).failover?.mode === 'emergency')
    problems.push('failover.mode: a drill is a planned switchover (leave mode out or say planned)');
  if (parsed.approval === 'drill' && failover.approval)
    problems.push('failover.approval: the drill approves each half itself (approval: drill); give a policy only with approval: human');
  if (problems.length) throw new SpecError('drDrill input', problems);
  return { ...parsed, failover: { ...failover, mode: 'planned' } };
}
