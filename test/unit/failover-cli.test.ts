// `opsflow failover` and `opsflow approve` without a server: what is refused before connecting
// (no --input, a bad environment name, an unreadable or invalid input file, an input for another
// environment, a bad --note), each problem named by field and no secret echoed; and the lines a
// failover's status, progress and result become.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { detachedText, failoverFacts, failoverInputFor, formatFailoverResult, formatFailoverView } from '../../src/client/failover';
import { failoverWorkflowId } from '../../src/names/workflow-ids';
import { loadFailoverInput } from '../../src/specs/load-failover';
import type { FailoverResult, FailoverView } from '../../src/workflows/failover/failover-api';
import { offlineCli } from '../helpers/offline-cli';
import { tempDir } from '../helpers/temp';

const dir = tempDir('failover-cli-unit');

function inputFile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

const good = {
  environment: 'stack-e',
  from: 'fra1',
  to: 'london',
  cloudflare: { apiUrl: 'http://127.0.0.1:9/client/v4', apiToken: 'env:OPSFLOW_SECRET_CLOUDFLARE_TOKEN' },
  loadBalancer: { zoneId: 'z1', accountId: 'a1', loadBalancerId: 'lb1', hostname: 'www.stack-e.com', pools: { fra1: 'p1', london: 'p2' } },
  databases: {
    fra1: { name: 'fra1-db', host: '10.0.0.1', port: 3306, user: 'opsflow', password: 'env:OPSFLOW_SECRET_DB_ADMIN' },
    london: { name: 'london-db', host: '10.0.1.1', port: 3306, user: 'opsflow', password: 'env:OPSFLOW_SECRET_DB_ADMIN' },
  },
  replication: { user: 'repl', password: 'file:/run/secrets/repl' },
  verify: { url: 'http://127.0.0.1:9/', host: 'www.stack-e.com' },
};

const run = offlineCli();

test('refused before connecting: no --input, a bad name, a missing file, an input for another environment, a bad --note', async () => {
  await expect(run('failover', 'stack-e')).rejects.toThrow('say what to fail over: --input <file>');
  await expect(run('failover', 'Stack_E', '--input', inputFile('ok.json', good))).rejects.toThrow(/Stack_E/);
  await expect(run('failover', 'stack-e', '--input', path.join(dir, 'missing.json'))).rejects.toThrow(
    /missing\.json: cannot read it \(ENOENT\)/,
  );
  await expect(run('failover', 'stack-b', '--input', inputFile('ok.json', good))).rejects.toThrow(
    /ok\.json: environment is stack-e, not stack-b/,
  );
  await expect(run('failover', 'status', 'Bad_Name')).rejects.toThrow(/Bad_Name/);
  await expect(run('approve', 'Bad_Name')).rejects.toThrow(/Bad_Name/);
  await expect(run('approve', 'stack-e', '--note', '')).rejects.toThrow(
    /--note <text>' argument '' is invalid. must be text of 1 to 500 characters/,
  );
  await expect(run('approve', 'stack-e', '--note', 'n'.repeat(501))).rejects.toThrow(/must be text of 1 to 500 characters/);
  await expect(run('approve')).rejects.toThrow(/missing required argument 'environment'/);
});

test('the input file: every problem named by field and line, a secret value refused without being echoed', () => {
  const bad = inputFile('bad.json', {
    ...good,
    to: 'fra1',
    mode: 'drill',
    databases: { fra1: { ...good.databases.fra1, password: 'hunter2-literal' } },
    verify: { url: 'not a url' },
  });
  let message = '';
  try {
    loadFailoverInput(bad);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/^invalid failoverSite input spec:/);
  expect(message).toMatch(/bad\.json:\d+:\d+: mode: /);
  expect(message).toMatch(/bad\.json:\d+:\d+: databases\.fra1\.password: must be a secret reference/);
  expect(message).toMatch(/bad\.json:\d+:\d+: verify\.url: /);
  expect(message).not.toContain('hunter2-literal');
  expect(() => loadFailoverInput(inputFile('same.json', { ...good, to: 'fra1' }))).toThrow(/to: fra1 is the site being failed over from/);
  expect(() => loadFailoverInput(inputFile('yaml.json', 'environment: [unclosed'))).toThrow(/yaml\.json:1:\d+: not valid YAML or JSON/);
});

test('--planned makes a planned switchover; otherwise the input decides (default emergency); requestedBy filled in', () => {
  const spec = loadFailoverInput(inputFile('ok.json', good));
  expect(failoverInputFor('stack-e', 'ok.json', spec, false, 'alice@ops')).toMatchObject({ mode: 'emergency', requestedBy: 'alice@ops' });
  expect(failoverInputFor('stack-e', 'ok.json', spec, true, 'alice@ops')).toMatchObject({ mode: 'planned' });
  const planned = loadFailoverInput(inputFile('planned.json', { ...good, mode: 'planned', requestedBy: 'oncall' }));
  expect(failoverInputFor('stack-e', 'planned.json', planned, false, 'alice@ops')).toMatchObject({
    mode: 'planned',
    requestedBy: 'oncall',
  });
  expect(failoverWorkflowId('stack-e', 'fra1')).toBe('failover-stack-e-fra1');
  const detached = detachedText('stack-e', planned, 'alice@ops');
  expect(detached).toContain('workflow failover-stack-e-fra1');
  expect(detached).toContain(
    `temporal workflow update execute --workflow-id failover-stack-e-fra1 --name approve --input '{"by":"alice@ops"}'`,
  );
  expect(detached).not.toContain('OPSFLOW_SECRET');
});

test('a failover view and result for the terminal: the observers, the wait, the switch, RTO and RPO', () => {
  const waiting: FailoverView = {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    phase: 'awaiting approval',
    assessment: {
      mode: 'emergency',
      site: 'fra1',
      observers: [
        { observer: 'worker probes', verdict: 'down', saw: '0 of 3 probes healthy: connection refused' },
        { observer: 'survivor replica', verdict: 'down', saw: 'IO thread: 2003' },
        { observer: 'cloudflare pool health', verdict: 'cannot tell', saw: 'could not look: 503' },
      ],
      down: 2,
      needed: 2,
      declaredDown: true,
      survivorPoolHealthy: true,
      survivorRole: 'replica',
      survivorBehindTransactions: 0,
    },
  };
  expect(formatFailoverView(waiting, 'stack-e').split('\n')).toEqual([
    '  failover: fra1 -> london, awaiting approval',
    '  worker probes sees fra1 down: 0 of 3 probes healthy: connection refused',
    '  survivor replica sees fra1 down: IO thread: 2003',
    '  cloudflare pool health sees fra1 cannot tell: could not look: 503',
    '  assessment (emergency): 2 of 3 observers see fra1 down, 2 needed: declared down',
    '  survivor london: pool healthy at Cloudflare, database replica, 0 transaction(s) behind',
    '  waiting for approval: opsflow approve stack-e [--note text]',
  ]);
  const escalated: FailoverView = {
    ...waiting,
    autoApproveAt: '2026-12-02T14:15:00.000Z',
    escalation: { at: '2026-12-02T14:05:00.000Z', waited: '5m', notice: 'notified the webhook at hooks.example.com' },
  };
  expect(formatFailoverView(escalated, 'stack-e').split('\n').slice(-2)).toEqual([
    '  waiting for approval: opsflow approve stack-e [--note text] (the policy approves at 2026-12-02T14:15:00.000Z)',
    '  escalated: no one approved within 5m; notified the webhook at hooks.example.com',
  ]);
  const done: FailoverView = {
    ...waiting,
    phase: 'completed',
    approval: { by: 'alice@ops', at: '2026-12-02T14:00:00.000Z' },
    fence: { state: 'unreachable', error: 'DatabaseUnreachable: connect ECONNREFUSED' },
    traffic: { split: { fra1: 0, london: 100 }, previous: { fra1: 50, london: 50 }, changed: true, sample: { london: 40 } },
  };
  const facts = failoverFacts(done, 'stack-e').map((f) => f.key);
  expect(facts).not.toContain('waiting');
  expect(formatFailoverView(done, 'stack-e')).toContain(
    "fra1's primary unreachable, not fenced (DatabaseUnreachable: connect ECONNREFUSED)",
  );
  const result: FailoverResult = {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    approval: { by: 'alice@ops', at: '2026-12-02T14:00:00.000Z' },
    rto: { fromStartMs: 3800, fromApprovalMs: 1130 },
    rpo: { lostTransactions: 0, unappliedTransactions: 0, secondsBehind: 0 },
    fence: { state: 'fenced', finalPosition: '0-21-14', killedConnections: 1 },
    traffic: done.traffic!,
    newPrimary: { server: 'london-db', appliedAtPromotion: '0-21-14', verifiedWrite: 'failover stack-e' },
  };
  expect(formatFailoverResult(result).split('\n')).toEqual([
    'Failed over stack-e: fra1 -> london, approved by alice@ops at 2026-12-02T14:00:00.000Z',
    '  new primary: london-db (applied 0-21-14; write verified: failover stack-e)',
    '  traffic: fra1 0% / london 100% (was fra1 50% / london 50%); 40 of 40 requests on london',
    '  RTO: 1.13 s from approval to traffic verified, 3.80 s from the start',
    '  RPO: 0 transaction(s) lost, 0 received but unapplied, 0 s behind when last replicating',
  ]);
});

test("--site names the site failed over from; the other takes over, so a stack's handed-over input (no from, no to) runs either way", async () => {
  const { from: _from, to: _to, ...handedOver } = good;
  const file = inputFile('stack.json', handedOver);
  expect(loadFailoverInput(file, 'fra1')).toMatchObject({ from: 'fra1', to: 'london' });
  expect(loadFailoverInput(file, 'london')).toMatchObject({ from: 'london', to: 'fra1' });
  // An input written for the other direction is turned by --site.
  expect(loadFailoverInput(inputFile('ok.json', good), 'london')).toMatchObject({ from: 'london', to: 'fra1' });
  expect(() => loadFailoverInput(file, 'ams3')).toThrow('--site: ams3 is not a site of loadBalancer.pools (fra1, london)');
  expect(() => loadFailoverInput(file)).toThrow(/from: .*required|from: Invalid/);
  await expect(run('failover', 'stack-e', '--input', file, '--site', 'ams3')).rejects.toThrow(/--site: ams3 is not a site/);
});
