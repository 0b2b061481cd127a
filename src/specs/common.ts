// Building blocks shared by every spec: names, references to secrets, and the one way a spec's
// problems are reported (each names the field it is about).
import { z } from 'zod';

/** A reference to a secret the worker resolves: `env:NAME` or `file:/absolute/path`. */
export const secretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/\S+)$/, 'must be a secret reference: env:VARIABLE or file:/absolute/path');

export const dnsLabel = z.string().regex(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/, 'must be lowercase letters, digits and dashes, starting with a letter');

export const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ..');

/** Keys that name secrets: their values must be references, never written inline. */
export const SECRET_NAME = /pass(word|phrase)?|secret|token|private_?key|api_?key|credential/i;
/** Values that are secrets whatever their key: private keys and DigitalOcean tokens. */
export const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|\bdop_v1_[0-9a-f]{16,}|\bsk_live_/;

export class SpecError extends Error {
  constructor(
    readonly kind: string,
    readonly problems: string[],
  ) {
    super(`invalid ${kind} spec:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

/** Parses with a zod schema; on failure throws a SpecError listing `path: message` per problem. */
export function parseSpec<S extends z.ZodType>(kind: string, schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  throw new SpecError(kind, problems);
}
