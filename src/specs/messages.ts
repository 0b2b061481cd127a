// What a user reads when a spec is wrong: the bad value echoed, the valid ones listed, and a
// "did you mean" for a misspelt field. Pure (no I/O), so workflows may use it as specs do.
import type { z } from 'zod';

/** A value as the user wrote it, short enough for one line: `"london"`, `1024`, `["a"]`. */
export function showValue(value: unknown): string {
  const text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Edit distance with adjacent swaps counted as one edit (optimal string alignment): `sevrices`
 * is one edit from `services`, as a typist would count it. Written here rather than taken from
 * npm because the common packages (fastest-levenshtein, leven) count a swap as two edits.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate a misspelling most likely meant: at most 2 edits away (case ignored), and fewer
 * edits than half the word, so a short word is not "corrected" into an unrelated one.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && distance * 2 < Math.max(word.length, 2) && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** `"london" is not a region; valid: ams3, blr1, ...` (with a "did you mean" when one is close). */
export function notOneOf(noun: string, input: unknown, valid: readonly string[]): string {
  const list = `valid: ${[...valid].sort().join(', ')}`;
  if (input === undefined) return `is required: ${noun}; ${list}`;
  const near = typeof input === 'string' ? closestMatch(input, valid) : undefined;
  return `${showValue(input)} is not ${noun}${near ? `; did you mean "${near}"?` : ''}; ${list}`;
}

/** A zod error function for an enum field that names what the field holds. */
export const notOneOfError =
  (noun: string, valid: readonly string[]) =>
  (issue: z.core.$ZodRawIssue): string | undefined =>
    issue.code === 'invalid_value' ? notOneOf(noun, issue.input, valid) : undefined;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of fields',
  record: 'a mapping',
};

/** What the user wrote, by kind: `got the string "3000"`, `got a list`. */
function got(input: unknown): string {
  if (input === null) return 'got null';
  if (Array.isArray(input)) return 'got a list';
  if (typeof input === 'object') return 'got a mapping of fields';
  return `got the ${typeof input} ${showValue(input)}`;
}

function unknownFields(keys: string[], known: string[]): string {
  return keys
    .map((key) => {
      const near = closestMatch(key, known);
      return near ? `unknown field "${key}"; did you mean "${near}"?` : `unknown field "${key}"; valid fields: ${known.join(', ')}`;
    })
    .join('; ');
}

/** A bound in the user's terms: `must be at most 16384, got 20000`, `needs at least 1 item`. */
function sizeMessage(issue: z.core.$ZodRawIssue & { code: 'too_small' | 'too_big' }): string | undefined {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
  const exclusive = issue.inclusive === false;
  const { origin, input } = issue;
  if (origin === 'number' || origin === 'int')
    return `must be ${small ? (exclusive ? 'more than' : 'at least') : exclusive ? 'less than' : 'at most'} ${bound}, got ${showValue(input)}`;
  const count = (unit: string) => `${bound} ${unit}${bound === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set')
    return small ? `needs at least ${count('item')}` : `takes at most ${count('item')}, got ${(input as unknown[]).length}`;
  if (origin === 'string')
    return small
      ? bound === 1
        ? 'must not be empty'
        : `must be at least ${count('character')}`
      : `must be at most ${count('character')}, got ${(input as string).length}`;
  return undefined;
}

/**
 * Messages for zod's own issues (given at parse, so a field's own message still wins): missing
 * fields, wrong types with the value seen, enums with their choices, unknown fields with the
 * closest known one. Anything else keeps zod's message.
 */
export function specIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `is required (${TYPE_NAMES[issue.expected] ?? issue.expected})`;
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, ${got(issue.input)}`;
    case 'invalid_value':
      return notOneOf('one of the choices', issue.input, issue.values.map(String));
    case 'unrecognized_keys': {
      const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      return unknownFields(issue.keys, Object.keys(shape ?? {}));
    }
    case 'invalid_format':
      // Only patterns without a message of their own get here: echo the value beside the pattern.
      return issue.format === 'regex' && issue.pattern
        ? `${showValue(issue.input)} does not match the pattern ${issue.pattern}`
        : undefined;
    case 'too_small':
    case 'too_big':
      return sizeMessage(issue);
    case 'invalid_union': {
      const { discriminator, options } = issue as { discriminator?: string; options?: unknown[] };
      if (!discriminator || !options) return undefined;
      const input = issue.input as Record<string, unknown> | undefined;
      return notOneOf(`a ${discriminator} opsflow knows`, input?.[discriminator], options.map(String));
    }
    default:
      return undefined;
  }
}

/**
 * For a refinement's `when`: run it even when fields of its object failed (zod skips it then by
 * default), so cross-field problems are said together with field problems, in one error. Only an
 * object is checked: a refinement reads its fields, and a null or a string has none.
 */
export const whenAnObject = (payload: { value: unknown }): boolean =>
  typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value);
