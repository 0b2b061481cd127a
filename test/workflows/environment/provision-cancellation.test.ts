// Cancelling provisionEnvironment at random moments (seeded, between the start and the time a whole
// stack A takes here): each run must end cancelled with every compensation done, the cloud must hold
// nothing of that environment (droplet, volume, attachment, firewall, VPC, reserved IP), nothing
// may keep answering on the droplet's address, and a neighbour environment stays whole.
import net from 'node:net';
import { destroyWorkflowId, provisionWorkflowId, uniqueSuffix } from '../../../src/names/workflow-ids';
import path from 'node:path';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud, FaultConfig } from '@opsflow/localcloud';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { leftovers, localCloudControl, startProvisionHarness, type ProvisionHarness } from '../../helpers/provision-harness';
import { uniqueTaskQueue } from '../../helpers/temporal';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
// Generous: under a loaded machine a whole stack A (and so each random delay) takes longer.
jest.setTimeout(10 * 60_000);

const RUNS = 6;
const SEED = 4242;

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let harness: ProvisionHarness;
const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));

beforeAll(async () => {
  harness = await startProvisionHarness();
  ({ env, cloud } = harness);
});
/** What each test did so far, printed at the end even when a test timed out. */
const progress: string[] = [];
afterAll(async () => {
  if (progress.length > 0) console.log(progress.join('\n'));
  await harness?.stop();
});

async function api(pathAndQuery: string): Promise<Body> {
  return (await fetch(`${cloud.apiUrl}${pathAndQuery}`, { headers: { Authorization: `Bearer ${cloud.token}` } })).json() as Promise<Body>;
}

const inventory = () => localCloudControl(cloud, 'GET', 'inventory');

function stack(name: string, n: number): EnvironmentSpec {
  const spec: EnvironmentSpec = { ...structuredClone(stackA), name, vpc: { ipRange: `10.${60 + n}.0.0/16` } };
  // A host that never answers fails its run within a minute instead of outlasting the test.
  spec.ssh.waitSeconds = 60;
  return spec;
}

/** True once nothing accepts connections on the port (a destroyed droplet's services stop shortly after). */
async function closed(host: string, port: number, withinMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port, timeout: 1000 });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => (socket.destroy(), resolve(false)));
    });
    if (!open) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test(`${RUNS} provisionings cancelled at seeded random moments leave nothing behind`, async () => {
  let seed = SEED;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const taskQueue = uniqueTaskQueue('provision-cancel');
  const report = progress;
  report.push(`provision cancellations (seed ${SEED}):`);

  await harness.workers.withWorkflowWorker(taskQueue, async () => {
    // The neighbour: a whole stack A, which also measures how long one takes here.
    const started = Date.now();
    const neighbour = (await env.client.workflow.execute('provisionEnvironment', {
      taskQueue,
      workflowId: 'provision-cancel-neighbour',
      args: [{ spec: stack('neighbour', 0) }],
    })) as ProvisionResult;
    const fullMs = Date.now() - started;
    report.push(`neighbour provisioned in ${(fullMs / 1000).toFixed(1)} s`);

    for (let i = 1; i <= RUNS; i++) {
      const name = `cancel-${i}`;
      // Up to 90% of the time a whole run took: a later run may be quicker, and one that finished
      // before its cancel tests nothing.
      const delayMs = Math.round(random() * 0.9 * fullMs);
      const handle = await env.client.workflow.start('provisionEnvironment', {
        taskQueue,
        workflowId: provisionWorkflowId(name),
        args: [{ spec: stack(name, i) }],
      });
      await new Promise((r) => setTimeout(r, delayMs));
      const { droplets } = await api(`/v2/droplets?tag_name=opsflow-env:${name}`);
      const addresses: string[] = droplets.flatMap((d: Body) =>
        d.networks.v4.filter((n: Body) => n.type === 'public').map((n: Body) => n.ip_address),
      );
      const step = (await handle.query<OperationStatus>('status')).step;
      report.push(`${name}: cancelling after ${(delayMs / 1000).toFixed(1)} s during "${step}"`);
      const cancelledAt = Date.now();
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      report.push(`${name}: ended ${((Date.now() - cancelledAt) / 1000).toFixed(1)} s after the cancel`);
      if (err === undefined) {
        // Finished before the cancel arrived: nothing to check here (it is not a leftover).
        report.push(`${name}: had already finished`);
        await env.client.workflow.execute('destroyEnvironment', {
          taskQueue,
          workflowId: destroyWorkflowId(name, uniqueSuffix()),
          args: [{ environment: name }],
        });
        continue;
      }
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      // Every compensation succeeded: the run ends with the cancellation itself.
      expect({ name, step, cause: cause instanceof CancelledFailure ? 'cancelled' : String(cause?.message) }).toEqual({
        name,
        step,
        cause: 'cancelled',
      });
      expect({ name, step, leftovers: leftovers(await inventory(), name, { unassignedIps: true }) }).toEqual({ name, step, leftovers: [] });
      for (const address of addresses) {
        for (const port of [22, 3000, 5432, 8081])
          expect({ name, address, port, closed: await closed(address, port) }).toEqual({ name, address, port, closed: true });
      }
    }

    // The neighbour is untouched: its droplet, its attached volume, its reserved IP, its services.
    const inv = await inventory();
    const app = neighbour.droplets[0]!;
    expect(inv.droplets.map((d: Body) => d.name)).toEqual(['neighbour-app']);
    expect(inv.volumes.map((v: Body) => [v.name, v.droplet_ids])).toEqual([['neighbour-pgdata', [app.id]]]);
    expect(inv.reserved_ips).toEqual([{ ip: neighbour.reservedIp, droplet_id: app.id }]);
    expect([inv.firewalls.map((f: Body) => f.name), inv.vpcs.map((v: Body) => v.name)]).toEqual([['neighbour-fw'], ['neighbour-vpc']]);
    for (const url of neighbour.urls) expect((await fetch(url)).status).toBe(200);
  });
});

// The narrowest moments, made wide: each create request is held 2 s by a latency fault and the run
// is cancelled while it is held, so the cloud carries it out after the cancellation arrived. The
// workflow must still learn of what was made and undo it.
test('cancelled while each create request is in flight, the late resource is still undone', async () => {
  const HELD_MS = 2000;
  // Since patch provision-at-once the key, VPC, firewall and volumes are created together while the
  // status shows the batch's last step, 'create firewall'; the attachments and the reserved IP
  // together under 'assign reserved IP'. `shownAs` is the step the status shows while the request is held.
  const AT_ONCE: Record<string, string> = {
    'create VPC': 'create firewall',
    'create volumes': 'create firewall',
    'attach volume': 'assign reserved IP',
  };
  const cases: { step: string; rule: FaultConfig['rules'][number]; when?: (inv: Body, name: string) => boolean }[] = [
    {
      step: 'create VPC',
      rule: { method: 'POST', path: '/v2/vpcs', latencyMs: HELD_MS, errorRate: 0, statuses: [500], loseResponse: false },
    },
    {
      step: 'create firewall',
      rule: { method: 'POST', path: '/v2/firewalls', latencyMs: HELD_MS, errorRate: 0, statuses: [500], loseResponse: false },
    },
    {
      step: 'create droplets',
      rule: { method: 'POST', path: '/v2/droplets', latencyMs: HELD_MS, errorRate: 0, statuses: [500], loseResponse: false },
    },
    {
      step: 'create volumes',
      rule: { method: 'POST', path: '/v2/volumes', latencyMs: HELD_MS, errorRate: 0, statuses: [500], loseResponse: false },
    },
    // The attach request itself (the volume exists by then).
    {
      step: 'attach volume',
      rule: { method: 'POST', path: '/v2/volumes/', latencyMs: HELD_MS, errorRate: 0, statuses: [500], loseResponse: false },
      when: (inv, name) => inv.volumes.some((v: Body) => v.name === `${name}-pgdata`),
    },
    {
      step: 'assign reserved IP',
      rule: { method: 'POST', path: '/v2/reserved_ips', latencyMs: HELD_MS, errorRate: 0, statuses: [500], loseResponse: false },
    },
  ];
  const taskQueue = uniqueTaskQueue('provision-cancel-inflight');
  const report = progress;
  report.push('cancelled with a create request in flight:');
  const outcomes: { name: string; step: string; cause: string; leftovers: string[] }[] = [];
  await harness.workers.withWorkflowWorker(taskQueue, async () => {
    for (const [i, c] of cases.entries()) {
      const name = `inflight-${i + 1}`;
      await fetch(`${cloud.apiUrl}/_localcloud/faults`, {
        method: 'PUT',
        headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
        body: JSON.stringify({ rules: [c.rule] }),
      });
      const handle = await env.client.workflow.start('provisionEnvironment', {
        taskQueue,
        workflowId: provisionWorkflowId(name),
        args: [{ spec: stack(name, 10 + i) }],
      });
      for (;;) {
        const status = await handle.query<OperationStatus>('status');
        if (status.step === (AT_ONCE[c.step] ?? c.step) && (!c.when || c.when(await inventory(), name))) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      // The request is being held now.
      await new Promise((r) => setTimeout(r, HELD_MS / 4));
      const cancelledAt = Date.now();
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      const endedMs = Date.now() - cancelledAt;
      // Whatever the cloud still does with the held request is done by now.
      await new Promise((r) => setTimeout(r, Math.max(0, HELD_MS + 500 - endedMs)));
      await fetch(`${cloud.apiUrl}/_localcloud/faults`, {
        method: 'PUT',
        headers: { ...cloud.controlHeaders, 'Content-Type': 'application/json' },
        body: '{}',
      });
      const cause = (err as WorkflowFailedError | undefined)?.cause;
      report.push(
        `${name} ${c.rule.method} ${c.rule.path} held during "${c.step}": ended ${(endedMs / 1000).toFixed(1)} s after the cancel`,
      );
      outcomes.push({
        name,
        step: c.step,
        cause: cause instanceof CancelledFailure ? 'cancelled' : String(cause?.message ?? err),
        leftovers: leftovers(await inventory(), name, { unassignedIps: true }),
      });
    }
  });
  expect(outcomes).toEqual(outcomes.map(({ name, step }) => ({ name, step, cause: 'cancelled', leftovers: [] })));
});

// A cancel during a long command on the host: the rollback must not delete the droplet under a
// command still running. The history shows the order: the command's activity is cancelled (it
// stopped the command) before the first undo is scheduled.
test('cancelled during a long bootstrap command, the command stops on the host before the rollback begins', async () => {
  const taskQueue = uniqueTaskQueue('provision-cancel-command');
  const name = 'longcmd';
  const spec = stack(name, 30);
  spec.bootstrap.commands = [['sleep', '300']];
  await harness.workers.withWorkflowWorker(taskQueue, async () => {
    const handle = await env.client.workflow.start('provisionEnvironment', {
      taskQueue,
      workflowId: provisionWorkflowId(name),
      args: [{ spec }],
    });
    const isSleep = (e: {
      activityTaskScheduledEventAttributes?: {
        activityType?: { name?: string | null } | null;
        input?: { payloads?: { data?: Uint8Array | null }[] | null } | null;
      } | null;
    }) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'runRemoteCommand' &&
      Buffer.from(e.activityTaskScheduledEventAttributes.input?.payloads?.[0]?.data ?? [])
        .toString()
        .includes('"sleep","300"');
    // Wait until the sleep is scheduled and a worker runs it (history records an activity's start
    // only when it ends; the pending activity shows it meanwhile).
    for (let i = 0; ; i++) {
      const scheduled = ((await handle.fetchHistory()).events ?? []).some(isSleep);
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      if (
        scheduled &&
        pending.some(
          (a) =>
            a.activityType?.name === 'runRemoteCommand' &&
            a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        )
      )
        break;
      if (i > 600) throw new Error('the bootstrap command never started');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1000));
    await handle.cancel();
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);

    const events = (await handle.fetchHistory()).events ?? [];
    const sleepId = events.find(isSleep)!.eventId!.toString();
    const cancelledAt = events.findIndex((e) => e.activityTaskCanceledEventAttributes?.scheduledEventId?.toString() === sleepId);
    const firstUndoAt = events.findIndex(
      (e, i) =>
        i > events.findIndex(isSleep) &&
        e.activityTaskScheduledEventAttributes !== undefined &&
        e.activityTaskScheduledEventAttributes !== null &&
        !isSleep(e),
    );
    expect(cancelledAt).toBeGreaterThan(-1);
    expect(firstUndoAt).toBeGreaterThan(cancelledAt);
    expect(leftovers(await inventory(), name, { unassignedIps: true })).toEqual([]);
  });
});
