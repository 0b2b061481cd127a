// The majority rule of failoverSite's assessment: down only when two of the three observers see
// the site down; an observer that cannot tell never counts as down.
import { assessSite, cannotTell, type ObserverView } from '../../../src/workflows/failover/assessment';

const view = (observer: ObserverView['observer'], verdict: ObserverView['verdict']): ObserverView => ({ observer, verdict, saw: verdict });

test.each([
  [['down', 'down', 'down'], 3, true],
  [['down', 'down', 'up'], 2, true],
  [['down', 'down', 'cannot tell'], 2, true],
  [['down', 'up', 'up'], 1, false],
  [['down', 'cannot tell', 'cannot tell'], 1, false],
  [['cannot tell', 'cannot tell', 'cannot tell'], 0, false],
] as const)('%j: %i down, declared down %s', (verdicts, down, declared) => {
  const names = ['worker probes', 'survivor replica', 'cloudflare pool health'] as const;
  const a = assessSite(
    'emergency',
    'fra1',
    verdicts.map((v, i) => view(names[i]!, v)),
  );
  expect(a).toMatchObject({ down, needed: 2, declaredDown: declared });
});

test('an observer that failed cannot tell', () => {
  expect(cannotTell('survivor replica', 'could not look: timed out')).toEqual({
    observer: 'survivor replica',
    verdict: 'cannot tell',
    saw: 'could not look: timed out',
  });
});
