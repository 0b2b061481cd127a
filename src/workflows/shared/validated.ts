// Rule 7: a workflow parses its input with the same schema the CLI used, at its start, so a run
// started by hand (temporal CLI, another client) with a bad field fails before any side effect,
// non-retryable, naming the field. Every workflow validates through this one function.
import { SpecError } from '../../specs/common';
import { DeployInputError } from '../../specs/deploy-release';
import { invalidInput, invalidSpec } from './failures';

/** `spec` for documents a user writes (environment, backup policy); `input` for an operation's arguments. */
export type InputKind = 'spec' | 'input';

/**
 * `parse(input)`, or an InvalidSpec / InvalidInput failure whose message lists every bad field
 * (`path: problem`) and whose details carry the list. Other errors pass through unchanged.
 */
export function validated<T>(kind: InputKind, parse: (input: unknown) => T, input: unknown): T {
  try {
    return parse(input);
  } catch (err) {
    if (err instanceof SpecError || err instanceof DeployInputError)
      throw (kind === 'spec' ? invalidSpec : invalidInput)(err.message, err.problems);
    throw err;
  }
}

/** A problem found after parsing (a rule the schema cannot express), raised the same way. */
export function refuse(kind: InputKind, field: string, problem: string): never {
  const line = `${field}: ${problem}`;
  throw (kind === 'spec' ? invalidSpec : invalidInput)(line, [line]);
}
