// `opsflow deploy <environment> --set service=tag`: the deployRelease input built from what the
// environment's last completed provisioning returned (hosts, pinned host keys, SSH user and key
// name, the application's directory and images) and the health checks of the spec it was
// provisioned from, read back from that run's history.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { provisionWorkflowId } from '../names/workflow-ids';
import { dnsLabel } from '../specs/common';
import { IMAGE_REF, IMAGE_TAG, parseDeployReleaseInput, SERVICE_NAME, type DeployRelease } from '../specs/deploy-release';
import type { EnvironmentSpec } from '../specs/environment';
import type { DeployResult } from '../workflows/release/deploy-release';
import type { ProvisionInput, ProvisionResult } from '../workflows/environment/provision-environment';

export interface Provisioned {
  workflowId: string;
  runId: string;
  result: ProvisionResult;
  spec: EnvironmentSpec;
}

/**
 * The last completed provisionEnvironment run of an environment, with its result and the spec it
 * ran with. Throws a message saying what to do when there is none.
 */
export async function lastProvisioning(client: Client, environment: string): Promise<Provisioned> {
  if (!dnsLabel.safeParse(environment).success) throw new Error(`${JSON.stringify(environment)} is not an environment name (lowercase letters, digits and dashes)`);
  const workflowId = provisionWorkflowId(environment);
  let latest;
  try {
    latest = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`environment ${environment} was never provisioned here (no workflow ${workflowId}): run \`opsflow provision <spec>\` first`);
    throw err;
  }
  let runId = latest.status.name === 'COMPLETED' ? latest.runId : undefined;
  if (!runId) {
    // The latest run failed or still runs; an earlier one may have completed.
    let best: { runId: string; closeTime?: Date } | undefined;
    for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}' AND ExecutionStatus = 'Completed'` })) {
      if (!best || (run.closeTime ?? 0) > (best.closeTime ?? 0)) best = run;
    }
    runId = best?.runId;
  }
  if (!runId) {
    throw new Error(`environment ${environment} has no completed provisioning: its latest run of ${workflowId} is ${latest.status.name.toLowerCase()}, and no earlier run completed. Deploy needs hosts that provisioning finished (see \`opsflow status ${workflowId}\`).`);
  }
  const handle = client.workflow.getHandle(workflowId, runId);
  const result = (await handle.result()) as ProvisionResult;
  const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = await decodeFromPayloadsAtIndex<ProvisionInput>(client.options.loadedDataConverter, 0, started?.input?.payloads);
  return { workflowId, runId, result, spec: input.spec };
}

/** `--set` values: `service=tag` or `service=registry/name:tag`, each service once. */
export function parseSets(values: string[]): Record<string, string> {
  if (values.length === 0) throw new Error('say what to deploy: --set service=tag (or service=registry/name:tag), once per service');
  const sets: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1) throw new Error(`--set ${value}: write service=tag or service=registry/name:tag`);
    const service = value.slice(0, eq);
    const image = value.slice(eq + 1);
    // Checked here, before connecting: the same rules the workflow applies at start.
    if (!SERVICE_NAME.test(service)) throw new Error(`--set ${value}: ${service} is not a compose service name (letters, digits, ".", "_" and "-")`);
    if (!IMAGE_REF.test(image) && !IMAGE_TAG.test(image)) throw new Error(`--set ${/[\n\r]/.test(value) ? service : value}: not a tag (like 2.0.2) or an image with a tag (like ghcr.io/acme/${service}:2.0.2)`);
    if (service in sets) throw new Error(`--set ${service} is given twice`);
    sets[service] = image;
  }
  return sets;
}

/** `ghcr.io/acme/auth:2.0.1` with tag `2.0.2` → `ghcr.io/acme/auth:2.0.2` (a digest is dropped). */
export function withTag(image: string, tag: string): string {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  const repository = colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
  return `${repository}:${tag}`;
}

export interface DeployOptions {
  consecutiveFailures?: number;
}

/**
 * The deployRelease input for new images on a provisioned environment. Each service must be one the
 * environment's application has; a bare tag replaces the tag of the image provisioning deployed.
 * Checked with the workflow's own schema before anything starts.
 */
export function buildDeployInput(provisioned: Pick<Provisioned, 'result' | 'spec'>, sets: Record<string, string>, options: DeployOptions = {}): DeployRelease {
  const { result, spec } = provisioned;
  const app = result.application;
  if (!app || Object.keys(app.images).length === 0) throw new Error(`environment ${result.environment} was provisioned without application images: there is nothing to deploy`);
  const images: Record<string, string> = {};
  for (const [service, value] of Object.entries(sets)) {
    const current = app.images[service];
    if (current === undefined) throw new Error(`--set ${service}: ${result.environment} has no service ${service}; its services are ${Object.keys(app.images).sort().join(', ')}`);
    if (IMAGE_REF.test(value)) images[service] = value;
    else if (IMAGE_TAG.test(value)) images[service] = withTag(current, value);
    else throw new Error(`--set ${service}=${value}: not a tag (like 2.0.2) or an image with a tag (like ghcr.io/acme/${service}:2.0.2)`);
  }
  return parseDeployReleaseInput({
    environment: result.environment,
    hosts: result.hosts.map((h) => ({ instance: h.instance, address: h.address, hostKey: h.hostKey })),
    ssh: result.ssh,
    directory: app.directory,
    images,
    healthChecks: spec.healthChecks,
    ...(options.consecutiveFailures !== undefined ? { consecutiveFailures: options.consecutiveFailures } : {}),
  });
}

export function formatDeployResult(result: DeployResult): string {
  const lines = [`Released to ${result.environment}: ${Object.entries(result.images).map(([s, i]) => `${s} ${i}`).join(', ')}`];
  for (const host of result.hosts) {
    lines.push(`  ${host.instance} (${host.address}) runs:`);
    for (const [service, image] of Object.entries(host.running).sort(([a], [b]) => a.localeCompare(b))) {
      const was = host.previous[service];
      lines.push(`    ${service.padEnd(12)} ${image}${was && was !== image ? `  (was ${was})` : ''}`);
    }
  }
  if (result.urls.length) lines.push(`  healthy: ${result.urls.join(' ')}`);
  return lines.join('\n');
}
