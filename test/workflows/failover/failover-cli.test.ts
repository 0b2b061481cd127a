// `opsflow failover` and `opsflow approve` driven in-process (buildCli, output captured) against
// the real Temporal dev server, a real MariaDB pair and the local cloud's Cloudflare API and edge,
// as failover-site.test.ts sets them up: the input file as written (mode emergency) ends
// SiteNotDown on two healthy sites; with --planned the run is followed live, waits for `opsflow
// approve`, a second approve is refused in the validator's words, and it completes with london
// the primary and all traffic on london. Nothing printed holds a secret.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { whoAmI } from '../../../src/client/rollout';
import type { EnsuredLoadBalancer } from '../../../src/integrations/cloudflare/load-balancing';
import { failoverWorkflowId } from '../../../src/names/workflow-ids';
import type { FailoverSiteInput } from '../../../src/specs/failover';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import type { FailoverResult, FailoverStatus } from '../../../src/workflows/failover/failover-api';
import { failoverActivities, REPLICATION, startFailoverStage, until, type FailoverStage } from '../../helpers/failover-stage';
import { appWrite, PASSWORDS, type MariadbServer } from '../../helpers/mariadb-servers';
import type { SiteOrigin } from '../../helpers/site-origins';
import { captureCliOutput, opsflow, opsflowInto, pointCliAt } from '../../helpers/in-process-cli';
import { tempDir } from '../../helpers/temp';
import { withWorker } from '../../helpers/temporal';

let stage: FailoverStage;
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let fra: MariadbServer;
let lon: MariadbServer;
let origins: SiteOrigin[] = [];
let lb: EnsuredLoadBalancer;
let secrets: Record<string, string>;
const ID = failoverWorkflowId('stack-e', 'fra1');

afterAll(async () => {
  await stage?.stop();
});

const through = (requests: number) => stage.through(requests);

captureCliOutput();

function inputFile(): string {
  const front = origins.find((o) => o.site === 'fra1')!;
  const input: FailoverSiteInput = {
    environment: 'stack-e',
    from: 'fra1',
    to: 'london',
    mode: 'emergency',
    assess: { probe: { url: `http://${front.address}:${front.port}/health` } },
    cloudflare: { apiUrl: `${cloud.apiUrl}/client/v4`, apiToken: 'env:OPSFLOW_SECRET_CLOUDFLARE_TOKEN' },
    loadBalancer: { zoneId: lb.zoneId, accountId: lb.accountId, loadBalancerId: lb.loadBalancerId, hostname: lb.hostname, pools: lb.pools },
    databases: { fra1: fra.admin, london: lon.admin },
    replication: REPLICATION,
    verify: { url: cloud.cloudflare.edge.url, host: 'www.stack-e.com', requests: 40 },
  };
  const file = path.join(tempDir('failover-cli'), 'failover.json');
  writeFileSync(file, JSON.stringify(input, null, 2));
  return file;
}

beforeAll(async () => {
  stage = await startFailoverStage({ serverIds: [21, 22], orders: 10 });
  ({ env, cloud, fra, lon, lb, origins, secrets } = stage);
  pointCliAt(env);
}, 600_000);

test('opsflow failover / approve from the terminal: emergency refused on healthy sites, planned approved once, london primary', async () => {
  const file = inputFile();
  const me = whoAmI();
  // The fence waits until the test has sent its second approve, so that one meets the run still going.
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const base = failoverActivities(secrets);
  const activities = {
    ...base,
    fencePrimary: async (input: Parameters<typeof base.fencePrimary>[0]) => {
      await gate;
      return base.fencePrimary(input);
    },
  };
  const handle = env.client.workflow.getHandle(ID);
  const phase = async () => (await handle.query<FailoverStatus>('status').catch(() => undefined))?.failover?.phase;

  const outputs = await withWorker(env, TASK_QUEUE, activities, async () => {
    const nothing = await opsflow('approve', 'stack-e');

    // The input as written is an emergency: both sites answer, so it ends SiteNotDown, nothing changed.
    const detached = await opsflow('failover', 'stack-e', '--input', file, '--detach');
    const notDown = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    const notDownStatus = await opsflow('failover', 'status', 'stack-e');

    // --planned, followed live in the background as a terminal would.
    const live: string[] = [];
    const following = opsflowInto(live, 'failover', 'stack-e', '--input', file, '--planned');
    await until('the planned run waits for approval', async () => (await phase()) === 'awaiting approval');
    await until('the follower says so', async () => live.join('').includes('· waiting for approval: opsflow approve stack-e'));
    const waiting = await opsflow('failover', 'status', 'stack-e');
    const approved = await opsflow('approve', 'stack-e', '--note', 'planned switchover');
    const again = await opsflow('approve', 'stack-e');
    openGate();
    const followed = await following;
    const result = (await handle.result()) as FailoverResult;
    const after = await opsflow('approve', 'stack-e');
    const finalStatus = await opsflow('failover', 'status', 'stack-e');
    return { nothing, detached, notDown, notDownStatus, waiting, approved, again, followed, result, after, finalStatus };
  });
  const { nothing, detached, notDown, notDownStatus, waiting, approved, again, followed, result, after, finalStatus } = outputs;

  expect(nothing.error).toMatch(/^nothing to approve: no failover of stack-e is running/);
  expect(detached.error).toBeUndefined();
  expect(detached.out).toContain(`Failing over stack-e (emergency): fra1 -> london: workflow ${ID}`);
  expect(detached.out).toContain(`temporal workflow update execute --workflow-id ${ID} --name approve --input '{"by":"${me}"}'`);
  expect(notDown?.type).toBe('SiteNotDown');
  expect(notDownStatus.out).toContain(`${ID}  failoverSite  FAILED`);
  expect(notDownStatus.out).toMatch(/assessment \(emergency\): 0 of 3 observers see fra1 down, 2 needed: not declared down/);
  expect(notDownStatus.out).toContain('worker probes sees fra1 up');

  expect(waiting.out).toContain('step: wait for approval');
  expect(waiting.out).toContain('waiting for approval: opsflow approve stack-e');
  expect(waiting.out).toContain('survivor london: pool healthy at Cloudflare, database replica');
  expect(approved.error).toBeUndefined();
  expect(approved.out).toMatch(new RegExp(`^approved by ${me.replace(/[.+]/g, '\\$&')} at \\S+ \\(planned switchover\\): ${ID} goes on`));
  expect(again.error).toMatch(new RegExp(`^approve refused by ${ID}: already approved by ${me.replace(/[.+]/g, '\\$&')} at `));
  expect(after.error).toBe(
    `nothing to approve: no failover of stack-e is running (the last, ${ID}, succeeded); start one with \`opsflow failover stack-e --input <file>\` (no staged release of stack-e is running either)`,
  );

  // Followed live: the steps, the observers, the wait, the switch, then the result.
  expect(followed.error).toBeUndefined();
  const live = followed.out;
  expect(live).toContain(`Failing over stack-e (planned): fra1 -> london: workflow ${ID}`);
  expect(live).toMatch(
    /✔ assess the failed site[\s\S]*· survivor replica sees fra1 up[\s\S]*· waiting for approval: opsflow approve stack-e/,
  );
  expect(live).toContain(`· approved by ${me} at`);
  expect(live).toMatch(/· traffic fra1 0% \/ london 100% \(was fra1 50% \/ london 50%\)/);
  expect(live).toContain('Failed over stack-e: fra1 -> london');
  expect(live).toContain('  new primary: london-db');
  expect(live).toContain('  traffic: fra1 0% / london 100% (was fra1 50% / london 50%); 40 of 40 requests on london');
  expect(live).toMatch(/ {2}RTO: \d+\.\d\d s from approval to traffic verified/);
  expect(live).toContain('  RPO: 0 transaction(s) lost, 0 received but unapplied');
  expect(finalStatus.out).toContain('failover: fra1 -> london, completed');

  expect(result).toMatchObject({
    from: 'fra1',
    to: 'london',
    approval: { by: me, note: 'planned switchover' },
    newPrimary: { server: 'london-db' },
  });
  expect(await through(50)).toEqual({ bySite: { london: 50 }, failed: {}, requests: 50 });
  await appWrite(lon, 'after the CLI failover');
  await expect(appWrite(fra, 'on the old primary')).rejects.toThrow(/read-only/);

  // No secret reaches the terminal: not the Cloudflare token, not a database password.
  const everything = Object.values(outputs)
    .map((o) => JSON.stringify(o))
    .join('\n');
  for (const secret of [cloud.token, ...Object.values(PASSWORDS)]) expect(everything).not.toContain(secret);
  console.log(
    `opsflow failover: RTO ${result.rto.fromApprovalMs} ms from approval (the fence held until the second approve), ${result.rto.fromStartMs} ms from start`,
  );
}, 600_000);
