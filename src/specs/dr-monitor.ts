// What drMonitor takes: the failover it would start (failoverSite's own input: its `from` is the
// site watched, through the same observers as the failover's assessment), how often it looks, how
// many consecutive majority-down verdicts it needs before acting, how long it leaves a site alone
// after starting a failover, and how many probes one run makes before it continues as new. Pure;
// the workflow and any client use the same function.
import { z } from 'zod';
import { parseSpec, SpecError } from './common';
import { failoverSiteSchema, parseFailoverSiteInput } from './failover';

export const drMonitorSchema = z.strictObject({
  /** The emergency failover the monitor starts when the site stays down (failoverSite's input). */
  failover: failoverSiteSchema,
  /** Seconds from the end of one probe to the start of the next. */
  intervalSeconds: z.number().min(1).max(3600).default(30),
  /** Consecutive probes in which a majority of observers see the site down before a failover starts. */
  consecutiveDown: z.number().int().min(1).max(100).default(3),
  /** After starting a failover, none is started for this long, whatever the probes say. */
  cooldownSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(3600),
  /** Probes one run makes before it continues as new, carrying its state (keeps each history small). */
  probesPerRun: z.number().int().min(1).max(5000).default(200),
});

export type DrMonitorInput = z.input<typeof drMonitorSchema>;
export type DrMonitor = z.output<typeof drMonitorSchema>;

export function parseDrMonitorInput(input: unknown): DrMonitor {
  const parsed = parseSpec('drMonitor input', drMonitorSchema, input);
  const problems: string[] = [];
  try {
    parseFailoverSiteInput(parsed.failover);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    problems.push(...err.problems.map((p) => `failover.${p}`));
  }
  if (parsed.failover.mode === 'planned')
    problems.push('failover.mode: a monitor starts emergency failovers only (a planned switchover is a human decision)');
  if (problems.length) throw new SpecError('drMonitor input', problems);
  return parsed;
}
