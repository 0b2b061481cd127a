// One vocabulary of failures: the constructors make non-retryable ApplicationFailures of the named
// type with the report in the details; the names deployRelease used before the saga dialect are
// read as today's; validated() turns a parse error into InvalidSpec / InvalidInput naming the field.
import { ApplicationFailure } from '@temporalio/common';
import { parseDeployReleaseInput } from '../../../src/specs/deploy-release';
import { parseEnvironmentSpec } from '../../../src/specs/environment';
import {
  canonicalFailureType,
  failedAndKept,
  failure,
  invalidInput,
  invalidSpec,
  LEGACY_FAILURE_TYPES,
  OUTCOME,
  REFUSAL,
  rollbackIncomplete,
  rolledBack,
  STEP_FAILURE,
} from '../../../src/workflows/shared/failures';
import { ROLLBACK_INCOMPLETE, ROLLED_BACK } from '../../../src/workflows/shared/saga';
import { refuse, validated } from '../../../src/workflows/shared/validated';

const report = { compensated: ['delete b', 'delete a'], failed: [] };

test('outcome constructors: type, non-retryable, the rollback report (and extra words) in the details', () => {
  const done = rolledBack('broke; rolled back 2 step(s)', report, { extra: { running: { app: 'x' } } });
  expect([done.type, done.nonRetryable, done.message, done.details]).toEqual([
    OUTCOME.RolledBack,
    true,
    'broke; rolled back 2 step(s)',
    [{ ...report, running: { app: 'x' } }],
  ]);
  const cause = new Error('root');
  const stuck = rollbackIncomplete('stuck', { compensated: [], failed: [{ name: 'delete a', error: 'boom' }] }, { cause });
  expect([stuck.type, stuck.nonRetryable, stuck.cause, stuck.details]).toEqual([
    OUTCOME.RollbackIncomplete,
    true,
    cause,
    [{ compensated: [], failed: [{ name: 'delete a', error: 'boom' }] }],
  ]);
  const kept = failedAndKept('kept', ['vpc']);
  expect([kept.type, kept.details]).toEqual([OUTCOME.FailedAndKept, [{ kept: ['vpc'] }]]);
  expect([ROLLED_BACK, ROLLBACK_INCOMPLETE]).toEqual(['RolledBack', 'RollbackIncomplete']);
});

test('step failures are non-retryable unless asked, and keep a retry delay', () => {
  const refused = failure(STEP_FAILURE.ServiceNotRunning, 'no auth');
  expect([refused.type, refused.nonRetryable]).toEqual(['ServiceNotRunning', true]);
  const blip = failure(STEP_FAILURE.SshConnectionFailed, 'reset', { retryable: true, nextRetryDelay: 2000 });
  expect([blip.nonRetryable, blip.nextRetryDelay]).toEqual([false, 2000]);
  expect(invalidSpec('bad', ['name: bad']).details).toEqual([['name: bad']]);
  expect(invalidInput('bad').type).toBe(REFUSAL.InvalidInput);
});

test("deployRelease's old names are read as today's; others pass unchanged", () => {
  expect(canonicalFailureType('ReleaseRolledBack')).toBe('RolledBack');
  expect(canonicalFailureType('RollbackFailed')).toBe('RollbackIncomplete');
  expect(canonicalFailureType('RolledBack')).toBe('RolledBack');
  expect(canonicalFailureType('SshUnreachable')).toBe('SshUnreachable');
  expect(Object.keys(LEGACY_FAILURE_TYPES).sort()).toEqual(['ReleaseRolledBack', 'RollbackFailed']);
});

test('no two failure names collide across outcomes, refusals and step failures', () => {
  const all = [...Object.values(OUTCOME), ...Object.values(REFUSAL), ...Object.values(STEP_FAILURE)];
  expect(new Set(all).size).toBe(all.length);
  for (const [key, value] of Object.entries({ ...OUTCOME, ...REFUSAL, ...STEP_FAILURE })) expect(value).toBe(key);
});

function thrown(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('did not throw');
}

test('validated(): a spec error becomes InvalidSpec naming the field, an input error InvalidInput', () => {
  const spec = thrown(() => validated('spec', parseEnvironmentSpec, { name: 'Bad Name' }));
  expect(spec).toBeInstanceOf(ApplicationFailure);
  expect([spec.type, spec.nonRetryable]).toEqual(['InvalidSpec', true]);
  expect(spec.message).toContain('name: ');
  expect((spec.details?.[0] as string[]).some((p) => p.startsWith('name: '))).toBe(true);

  const input = thrown(() => validated('input', parseDeployReleaseInput, { environment: 'stack-a' }));
  expect([input.type, input.nonRetryable]).toEqual(['InvalidInput', true]);
  expect(input.message).toContain('images: ');
});

test('validated(): what parses is returned; other errors pass through untouched', () => {
  expect(validated('input', (x) => Number(x) * 2, '21')).toBe(42);
  const odd = new RangeError('not a parse error');
  expect(
    thrown(() =>
      validated(
        'input',
        () => {
          throw odd;
        },
        1,
      ),
    ),
  ).toBe(odd);
  const refused = thrown(() => refuse('spec', 'application.compose', 'the workflow needs the compose file itself'));
  expect([refused.type, refused.message, refused.details]).toEqual([
    'InvalidSpec',
    'application.compose: the workflow needs the compose file itself',
    [['application.compose: the workflow needs the compose file itself']],
  ]);
});
