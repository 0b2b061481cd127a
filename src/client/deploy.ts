// `opsflow deploy <environment> --set service=tag`: the deployRelease input built from the
// environment's inventory, as its entity workflow keeps it (hosts, pinned host keys, SSH user and
// key name, the application's directory and images, the spec's health checks).
import type { Client } from '@temporalio/client';
import { IMAGE_REF, IMAGE_TAG, parseDeployReleaseInput, SERVICE_NAME, type DeployRelease } from '../specs/deploy-release';
import type { DeployAnalysisInput } from '../specs/deploy-analysis';
import type { EnvironmentSpec } from '../specs/environment';
import type { Inventory } from '../workflows/environment/inventory';
import type { DeployResult } from '../workflows/release/deploy-release';
import type { ProvisionResult } from '../workflows/environment/provision-environment';
import { environmentInventory } from './environments';

/** What a deploy needs to know of an environment. */
export interface DeployBasis {
  environment: string;
  hosts: { instance: string; address: string; hostKey: string }[];
  ssh?: { user: string; port: number; key: string };
  application?: { directory: string; images: Record<string, string> };
  healthChecks: EnvironmentSpec['healthChecks'];
}

/** The environment as its inventory says, refused when it is not provisioned. */
export async function deployBasis(client: Client, environment: string): Promise<DeployBasis> {
  return basisOfInventory(await environmentInventory(client, environment));
}

export function basisOfInventory(inventory: Inventory): DeployBasis {
  if (inventory.state !== 'provisioned') {
    throw new Error(
      `environment ${inventory.environment} is ${inventory.state === 'new' ? 'not provisioned yet' : 'destroyed'}: deploy needs hosts that provisioning finished (see \`opsflow env show ${inventory.environment}\`)`,
    );
  }
  return {
    environment: inventory.environment,
    hosts: inventory.hosts,
    ssh: inventory.ssh,
    application: inventory.application,
    healthChecks: inventory.healthChecks,
  };
}

/** A provisioning result and its spec (tests that provision directly). */
export function basisOfProvisioning(provisioned: { result: ProvisionResult; spec: EnvironmentSpec }): DeployBasis {
  const { result, spec } = provisioned;
  return {
    environment: result.environment,
    hosts: result.hosts,
    ssh: result.ssh,
    application: result.application,
    healthChecks: spec.healthChecks,
  };
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
    if (!SERVICE_NAME.test(service))
      throw new Error(`--set ${value}: ${service} is not a compose service name (letters, digits, ".", "_" and "-")`);
    if (!IMAGE_REF.test(image) && !IMAGE_TAG.test(image))
      throw new Error(
        `--set ${/[\n\r]/.test(value) ? service : value}: not a tag (like 2.0.2) or an image with a tag (like ghcr.io/acme/${service}:2.0.2)`,
      );
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
  /** Run after the health gate (`--analysis <file>`); a release that does not pass it is rolled back. */
  analysis?: DeployAnalysisInput;
}

/**
 * The deployRelease input for new images on a provisioned environment. Each service must be one the
 * environment's application has; a bare tag replaces the tag of the image deployed now.
 * Checked with the workflow's own schema before anything starts.
 */
export function buildDeployInput(
  from: DeployBasis | { result: ProvisionResult; spec: EnvironmentSpec },
  sets: Record<string, string>,
  options: DeployOptions = {},
): DeployRelease {
  const basis = 'result' in from ? basisOfProvisioning(from) : from;
  const app = basis.application;
  if (!app || Object.keys(app.images).length === 0 || !basis.ssh)
    throw new Error(`environment ${basis.environment} was provisioned without application images: there is nothing to deploy`);
  const images: Record<string, string> = {};
  for (const [service, value] of Object.entries(sets)) {
    const current = app.images[service];
    if (current === undefined)
      throw new Error(
        `--set ${service}: ${basis.environment} has no service ${service}; its services are ${Object.keys(app.images).sort().join(', ')}`,
      );
    if (IMAGE_REF.test(value)) images[service] = value;
    else if (IMAGE_TAG.test(value)) images[service] = withTag(current, value);
    else throw new Error(`--set ${service}=${value}: not a tag (like 2.0.2) or an image with a tag (like ghcr.io/acme/${service}:2.0.2)`);
  }
  return parseDeployReleaseInput({
    environment: basis.environment,
    hosts: basis.hosts.map((h) => ({ instance: h.instance, address: h.address, hostKey: h.hostKey })),
    ssh: basis.ssh,
    directory: app.directory,
    images,
    healthChecks: basis.healthChecks,
    ...(options.consecutiveFailures !== undefined ? { consecutiveFailures: options.consecutiveFailures } : {}),
    ...(options.analysis !== undefined ? { analysis: options.analysis } : {}),
  });
}

export function formatDeployResult(result: DeployResult): string {
  const lines = [
    `Released to ${result.environment}: ${Object.entries(result.images)
      .map(([s, i]) => `${s} ${i}`)
      .join(', ')}`,
  ];
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
