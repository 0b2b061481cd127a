// The worker's own settings, read from its environment and validated before it connects, so a
// typo fails at start with the variable named instead of surfacing later mid-workflow.
import { z } from 'zod';
import { cloudEndpoint } from './endpoint-url';

const hostPort = z.string().regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port, like 127.0.0.1:9464');

export const workerEnvironmentSchema = z.object({
  OPSFLOW_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  OPSFLOW_METRICS_ADDRESS: z.union([z.literal('off'), hostPort]).default('127.0.0.1:9464'),
  OPSFLOW_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  OPSFLOW_SSH_KEYS: z
    .string()
    .regex(/^\s*[A-Za-z0-9_.-]+=[^,=]+(,\s*[A-Za-z0-9_.-]+=[^,=]+)*\s*$/, 'must look like name=/path/to/key[,name2=/path/to/key2]')
    .optional(),
  DIGITALOCEAN_API_URL: cloudEndpoint.optional(),
  /** The share of the account's 250 requests a minute this worker spends (lower when other tools share it). */
  DIGITALOCEAN_REQUESTS_PER_MINUTE: z
    .string()
    .regex(/^\d+$/, 'must be a whole number from 1 to 250')
    .refine((v) => Number(v) >= 1 && Number(v) <= 250, 'must be a whole number from 1 to 250')
    .optional(),
  LINODE_API_URL: cloudEndpoint.optional(),
  /** Spaces (S3) endpoint for backup policies that name none. */
  SPACES_ENDPOINT: cloudEndpoint.optional(),
  /** Variables the worker hands out for `env:` secret references: names, or prefixes ending in * (default OPSFLOW_SECRET_*). */
  OPSFLOW_SECRET_ENV: z
    .string()
    .regex(
      /^\s*[A-Za-z_][A-Za-z0-9_]*\*?(\s*,\s*[A-Za-z_][A-Za-z0-9_]*\*?)*\s*$/,
      'must look like OPSFLOW_SECRET_*,STACK_A_POSTGRES_PASSWORD (names, or prefixes ending in *)',
    )
    .optional(),
  /** The folder `file:` secret references must lie in (default /run/secrets). */
  OPSFLOW_SECRETS_DIR: z.string().startsWith('/', 'must be an absolute path').optional(),
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
