// releaseStack on a real Temporal dev server and the local cloud with SSH hosts: stack E's staging
// (examples/stack-e-staging.yaml) and both production sites' app servers (stack-e-fra1.yaml on the
// DigitalOcean API, stack-e-lon.yaml on the Linode API), provisioned first; each release's inputs
// built from the environments' inventories as `opsflow release examples/release-stack-e.yaml` builds
// them. A release whose staging fails its health gate ends there, production untouched. A good one
// waits at the approval gate with production on the old version (held there: nobody approved), an
// empty approval is refused, a human's approval releases both sites. A release that one site's
// health gate refuses is rolled back on that site alone; the other keeps the new version.
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import path from 'node:path';
import { approveFailover } from '../../../src/client/failover';
import { loadReleaseFile, releaseStackInput, type ReleaseFile } from '../../../src/client/release-stack';
import { runMetadata } from '../../../src/client/run-metadata';
import { loadEnvironmentSpec } from '../../../src/specs/load';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { ReleaseStackInput, ReleaseStackResult, ReleaseStackStatus } from '../../../src/workflows/stack/release-api';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, workflowWorkerActivities, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { startTemporal, uniqueTaskQueue, withWorker } from '../../helpers/temporal';

jest.setTimeout(900_000);

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');
const ENVIRONMENTS = ['stack-e-staging', 'stack-e-fra1', 'stack-e-lon'];

let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: OpsflowWorkers;
const provisioned: Record<string, ProvisionResult> = {};
const taskQueue = uniqueTaskQueue('release-stack');

const activities = () => workflowWorkerActivities(workers, {});

/** The frontend's version on every app server of an environment (GET :3000/version). */
async function versions(environment: string): Promise<string[]> {
  return Promise.all(
    provisioned[environment]!.hosts.map(async (h) => (await (await fetch(`http://${h.address}:3000/version`)).text()).trim()),
  );
}

/** examples/release-stack-e.yaml with another frontend version, its inputs from the inventories. */
async function releaseInput(frontend: string, change: (input: ReleaseStackInput) => void = () => undefined): Promise<ReleaseStackInput> {
  const file: ReleaseFile = { ...loadReleaseFile(path.join(EXAMPLES, 'release-stack-e.yaml')), set: { frontend } };
  const input = await releaseStackInput(env.client, file);
  change(input);
  return input;
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause as ApplicationFailure;
}

beforeAll(async () => {
  env = await startTemporal();
  ({ cloud } = await startLocalCloud({ sshHosts: {}, timing: { dropletCreateMs: 1500, actionMs: 150 } }));
  workers = await startOpsflowWorkers(env, cloud, {});
  await withWorker(env, taskQueue, activities(), () =>
    Promise.all(
      ENVIRONMENTS.map(async (name) => {
        const spec = loadEnvironmentSpec(path.join(EXAMPLES, `${name}.yaml`));
        spec.healthChecks = spec.healthChecks.map((c) => ({ ...c, intervalSeconds: 1, attempts: 20 }));
        provisioned[name] = await env.client.workflow.execute('provisionEnvironment', {
          taskQueue,
          workflowId: `provision-${name}`,
          args: [{ spec }],
        });
      }),
    ),
  );
}, 900_000);

afterAll(async () => {
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
});

test('a release that fails in staging is rolled back there, and production is never touched', async () => {
  await withWorker(env, taskQueue, activities(), async () => {
    const handle = await env.client.workflow.start('releaseStack', {
      taskQueue,
      workflowId: 'release-stack-e-unhealthy',
      args: [await releaseInput('1.7.0-unhealthy')],
    });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('StagingFailed');
    expect(failure.message).toMatch(/^staging rolled back, production untouched: stack-e-staging: /);
    const status = await handle.query<ReleaseStackStatus>('status');
    expect(status.release.phase).toBe('staging failed');
    expect(status.release.approval).toBeUndefined();
  });
  expect(await versions('stack-e-staging')).toEqual(['1.4.2']);
  expect(await versions('stack-e-fra1')).toEqual(['1.4.2', '1.4.2', '1.4.2']);
  expect(await versions('stack-e-lon')).toEqual(['1.4.2', '1.4.2', '1.4.2']);
});

test('a good release waits for approval after staging, production on the old version meanwhile; approved, both sites run it', async () => {
  await withWorker(env, taskQueue, activities(), async () => {
    const input = await releaseInput('1.5.0');
    // Started as `opsflow release` starts it (its search attributes name the stack), so `opsflow approve stack-e` finds it.
    const handle = await env.client.workflow.start('releaseStack', {
      taskQueue,
      workflowId: 'release-stack-e-good',
      args: [input],
      typedSearchAttributes: runMetadata({ environment: 'stack-e', operation: 'release' }, input, 'test').typedSearchAttributes,
    });
    for (let polls = 0; (await handle.query<ReleaseStackStatus>('status')).release.phase !== 'waiting for approval'; polls++) {
      if (polls > 3000) throw new Error('the release never reached its approval gate');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Held at the gate: staging runs the release, production the old version.
    expect(await versions('stack-e-staging')).toEqual(['1.5.0']);
    expect(await versions('stack-e-fra1')).toEqual(['1.4.2', '1.4.2', '1.4.2']);
    expect(await versions('stack-e-lon')).toEqual(['1.4.2', '1.4.2', '1.4.2']);
    await expect(handle.executeUpdate('approve', { args: [{ by: '' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    // `opsflow approve stack-e`: no failover or failback of stack-e runs, so it finds the release.
    const approved = await approveFailover(env.client, 'stack-e', { by: 'ana', note: 'staging looks right' });
    expect(approved).toMatch(
      /^approved by ana at \S+ \(staging looks right\): release-stack-e-good goes on; follow it with `opsflow status release-stack-e-good`$/,
    );
    expect((await handle.query<ReleaseStackStatus>('status')).release.approval).toMatchObject({ by: 'ana', note: 'staging looks right' });
    const result = await handle.result();
    expect((result as ReleaseStackResult).sites).toEqual([
      { site: 'fra1', environment: 'stack-e-fra1', outcome: 'released' },
      { site: 'london', environment: 'stack-e-lon', outcome: 'released' },
    ]);
  });
  expect(await versions('stack-e-fra1')).toEqual(['1.5.0', '1.5.0', '1.5.0']);
  expect(await versions('stack-e-lon')).toEqual(['1.5.0', '1.5.0', '1.5.0']);
});

test("a release one site's health gate refuses is rolled back on that site alone; the other keeps it", async () => {
  await withWorker(env, taskQueue, activities(), async () => {
    // London's gate cannot pass: it asks every answer to name fra1 as the site that served it.
    const input = await releaseInput('1.6.0', (i) => {
      const london = i.production.find((p) => p.site === 'london')!.release;
      london.healthChecks = london.healthChecks!.map((c) => ({
        ...c,
        expectHeaders: { 'x-opsflow-site': 'fra1' },
        attempts: 2,
        intervalSeconds: 1,
      }));
      i.autoApproveAfter = '1s';
    });
    const handle = await env.client.workflow.start('releaseStack', {
      taskQueue,
      workflowId: 'release-stack-e-london-refuses',
      args: [input],
    });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('SiteReleaseRolledBack');
    expect(failure.message).toMatch(/^fra1 released; london rolled back \(/);
    const status = await handle.query<ReleaseStackStatus>('status');
    expect(status.release.approval).toMatchObject({ by: 'policy:autoApproveAfter' });
    expect(status.release.sites.map((s) => `${s.site} ${s.outcome}`)).toEqual(['fra1 released', 'london rolled back']);
  });
  expect(await versions('stack-e-fra1')).toEqual(['1.6.0', '1.6.0', '1.6.0']);
  expect(await versions('stack-e-lon')).toEqual(['1.5.0', '1.5.0', '1.5.0']);
});
