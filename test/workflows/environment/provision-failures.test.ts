// provisionEnvironment failing at each step in turn, on the real Temporal server against the local
// cloud: the droplet create action errors, the volume attach errors, the reserved IP assignment
// errors, SSH is refused, a bootstrap command exits 1, a service never gets healthy. Every run must
// end RolledBack, naming the step, and the cloud must then hold nothing of that environment: no
// droplet, volume, attachment, firewall, VPC or reserved IP.
//
// Fault injection is account-wide (`failNextActions` counts are taken by whichever run asks first),
// so the runs are phased: the create failure alone; then SSH, bootstrap and health failures (their
// faults are per droplet or in the spec) in parallel; once those are past their reserved IP, the
// attach and assign failures start beside them. Attach and assign errors are retryable (a new
// action may succeed), so they must fail all 8 attempts of CLOUD_RETRY: about 3 minutes of backoff.
import path from 'node:path';
import { provisionWorkflowId } from '../../../src/names/workflow-ids';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud, FaultConfig } from '@opsflow/localcloud';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import { CLOUD_RETRY } from '../../../src/workflows/shared/cloud-activity-options';
import type { OperationStatus } from '../../../src/workflows/shared/status';
import { leftovers, localCloudControl, startProvisionHarness, type ProvisionHarness } from '../../helpers/provision-harness';
import { uniqueTaskQueue } from '../../helpers/temporal';

jest.setTimeout(8 * 60_000);

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let harness: ProvisionHarness;
const stackA = loadEnvironmentSpec(path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml'));

beforeAll(async () => {
  harness = await startProvisionHarness();
  ({ env, cloud } = harness);
});
afterAll(async () => {
  await harness?.stop();
});

const control = (method: string, what: string, body?: unknown) => localCloudControl(cloud, method, what, body);
const inventory = () => control('GET', 'inventory');

/** Adds to the faults in force (a PUT replaces them all; counts not yet taken are kept). */
async function addFaults(more: Partial<FaultConfig>): Promise<void> {
  const current = (await control('GET', 'faults')) as FaultConfig;
  await control('PUT', 'faults', {
    ...current,
    failNextActions: { ...current.failNextActions, ...more.failNextActions },
    refuseSsh: [...current.refuseSsh, ...(more.refuseSsh ?? [])],
  });
}

/** Stack A under another name, in a VPC range of its own. */
function stack(name: string, n: number, change: (spec: EnvironmentSpec) => void = () => {}): EnvironmentSpec {
  const spec: EnvironmentSpec = { ...structuredClone(stackA), name, vpc: { ipRange: `10.${30 + n}.0.0/16` } };
  change(spec);
  return spec;
}

interface Outcome {
  environment: string;
  failure: ApplicationFailure;
  ms: number;
  leftovers: string[];
}

async function outcome(handle: WorkflowHandle, environment: string, started: number): Promise<Outcome> {
  const err = await handle.result().then(
    () => new Error(`${environment} provisioned although it should have failed`),
    (e: unknown) => e,
  );
  const ms = Date.now() - started;
  if (!(err instanceof WorkflowFailedError)) throw err;
  return { environment, failure: err.cause as ApplicationFailure, ms, leftovers: leftovers(await inventory(), environment) };
}

async function passedStep(handle: WorkflowHandle, step: string): Promise<void> {
  for (;;) {
    const status = await handle.query<OperationStatus>('status');
    if (status.completedSteps.includes(step) || ['done', 'rolling back'].includes(status.step)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a failure at each step rolls back and leaves nothing of the environment behind', async () => {
  const taskQueue = uniqueTaskQueue('provision-failures');
  const outcomes = await harness.workers.withWorkflowWorker(taskQueue, async () => {
    const start = async (spec: EnvironmentSpec) => {
      const started = Date.now();
      const handle = await env.client.workflow.start('provisionEnvironment', {
        taskQueue,
        workflowId: provisionWorkflowId(spec.name),
        args: [{ spec }],
      });
      return { handle, done: outcome(handle, spec.name, started) };
    };

    // 1. The droplet's create action errors: the droplet stays `new` for ever, so waiting on it must fail.
    await addFaults({ failNextActions: { create: 1 } });
    const create = await (await start(stack('fail-create', 1))).done;

    // 2. In parallel, faults that name their own environment.
    await addFaults({ refuseSsh: ['fail-ssh-app'] });
    const hostRuns = await Promise.all([
      start(stack('fail-ssh', 2, (s) => (s.ssh.waitSeconds = 8))),
      start(stack('fail-bootstrap', 3, (s) => (s.bootstrap.commands = [['false']]))),
      start(
        stack('fail-health', 4, (s) => {
          s.application!.images.auth = 'ghcr.io/acme/auth:2.0.1-unhealthy';
          s.healthChecks = s.healthChecks.map((c) => ({ ...c, attempts: 3, intervalSeconds: 1 }));
        }),
      ),
    ]);
    // Their attaches and assignments are done before the next faults are armed.
    await Promise.all(hostRuns.map((r) => passedStep(r.handle, 'assign reserved IP')));

    // 3. Attach and assign errors on every attempt (the IP run has no volume, so it takes no attach
    // fault). The attach run assigns its reserved IP beside its attach (issue 17), so that
    // assignment fails all its attempts too: twice as many assign faults, a full run for each.
    const attempts = CLOUD_RETRY.maximumAttempts!;
    await addFaults({ failNextActions: { attach_volume: attempts, assign_ip: 2 * attempts } });
    const actionRuns = await Promise.all([start(stack('fail-attach', 5)), start(stack('fail-ip', 6, (s) => (s.volumes = [])))]);

    return [create, ...(await Promise.all([...hostRuns, ...actionRuns].map((r) => r.done)))];
  });

  const expected: Record<string, [string, RegExp]> = {
    'fail-create': ['waitForServers', /droplet fail-create-app \(\d+\) was not created: its create action errored/],
    'fail-ssh': ['waitForSsh', /SSH on 127\.[\d.]+:22 did not answer within 8000 ms/],
    'fail-bootstrap': ['runRemoteCommand', /false exited with code 1/],
    'fail-health': ['waitHealthy', /http:\/\/127\.[\d.]+:8081\/health was not healthy after 3 consecutive failed probes .*status 503/],
    'fail-attach': ['attachVolume', /DigitalOcean action \d+ \(attach_volume\) errored/],
    'fail-ip': ['ensureFloatingIp', /DigitalOcean action \d+ \(assign_ip\) errored/],
  };
  const summary = outcomes.map((o) => `${o.environment} ${(o.ms / 1000).toFixed(1)} s: ${o.failure.message}`);
  console.log(`provision failures:\n${summary.join('\n')}`);
  for (const o of outcomes) {
    const [activity, message] = expected[o.environment]!;
    expect({ environment: o.environment, type: o.failure.type, leftovers: o.leftovers }).toEqual({
      environment: o.environment,
      type: 'RolledBack',
      leftovers: [],
    });
    expect(o.failure.message).toContain(`${activity}: `);
    expect(o.failure.message).toMatch(message);
    // Every compensation ran and none failed.
    expect((o.failure.details?.[0] as { failed: unknown[] }).failed).toEqual([]);
  }

  // Nothing at all is left: every run failed, and the faults were all taken.
  const inv = await inventory();
  expect({
    droplets: inv.droplets,
    volumes: inv.volumes,
    firewalls: inv.firewalls,
    vpcs: inv.vpcs,
    reserved_ips: inv.reserved_ips,
  }).toEqual({ droplets: [], volumes: [], firewalls: [], vpcs: [], reserved_ips: [] });
  expect((await control('GET', 'faults')).failNextActions).toEqual({ create: 0, attach_volume: 0, assign_ip: 0 });
});
