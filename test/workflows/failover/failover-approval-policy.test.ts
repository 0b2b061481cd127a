// failoverSite's approval policy on the real parts (Temporal dev server, a MariaDB pair, the local
// cloud's Cloudflare API and edge) with a real HTTP receiver on loopback for the webhook. Nobody
// answers `approve`: after escalateAfter one notice reaches the receiver (the URL, a secret, never
// in history) and the run keeps waiting (no timer left to end it: cancelled, nothing changed).
// With autoApproveAfter the run approves itself as policy:autoApproveAfter once the notice went out
// (the receiver holds its answer until the test has seen the run still waiting), and completes;
// a human's approve after that is refused as a second approval. Held by gates and counted events.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readTrafficSplit } from '../../../src/integrations/cloudflare/load-balancing';
import type { FailoverSiteInput } from '../../../src/specs/failover';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import { decodedText } from '../../helpers/history-text';
import { appWrite, orderCount } from '../../helpers/mariadb-servers';
import { uniqueTaskQueue, withWorker } from '../../helpers/temporal';
import { REPLICATION, rtoRpoAttributes, startFailoverStage, until, type FailoverStage } from '../../helpers/failover-stage';

// The secret part of a Slack-style hook URL: its path.
const TOKEN = 'T0001/B0002/failover-hook-token';
const WEBHOOK_SECRET = 'OPSFLOW_SECRET_FAILOVER_WEBHOOK';
const taskQueue = uniqueTaskQueue('failover-approval-policy');
let stage: FailoverStage;
let env: TestWorkflowEnvironment;
let receiver: http.Server;
let receiverHost: string;
const received: { path: string; text: string }[] = [];
/** While set, the receiver holds its answer until it settles: a notice in flight, by construction. */
let hold: Promise<void> | undefined;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', text: (JSON.parse(body) as { text: string }).text });
      void (hold ?? Promise.resolve()).then(() => res.writeHead(200).end());
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverHost = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stage = await startFailoverStage({ serverIds: [71, 72], orders: 5 });
  stage.secrets[WEBHOOK_SECRET] = `http://${receiverHost}/services/${TOKEN}`;
  env = stage.env;
}, 600_000);

afterAll(async () => {
  await stage?.stop();
  receiver?.close();
});

function plannedInput(approval: FailoverSiteInput['approval']): FailoverSiteInput {
  const { cloud, fra, lon } = stage;
  return {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    mode: 'planned',
    cloudflare: stage.cloudflare(),
    loadBalancer: stage.loadBalancerRef(),
    databases: { fra1: fra.admin, london: lon.admin },
    replication: REPLICATION,
    verify: { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 20 },
    approval,
  };
}

test('unanswered: one notice after escalateAfter, then the run keeps waiting for a human (cancelled: nothing changed)', async () => {
  const before = received.length;
  const { status, history, cancelled } = await withWorker(env, taskQueue, stage.activities(), async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-policy-keep-waiting',
      args: [plannedInput({ escalateAfter: '1s', notify: { webhook: `env:${WEBHOOK_SECRET}` } })],
    });
    const query = () => handle.query<FailoverStatus>('status');
    await until('the notice is recorded', async () => (await query()).failover?.escalation?.notice !== undefined);
    const status = await query();
    const history = decodedText(await handle.fetchHistory());
    await handle.cancel();
    const cancelled = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error }) => e.cause?.name,
    );
    return { status, history, cancelled };
  });

  expect(received.slice(before)).toHaveLength(1);
  const notice = received[before]!;
  expect(notice.path).toBe(`/services/${TOKEN}`);
  expect(notice.text).toContain('opsflow failover stack-e: fra1 -> london has waited 1s for approval and no one answered.');
  expect(notice.text).toContain('It keeps waiting for a human.');
  expect(notice.text).toContain('`opsflow approve stack-e --note <why>`');
  expect(status.failover).toMatchObject({
    phase: 'awaiting approval',
    escalation: { waited: '1s', notice: `notified the webhook at ${receiverHost}` },
  });
  expect(status.failover.approval).toBeUndefined();
  expect(status.failover.autoApproveAt).toBeUndefined();
  // Without autoApproveAfter no timer is left running: only the escalation's, fired once.
  expect(history.match(/"timerStartedEventAttributes"/g) ?? []).toHaveLength(1);
  expect(history).not.toContain(TOKEN);
  expect(cancelled).toBe('CancelledFailure');
  // Nothing changed: fra1 still takes writes that london receives, the split as it was.
  await appWrite(stage.fra, 'after the cancelled failover');
  await until('london receives it', async () => (await orderCount(stage.lon).catch(() => 0)) === 6);
  expect(await readTrafficSplit(stage.cf, stage.lb)).toEqual({ fra1: 50, london: 50 });
}, 600_000);

test('autoApproveAfter: the notice goes out, the run approves itself as policy:autoApproveAfter and completes; a late approve is refused', async () => {
  const before = received.length;
  let release = () => {};
  hold = new Promise<void>((resolve) => (release = resolve));
  // The fence waits until the late approve was tried, so it meets the run still going.
  let openFence = () => {};
  const fenceGate = new Promise<void>((resolve) => (openFence = resolve));
  const base = stage.activities();
  const activities = {
    ...base,
    fencePrimary: async (input: Parameters<typeof base.fencePrimary>[0]) => {
      await fenceGate;
      return base.fencePrimary(input);
    },
  };
  const out = await withWorker(env, taskQueue, activities, async () => {
    const handle = await env.client.workflow.start('failoverSite', {
      taskQueue,
      workflowId: 'failover-policy-auto-approve',
      args: [plannedInput({ escalateAfter: '1s', autoApproveAfter: '2s', notify: { webhook: `env:${WEBHOOK_SECRET}` } })],
    });
    const query = () => handle.query<FailoverStatus>('status');
    await until('the notice reaches the receiver', () => Promise.resolve(received.length > before));
    // The receiver has not answered: the run is escalated and still waiting, approved by no one.
    const inFlight = await query();
    release();
    await until('the policy approves', async () => (await query()).failover?.approval !== undefined);
    const late = await handle.executeUpdate('approve', { args: [{ by: 'alice@ops' }] }).then(
      () => 'accepted',
      (e: Error & { cause?: Error }) => e.cause?.message ?? e.message,
    );
    openFence();
    const result = (await handle.result()) as FailoverResult;
    return { inFlight, late, result, status: await query(), history: decodedText(await handle.fetchHistory()) };
  });
  hold = undefined;

  expect(out.inFlight.failover).toMatchObject({ phase: 'awaiting approval', escalation: { waited: '1s' } });
  expect(out.inFlight.failover.escalation!.notice).toBeUndefined();
  expect(out.inFlight.failover.approval).toBeUndefined();
  expect(received.slice(before)).toHaveLength(1);
  expect(received[before]!.text).toMatch(/It approves itself at \S+ \(autoApproveAfter 2s\) unless someone approves first\./);
  expect(out.late).toMatch(/^already approved by policy:autoApproveAfter at /);
  expect(out.result).toMatchObject({
    from: 'fra1',
    to: 'london',
    approval: { by: 'policy:autoApproveAfter', note: 'no one approved within 2s' },
    traffic: { split: { fra1: 0, london: 100 }, sample: { london: 20 } },
    newPrimary: { server: 'london-db' },
    rpo: { lostTransactions: 0 },
  });
  expect(out.status.failover).toMatchObject({
    phase: 'completed',
    approval: { by: 'policy:autoApproveAfter' },
    escalation: { notice: `notified the webhook at ${receiverHost}` },
  });
  expect(out.status.failover.autoApproveAt).toEqual(expect.any(String));
  expect(out.history).not.toContain(TOKEN);
  // RTO and RPO as search attributes, read back and found by a list query.
  const attrs = await rtoRpoAttributes(env.client, 'failover-policy-auto-approve', 'OpsRtoSeconds < 60 AND OpsRpoTransactions = 0');
  expect(attrs).toEqual({
    rtoSeconds: Math.ceil(out.result.rto.fromApprovalMs / 1000),
    rpoTransactions: 0,
    listed: ['failover-policy-auto-approve'],
  });
  expect(await stage.through(30)).toEqual({ bySite: { london: 30 }, failed: {}, requests: 30 });
  console.log(
    `auto-approved failover: approved ${out.result.approval.at}, RTO ${out.result.rto.fromApprovalMs} ms from approval, ${out.result.rto.fromStartMs} ms from start`,
  );
}, 600_000);
