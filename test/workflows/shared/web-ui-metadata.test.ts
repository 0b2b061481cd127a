// Issue 13 item 6 on the real dev server and local cloud: what the Web UI shows for an opsflow run,
// read back from the server as the UI reads it. Stack A is provisioned and destroyed through the
// opsflow CLI's own start (startOperation): every scheduled activity carries the summary of what it
// acts on (the whole list, word for word), the run carries its static summary and details, its memo
// (environment, operation, spec file, input digest, who started it; no secret) and the search
// attributes the run list filters and shows by, OpsOutcome included once it ended.
import path from 'node:path';
import { defaultPayloadConverter, type SearchAttributePair } from '@temporalio/common';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalCloud } from '@opsflow/localcloud';
import { destroyWorkflowId, provisionWorkflowId } from '../../../src/names/workflow-ids';
import { environmentTag } from '../../../src/names/ownership-tags';
import { firewallName, networkName, serverName, volumeName } from '../../../src/names/resource-names';
import { startOperation } from '../../../src/client/opsflow-client';
import { loadBackupPolicies, loadEnvironmentSpec } from '../../../src/specs/load';
import type { EnvironmentSpec } from '../../../src/specs/environment';
import type { ProvisionResult } from '../../../src/workflows/environment/provision-environment';
import type { EnvironmentResources } from '../../../src/providers/cloud-provider';
import { TASK_QUEUE } from '../../../src/temporal/task-queues';
import { OPSFLOW_VERSION } from '../../../src/version';
import { startLocalCloud } from '../../helpers/localcloud';
import { startOpsflowWorkers, type OpsflowWorkers } from '../../helpers/opsflow-workers';
import { startTemporal } from '../../helpers/temporal';
import type { Page } from 'playwright-core';
import { chromiumPath, launchChromium, screenshotPath } from '../../helpers/browser';
import { scheduleOptions } from '../../../src/client/schedules';
import { freePort } from '../../helpers/processes';
import { decodedText } from '../../helpers/history-text';
import { until } from '../../helpers/until';

jest.setTimeout(6 * 60_000);

const SECRET = 'correct-horse-battery';
const specFile = path.join(__dirname, '..', '..', '..', 'examples', 'stack-a.yaml');
let env: TestWorkflowEnvironment;
let cloud: LocalCloud;
let workers: OpsflowWorkers;
let ui: string;
/** The provision run the first test made, for the browser to look at. */
let provisioned: { workflowId: string; runId: string } | undefined;

beforeAll(async () => {
  process.env.OPSFLOW_REQUESTED_BY = 'web-ui-test';
  const uiPort = await freePort();
  ui = `http://127.0.0.1:${uiPort}`;
  env = await startTemporal({ uiPort });
  ({ cloud } = await startLocalCloud({
    rateLimit: { perMinute: 100_000, perHour: 100_000 },
    timing: { dropletCreateMs: 1500, actionMs: 150 },
  }));
  workers = await startOpsflowWorkers(env, cloud, { STACK_A_POSTGRES_PASSWORD: SECRET });
});
afterAll(async () => {
  await workers?.stop();
  await cloud?.stop();
  await env?.teardown();
  delete process.env.OPSFLOW_REQUESTED_BY;
});

/** The summary of every activity scheduled and every timer started, in history order, as the Web UI reads them. */
async function summaries(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes || e.timerStartedEventAttributes)
    .map((e) => (e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : '(no summary)'));
}

/** opsflow's own search attributes (the server adds BuildIds and TemporalChangeVersion). */
const attributes = (pairs: SearchAttributePair[]) =>
  Object.fromEntries(pairs.filter((p) => p.key.name.startsWith('Ops')).map((p) => [p.key.name, p.value]));

async function searchAttributesOnceEnded(client: Client, workflowId: string) {
  return until(`${workflowId}'s OpsOutcome`, async () => {
    const description = await client.workflow.getHandle(workflowId).describe();
    const found = attributes(description.typedSearchAttributes.toJSON() as unknown as SearchAttributePair[]);
    return found.OpsOutcome ? found : undefined;
  });
}

test('provision and destroy of stack A: every activity has its summary; memo, details and search attributes say what ran and how it ended', async () => {
  const spec: EnvironmentSpec = { ...loadEnvironmentSpec(specFile), name: 'ui-a' };
  const name = spec.name;
  await workers.withWorkflowWorker(TASK_QUEUE, async () => {
    const handle = await startOperation(
      env.client,
      'provisionEnvironment',
      provisionWorkflowId(name),
      [{ spec }],
      `provision ${name} in fra1`,
      undefined,
      {
        environment: name,
        operation: 'provision',
        specFile: 'examples/stack-a.yaml',
      },
    );
    const result = (await handle.result()) as ProvisionResult;
    provisioned = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    const app = result.hosts[0]!;
    const on = `on app (${app.address})`;
    const volume = result.volumes[0]!;
    const checks = spec.healthChecks.map(
      (c) => `health check http://${app.address}:${c.port}${c.path}: expect 200, fail after ${c.attempts} failed probes in a row`,
    );
    expect(await summaries(handle)).toEqual([
      'claim environment ui-a for provision',
      'check the worker can resolve 1 secret: POSTGRES_PASSWORD',
      'register SSH key deploy with the cloud account',
      `create VPC ${networkName(name)} (10.10.0.0/16) in fra1`,
      `create firewall ${firewallName(name)} (3 inbound rules)`,
      // Since patch provision-at-once the volume is created with the VPC and firewall, before the droplet.
      `create volume ${volumeName(name, 'pgdata')} (20 GB, ext4) in fra1`,
      `create droplet ${serverName(name, 'app')} (s-1vcpu-1gb, ubuntu-22-04-x64) in fra1`,
      `wait until droplet ${serverName(name, 'app')} is active`,
      `attach volume ${volume.id} to droplet ${app.dropletId}`,
      `assign a reserved IP to droplet ${app.dropletId}`,
      `wait for SSH on ${app.address} as root and pin its host key`,
      `run mount ${volumeName(name, 'pgdata')} ${on}`,
      `run mountpoint -q /mnt/pgdata ${on}`,
      `run apt-get update ${on}`,
      `run apt-get install -y --no-install-recommends docker.io docker-compose-plugin ${on}`,
      `run make directories ${on}`,
      `upload /etc/systemd/system/booking.service to app (${app.address})`,
      `run systemctl daemon-reload ${on}`,
      `run systemctl enable booking.service ${on}`,
      `upload /opt/app/compose.yaml to app (${app.address})`,
      `write /opt/app/.env ${on} (7 values, 1 secret resolved on the worker)`,
      `run docker compose pull and up ${on}`,
      ...checks,
    ]);

    const description = await handle.describe();
    expect(await description.staticSummary()).toBe('provision ui-a in fra1');
    expect(await description.staticDetails()).toMatch(
      /^\*\*provision\*\* of environment \*\*ui-a\*\*\n\nspec examples\/stack-a\.yaml, input sha256 [0-9a-f]{16}\n\nrequested by web-ui-test with opsflow \S+$/,
    );
    expect(description.memo).toEqual({
      environment: 'ui-a',
      operation: 'provision',
      specFile: 'examples/stack-a.yaml',
      inputSha256: expect.stringMatching(/^[0-9a-f]{16}$/),
      requestedBy: 'web-ui-test',
      opsflowVersion: OPSFLOW_VERSION,
    });
    expect(await searchAttributesOnceEnded(env.client, handle.workflowId)).toEqual({
      OpsEnvironment: 'ui-a',
      OpsOperation: 'provision',
      OpsCloud: 'digitalocean',
      OpsRequestedBy: 'web-ui-test',
      OpsOutcome: 'completed',
    });
    // What the server stores of the run's metadata (memo, summary, details, search attributes) holds no secret value.
    const raw = await env.client.workflowService.describeWorkflowExecution({
      namespace: 'default',
      execution: { workflowId: handle.workflowId },
    });
    expect(decodedText(raw)).not.toContain(SECRET);
    // Payloads decoded: the history carries the secret's reference (the spec), never its value.
    const historyText = decodedText(await handle.fetchHistory());
    expect(historyText).toContain('env:STACK_A_POSTGRES_PASSWORD');
    expect(historyText).not.toContain(SECRET);

    const destroy = await startOperation(
      env.client,
      'destroyEnvironment',
      destroyWorkflowId(name, 'ui'),
      [{ environment: name }],
      `destroy ${name}`,
      undefined,
      {
        environment: name,
        operation: 'destroy',
      },
    );
    const removed = (await destroy.result()) as EnvironmentResources;
    expect(removed.tag).toBe(environmentTag(name));
    expect(await summaries(destroy)).toEqual([
      'claim environment ui-a for destroy',
      'find everything environment ui-a owns',
      // Kubernetes clusters made for the environment go first (none here).
      'list the Kubernetes clusters opsflow made for ui-a',
      `release reserved IP ${result.reservedIp}`,
      `detach volume ${volume.id} from droplet ${app.dropletId}`,
      `delete every droplet tagged ${environmentTag(name)}`,
      `delete volume ${volume.id}`,
      `delete firewall ${result.firewallId}`,
      `delete VPC ${result.vpcId}`,
    ]);
    expect(await searchAttributesOnceEnded(env.client, destroy.workflowId)).toEqual({
      OpsEnvironment: 'ui-a',
      OpsOperation: 'destroy',
      OpsCloud: 'digitalocean',
      OpsRequestedBy: 'web-ui-test',
      OpsOutcome: 'completed',
    });

    // The run list an operator filters: this environment's runs that completed, newest first.
    const listed = await until('both runs in the list query', async () => {
      const ids: string[] = [];
      for await (const w of env.client.workflow.list({ query: 'OpsEnvironment="ui-a" AND OpsOutcome="completed"' })) ids.push(w.workflowId);
      return ids.length === 2 ? ids : undefined;
    });
    expect(listed.sort()).toEqual([destroy.workflowId, handle.workflowId].sort());
  });
});

/** What the page shows, its frames too (the UI renders summaries and details as markdown in an iframe). */
async function shownText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((frame) =>
      frame
        .locator('body')
        .innerText({ timeout: 5_000 })
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

/** Waits until the page shows every text; the screenshot (kept either way) says what it showed. */
async function sees(page: Page, name: string, texts: string[]): Promise<void> {
  try {
    await until(
      `the Web UI's ${name} page showing ${texts.join(', ')}`,
      async () => {
        const shown = await shownText(page);
        return texts.every((t) => shown.includes(t)) ? true : undefined;
      },
      60_000,
    );
  } finally {
    await page.screenshot({ path: screenshotPath(`web-ui-${name}`), fullPage: true });
  }
}

async function tab(page: Page, name: string): Promise<void> {
  await page.getByText(name, { exact: true }).filter({ visible: true }).first().click();
}

/** The list columns an operator adds with the gear below the run list (the UI keeps them in localStorage). */
const COLUMNS = ['Status', 'Workflow ID', 'Type', 'OpsEnvironment', 'OpsOperation', 'OpsOutcome', 'OpsRequestedBy', 'Start', 'End'];

test('in a real browser the Web UI lists the runs by OpsEnvironment with opsflow columns, and shows a run, its memo, its status query and a schedule', async () => {
  const executable = chromiumPath();
  if (!executable) {
    console.warn(
      'SKIPPED the Web UI browser test: no chromium (run `sudo bash scripts/host-packages.sh --tests`, or set OPSFLOW_CHROMIUM)',
    );
    return;
  }
  if (!provisioned) throw new Error('the provision test did not get as far as a finished run');
  const { workflowId, runId } = provisioned;
  const policy = loadBackupPolicies(path.join(__dirname, '..', '..', '..', 'examples', 'backup-stack-b.yaml')).policies[0]!;
  const schedule = await env.client.schedule.create({ ...scheduleOptions(policy, 'web-ui'), state: { paused: true } });
  const browser = await launchChromium(executable);
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const columns = JSON.stringify({ default: COLUMNS.map((label) => ({ label })) });
    await context.addInitScript({ content: `localStorage.setItem('namespace-workflow-table-columns', ${JSON.stringify(columns)});` });
    const page = await context.newPage();
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent('OpsEnvironment="ui-a"')}`);
    await sees(page, 'list', [workflowId, 'OpsOutcome', 'OpsRequestedBy']);
    const row = await page.locator('tr', { hasText: workflowId }).first().innerText();
    for (const cell of ['provisionEnvironment', 'ui-a', 'provision', 'completed', 'web-ui-test']) expect(row).toContain(cell);

    await page.goto(`${ui}/namespaces/default/workflows/${workflowId}/${runId}/history`);
    await sees(page, 'run', [`create droplet ui-a-app`, 'health check http://', 'run docker compose pull and up on app']);
    await tab(page, 'Memo');
    await sees(page, 'memo', ['inputSha256', 'examples/stack-a.yaml']);
    await tab(page, 'Search Attributes');
    await sees(page, 'search-attributes', ['OpsOutcome', 'OpsRequestedBy']);

    // The current details and the status query are answered by a worker, as in production.
    await workers.withWorkflowWorker(TASK_QUEUE, async () => {
      await tab(page, 'User Metadata');
      await sees(page, 'user-metadata', [
        'provision ui-a in fra1',
        'requested by web-ui-test',
        'provisionEnvironment: completed',
        'claim environment ui-a for provision',
        'create droplet ui-a-app (s-1vcpu-1gb, ubuntu-22-04-x64) in fra1',
      ]);
      await tab(page, 'Queries'); // `status` is the query type it offers first
      await page.getByRole('button', { name: 'Run Query' }).click();
      await sees(page, 'query', ['completedSteps', 'health gate', 'outcome']);
    });

    await page.goto(`${ui}/namespaces/default/schedules/${schedule.scheduleId}`);
    await sees(page, 'schedule', [schedule.scheduleId, 'runBackups']);
  } finally {
    await browser.close();
    await schedule.delete();
  }
});
