// What fenceReturningPrimary takes: the failover that left it (its id, run and sites), the old
// primary's database server and Redis that did not answer that failover's fence (passwords as
// secret references), and how it watches: how often it tries, for how long at most, and how many
// tries one run makes before it continues as new. Pure; the workflow and any client share it.
import { z } from 'zod';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE } from '../names/environment-name';
import { parseSpec, SpecError } from './common';
import { databaseServerSchema, fenceWatchTimingSchema, redisServerSchema, siteName } from './failover';

export const fenceWatchSchema = z.strictObject({
  environment: z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE),
  /** The failover that found the old primary unreachable; its own run is never taken for a later operation. */
  failover: z.strictObject({
    workflowId: z.string().min(1).max(1000),
    runId: z.string().min(1).max(100),
    from: siteName,
    to: siteName,
  }),
  /** The old primary's database server, to be set read-only once it answers. */
  database: databaseServerSchema.optional(),
  /** The old site's Redis, to be fenced once it answers. */
  redis: redisServerSchema.optional(),
  ...fenceWatchTimingSchema.shape,
});

export type FenceWatchInput = z.input<typeof fenceWatchSchema>;
export type FenceWatch = z.output<typeof fenceWatchSchema>;

export function parseFenceWatchInput(input: unknown): FenceWatch {
  const parsed = parseSpec('fenceReturningPrimary input', fenceWatchSchema, input);
  const problems: string[] = [];
  if (!parsed.database && !parsed.redis) problems.push('database: nothing to fence (neither database nor redis given)');
  if (parsed.failover.from === parsed.failover.to) problems.push(`failover.to: ${parsed.failover.to} is the site failed over from`);
  if (problems.length) throw new SpecError('fenceReturningPrimary input', problems);
  return parsed;
}
