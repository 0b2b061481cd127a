// What `opsflow dr status` prints for states the live test does not reach: a monitor that ended,
// a failover start it had refused (one already running under that id), a failback whose RTO and
// RPO were recorded, and both sites serving again.
import { formatDrStatus, type DrStatusReport } from '../../src/client/dr-status';
import type { MonitorVerdict } from '../../src/workflows/failover/dr-monitor-api';

const verdict: MonitorVerdict = {
  at: '2026-12-02T14:00:00.000Z',
  down: 2,
  needed: 2,
  declaredDown: true,
  observers: [
    { observer: 'worker probes', verdict: 'down', saw: '0 of 3 healthy' },
    { observer: 'survivor replica', verdict: 'down', saw: 'IO thread: 2003' },
    { observer: 'cloudflare pool health', verdict: 'cannot tell', saw: 'could not look: 503' },
  ],
};

test('a refused start, a failback with RTO and RPO, both sites serving', () => {
  const report: DrStatusReport = {
    environment: 'stack-e',
    monitor: {
      workflowId: 'dr-monitor-stack-e',
      execution: 'RUNNING',
      view: {
        environment: 'stack-e',
        site: 'fra1',
        survivor: 'london',
        phase: 'watching',
        probes: 40,
        runs: 2,
        probesThisRun: 10,
        probesPerRun: 30,
        consecutiveDown: 1,
        needed: 3,
        intervalSeconds: 30,
        armed: true,
        verdicts: [verdict],
        failovers: [{ workflowId: 'failover-stack-e-fra1', at: verdict.at, verdict, refused: 'failover-stack-e-fra1 is already running' }],
      },
    },
    lastFailback: {
      workflowId: 'failback-stack-e-fra1',
      execution: 'COMPLETED',
      outcome: 'completed',
      startTime: '2026-12-02T15:00:00.000Z',
      closeTime: '2026-12-02T15:01:00.000Z',
      rtoSeconds: 4,
      rpoTransactions: 0,
    },
    inventory: true,
  };
  expect(formatDrStatus(report).split('\n')).toEqual([
    'DR of stack-e',
    '  monitor dr-monitor-stack-e (watching): probes fra1 every 30 s, survivor london; 40 probe(s) over 2 run(s)',
    '  consecutive down: 1 of 3 needed',
    '  probe 2026-12-02T14:00:00.000Z: 2 of 3 observers see fra1 down, 2 needed: declared down (worker probes down, survivor replica down, cloudflare pool health cannot tell)',
    '  failover not started at 2026-12-02T14:00:00.000Z: failover-stack-e-fra1 is already running',
    '  last failover: none',
    '  last failback: failback-stack-e-fra1 COMPLETED (completed), started 2026-12-02T15:00:00.000Z, closed 2026-12-02T15:01:00.000Z; RTO 4 s from approval, RPO 0 transaction(s) lost',
    '  serving: every site at its usual split (no failover stands)',
  ]);
});

test('a monitor that ended', () => {
  const text = formatDrStatus({
    environment: 'stack-e',
    monitor: { workflowId: 'dr-monitor-stack-e', execution: 'TERMINATED' },
    inventory: false,
  });
  expect(text).toContain('  monitor dr-monitor-stack-e: TERMINATED (not watching stack-e)');
  expect(text).toContain('  serving: unknown (no inventory for stack-e)');
});
