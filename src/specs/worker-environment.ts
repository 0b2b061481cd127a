// The worker's own settings, read from its environment and validated before it connects, so a
// typo fails at start with the variable named instead of surfacing later mid-workflow.
import { z } from 'zod';

const hostPort = z.string().regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port, like 127.0.0.1:9464');

export const workerEnvironmentSchema = z.object({
  OPSFLOW_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  OPSFLOW_METRICS_ADDRESS: z.union([z.literal('off'), hostPort]).default('127.0.0.1:9464'),
  OPSFLOW_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  OPSFLOW_SSH_KEYS: z
    .string()
    .regex(/^\s*[A-Za-z0-9_.-]+=[^,=]+(,\s*[A-Za-z0-9_.-]+=[^,=]+)*\s*$/, 'must look like name=/path/to/key[,name2=/path/to/key2]')
    .optional(),
  DIGITALOCEAN_API_URL: z.url().optional(),
  /** The share of the account's 250 requests a minute this worker spends (lower when other tools share it). */
  DIGITALOCEAN_REQUESTS_PER_MINUTE: z.string().regex(/^\d+$/, 'must be a whole number from 1 to 250').refine((v) => Number(v) >= 1 && Number(v) <= 250, 'must be a whole number from 1 to 250').optional(),
  LINODE_API_URL: z.url().optional(),
  /** Spaces (S3) endpoint for backup policies that name none. */
  SPACES_ENDPOINT: z.url().optional(),
});

export type WorkerEnvironment = z.infer<typeof workerEnvironmentSchema>;

/** Parses the worker's environment; throws one message naming every bad variable. */
export function parseWorkerEnvironment(env: NodeJS.ProcessEnv): WorkerEnvironment {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = workerEnvironmentSchema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`invalid worker settings: ${problems.join('; ')}`);
}
