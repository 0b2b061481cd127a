// A metric's success or failure condition, parsed into a structure instead of evaluated as code:
// a spec is user input, and Argo's expression language (expr) can call functions. The grammar is
// comparisons of the measured value with a number, joined by all-`&&` or all-`||`:
//   result < 0.05        result[0] <= 0.3        result >= 0.9 && result[1] < 2
// Pure (no I/O), so specs and workflows may use it.

export type Comparator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Comparison {
  /** Which series of the query's result; absent: the result must hold exactly one. */
  index?: number;
  op: Comparator;
  value: number;
}

export interface Condition {
  join: 'and' | 'or';
  comparisons: Comparison[];
  /** As the user wrote it, for statuses and errors. */
  text: string;
}

export class ConditionSyntaxError extends Error {
  constructor(text: string, problem: string) {
    super(
      `${JSON.stringify(text)} is not a condition opsflow reads: ${problem}; write comparisons such as "result < 0.05" or "result[0] <= 0.3", joined by && or ||`,
    );
    this.name = 'ConditionSyntaxError';
  }
}

const COMPARISON = /^result(?:\[(\d{1,3})\])?\s*(<=|>=|==|!=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$/;
const MAX_LENGTH = 300;

export function parseCondition(text: string): Condition {
  if (text.length > MAX_LENGTH) throw new ConditionSyntaxError(text.slice(0, 40) + '...', `longer than ${MAX_LENGTH} characters`);
  const hasAnd = text.includes('&&');
  const hasOr = text.includes('||');
  if (hasAnd && hasOr) throw new ConditionSyntaxError(text, 'mixes && and || (use one of them, there are no parentheses)');
  const parts = text.split(hasAnd ? '&&' : '||').map((part) => part.trim());
  const comparisons = parts.map((part) => {
    if (part === '') throw new ConditionSyntaxError(text, 'has an empty side of && or ||');
    const match = COMPARISON.exec(part);
    if (!match) throw new ConditionSyntaxError(text, `cannot read ${JSON.stringify(part)}`);
    const comparison: Comparison = { op: match[2] as Comparator, value: Number(match[3]) };
    if (match[1] !== undefined) comparison.index = Number(match[1]);
    return comparison;
  });
  return { join: hasOr ? 'or' : 'and', comparisons, text };
}

/** Why a result cannot be judged by a condition (the measurement is then an error, not a verdict). */
export class ConditionInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionInputError';
  }
}

function compare(left: number, op: Comparator, right: number): boolean {
  switch (op) {
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '==':
      return left === right;
    case '!=':
      return left !== right;
  }
}

/** Whether `values` (one per series of the query's result) meet the condition. */
export function conditionHolds(condition: Condition, values: readonly number[]): boolean {
  const results = condition.comparisons.map((c) => {
    let value: number | undefined;
    if (c.index === undefined) {
      if (values.length !== 1)
        throw new ConditionInputError(
          `${JSON.stringify(condition.text)} reads "result", but the query returned ${values.length} series; name one as result[0]`,
        );
      value = values[0];
    } else {
      value = values[c.index];
      if (value === undefined)
        throw new ConditionInputError(
          `${JSON.stringify(condition.text)} reads result[${c.index}], but the query returned ${values.length} series`,
        );
    }
    return compare(value!, c.op, c.value);
  });
  return condition.join === 'and' ? results.every(Boolean) : results.some(Boolean);
}
