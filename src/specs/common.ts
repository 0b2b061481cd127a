// Building blocks shared by every spec: names, references to secrets, and the one way a spec's
// problems are reported (each names the field it is about).
import { z } from 'zod';
import { specIssueMessage } from './messages';

/**
 * Names the worker uses for itself (its cloud token, its Temporal credentials, its own settings):
 * never handed out as a secret, whatever the worker's allowlist says.
 */
export const WORKER_OWN_ENV = /^(DIGITALOCEAN_|LINODE_|TEMPORAL_|AWS_|OPSFLOW_(?!SECRET_))/;

/** A compose service name (compose allows letters, digits, `.`, `_`, `-`). */
export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

/** A variable name as a shell and compose's .env file accept it. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A reference to a secret the worker resolves: `env:NAME` (a variable the worker is configured to
 * hand out: OPSFLOW_SECRET_* or its OPSFLOW_SECRET_ENV list) or `file:/absolute/path` (inside the
 * worker's OPSFLOW_SECRETS_DIR). The worker checks its own lists; this refuses what none may hold.
 */
export const secretRef = z
  // A literal where a reference belongs may be the secret itself: never echoed in the error.
  .string({
    // A missing field keeps the usual "is required".
    error: (issue) =>
      issue.input === undefined
        ? undefined
        : 'must be a secret reference (env:VARIABLE or file:/absolute/path), not a literal value (not shown)',
  })
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/\S+)$/, 'must be a secret reference: env:VARIABLE or file:/absolute/path')
  .refine(
    (ref) => !(ref.startsWith('env:') && WORKER_OWN_ENV.test(ref.slice(4))),
    "names one of the worker's own settings or credentials, which it never hands out; use an OPSFLOW_SECRET_* variable",
  )
  .refine(
    (ref) =>
      !(
        ref.startsWith('file:') &&
        ref
          .slice(5)
          .split('/')
          .some((part, i) => i > 0 && (part === '..' || part === '.' || part === ''))
      ),
    'must be a plain absolute path (no .., . or //)',
  );

export const dnsLabel = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/, 'must be lowercase letters, digits and dashes, starting with a letter');

export const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ..');

/** Keys that name secrets: their values must be references, never written inline. */
export const SECRET_NAME = /pass(word|phrase)?|secret|token|private_?key|api_?key|credential/i;
/**
 * Values that are secrets whatever their key: private key blocks (PEM, OpenSSH, PGP, PuTTY) and
 * DigitalOcean, GitHub, Slack, Stripe and AWS tokens.
 */
export const SECRET_VALUE =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-\d|\bdo[opr]_v1_[0-9a-z]{16,}|\bgh[pousr]_[A-Za-z0-9]{30,}|\bxox[abpr]-[A-Za-z0-9-]{10,}|\bsk_live_|\bAKIA[0-9A-Z]{16}\b/;

/** Every string in a value, with its path: for checks that must reach every field. */
export function stringsWithin(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; text: string }[] {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringsWithin(item, [...path, i]));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) => stringsWithin(item, [...path, key]));
  return [];
}

export class SpecError extends Error {
  constructor(
    readonly kind: string,
    readonly problems: string[],
    /** Each problem's field, when known: where load.ts finds its line in the file. */
    readonly paths: readonly (readonly PropertyKey[])[] = [],
  ) {
    // A problem of several lines (a YAML code frame) stays indented under its own bullet.
    super(`invalid ${kind} spec:\n${problems.map((p) => `  - ${p.replace(/\n/g, '\n    ')}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

/** A record key's own message (zod says only "Invalid key in record"). */
function issueMessage(issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
}

/** Parses with a zod schema; on failure throws a SpecError listing `path: message` per problem. */
export function parseSpec<S extends z.ZodType>(kind: string, schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input, { error: specIssueMessage });
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issueMessage(issue)}`,
  );
  // An unknown field's place is its own key, not the mapping it was found in.
  const paths = result.error.issues.map((issue) => (issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path));
  throw new SpecError(kind, problems, paths);
}

/**
 * A spec's JSON Schema for editors and CI (`opsflow schema <kind>`): what the user writes (input
 * side, defaults optional). Draft 7, the newest that VS Code's YAML extension (yaml-language-server)
 * and ajv's default export validate. Zod marks startsWith as format "starts_with", which no
 * validator knows; the pattern beside it says the same, so the format is dropped.
 */
export function specJsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.jsonSchema.format === 'starts_with' && ctx.jsonSchema.pattern) delete ctx.jsonSchema.format;
    },
  });
}
