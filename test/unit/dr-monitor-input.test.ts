// drMonitor's input as the workflow checks it: defaults (every 30 s, 3 consecutive down, an hour's
// cooldown, 200 probes a run), the failover's own problems named under `failover.`, and a planned
// failover refused (a monitor only starts emergencies, which need a majority of observers).
import { parseDrMonitorInput } from '../../src/specs/dr-monitor';
import { twoSites } from '../helpers/site-inputs';

const failover = { ...twoSites, from: 'fra1', to: 'london' };

test('defaults', () => {
  expect(parseDrMonitorInput({ failover })).toMatchObject({
    intervalSeconds: 30,
    consecutiveDown: 3,
    cooldownSeconds: 3600,
    probesPerRun: 200,
    failover: { mode: 'emergency' },
  });
});

test('every problem named: the failover checked whole, a planned one refused, a bad count', () => {
  expect(() => parseDrMonitorInput({ failover, consecutiveDown: 0 })).toThrow(/consecutiveDown: must be at least 1, got 0/);
  expect(() => parseDrMonitorInput({ failover: { ...failover, to: 'fra1' } })).toThrow(
    /failover\.to: fra1 is the site being failed over from/,
  );
  expect(() => parseDrMonitorInput({ failover: { ...failover, mode: 'planned' } })).toThrow(
    /failover\.mode: a monitor starts emergency failovers only/,
  );
  expect(() => parseDrMonitorInput({ failover, every: 5 })).toThrow(/every/);
});
