// Names map to tags one to one: an environment name is its own tag and anything that is not a name
// is refused (`stack.a` once became stack-a's tag); workflow ids are escaped reversibly.
import { checkedEnvironmentName, environmentNameProblem } from '../../src/names/environment-name';
import { environmentTag, escapeTagPart, workflowTag } from '../../src/names/ownership-tags';

test('environment names: lowercase letters, digits and dashes; everything else refused, never cleaned up', () => {
  for (const good of ['stack-a', 'a1', 'prod-eu-2']) expect(environmentNameProblem(good)).toBeUndefined();
  for (const bad of ['stack.a', 'Stack-a', 'stack_a', 'stack-a-', '-a', 'a', '1stack', 'stack a', '', 'x'.repeat(33), 'stack/a']) {
    expect(environmentNameProblem(bad)).toContain('is not an environment name');
  }
  expect(() => checkedEnvironmentName('stack.a')).toThrow('"stack.a" is not an environment name (lowercase letters, digits and dashes');
});

test('environment tags are the name itself; a name that is not one gets no tag', () => {
  expect(environmentTag('stack-a')).toBe('opsflow-env:stack-a');
  expect(() => environmentTag('stack.a')).toThrow('no tag for "stack.a" is not an environment name');
});

test('workflow ids escape reversibly: ids that used to collide get different tags', () => {
  const ids = ['deploy-stack.a-1', 'deploy-stack-a-1', 'deploy-stack_a-1', 'deploy-stack_2d_a-1', 'déploi/x y'];
  const tags = ids.map((workflowId) => workflowTag({ workflowId, environment: 'stack-a' }));
  expect(new Set(tags).size).toBe(ids.length);
  expect(tags.slice(0, 3)).toEqual(['opsflow:deploy-stack_2e_a-1', 'opsflow:deploy-stack-a-1', 'opsflow:deploy-stack_5f_a-1']);
  for (const tag of tags) expect(tag).toMatch(/^[a-zA-Z0-9_:-]{1,255}$/);
  // Plain ids (all opsflow makes) keep the tags they always had.
  expect(workflowTag({ workflowId: 'provision-stack-a', environment: 'stack-a' })).toBe('opsflow:provision-stack-a');
  const long = escapeTagPart('x'.repeat(300));
  expect([long.length <= 200, long === escapeTagPart('x'.repeat(300)), long === escapeTagPart('x'.repeat(301))]).toEqual([
    true,
    true,
    false,
  ]);
});
