// The one rule for environment names, used by specs, the CLI, the workflows and the ownership tags.
// A name is also a tag and a workflow id part, so it is checked, never "cleaned up": `stack.a` is
// refused, not turned into `stack-a` (which is another environment). Pure: workflows import it.

/** Lowercase letters, digits and dashes, starting with a letter, 2 to 32 characters. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

export const ENVIRONMENT_NAME_RULE =
  'lowercase letters, digits and dashes, starting with a letter and not ending with a dash, 2 to 32 characters';

/** Undefined when `name` is a valid environment name, else what is wrong with it. */
export function environmentNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'an environment name must be a string';
  if (ENVIRONMENT_NAME.test(name)) return undefined;
  return `${JSON.stringify(name)} is not an environment name (${ENVIRONMENT_NAME_RULE})`;
}

export class InvalidEnvironmentName extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'InvalidEnvironmentName';
  }
}

/** Returns `name` when valid; throws InvalidEnvironmentName otherwise. */
export function checkedEnvironmentName(name: unknown): string {
  const problem = environmentNameProblem(name);
  if (problem) throw new InvalidEnvironmentName(problem);
  return name as string;
}
