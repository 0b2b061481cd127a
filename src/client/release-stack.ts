// `opsflow release <file>` (examples/release-stack-e.yaml): one release to a stack's staging
// environments, then, once approved, to each production site. Each deployRelease input is built as
// `opsflow deploy` builds it, from the environment's inventory; bad input is refused before start.
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { parseYamlFile } from '../specs/load';
import { parseSpec } from '../specs/common';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE } from '../names/environment-name';
import { siteName } from '../specs/failover';
import { uniqueSuffix } from '../names/workflow-ids';
import type { ReleaseStackInput, ReleaseStackResult } from '../workflows/stack/release-api';
import { buildDeployInput, deployBasis, parseSets } from './deploy';
import { startOperation, withClient } from './opsflow-client';
import { followProgress } from './progress';

const environment = z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE);
const releaseFileSchema = z.strictObject({
  stack: environment,
  /** Service to tag (or full image), as `opsflow deploy --set`. */
  set: z.record(z.string(), z.string()),
  staging: z.array(environment).min(1),
  /** Each production site and its app servers' environment. */
  production: z.record(siteName, environment),
  autoApproveAfter: z
    .string()
    .regex(/^\d{1,9}(ms|s|m|h)$/, 'must be a duration such as 30s, 5m or 1h')
    .optional(),
});
export type ReleaseFile = z.output<typeof releaseFileSchema>;

export const releaseStackWorkflowId = (stack: string, unique: string) => `release-${stack}-${unique}`;

export function loadReleaseFile(file: string): ReleaseFile {
  return parseYamlFile(file, 'release', (value) => parseSpec('release', releaseFileSchema, value));
}

/** releaseStack's input: every environment's deployRelease input from its inventory, the same images everywhere. */
export async function releaseStackInput(client: Client, release: ReleaseFile): Promise<ReleaseStackInput> {
  const sets = parseSets(Object.entries(release.set).map(([service, image]) => `${service}=${image}`));
  const inputFor = async (env: string) => buildDeployInput(await deployBasis(client, env), sets);
  return {
    stack: release.stack,
    staging: await Promise.all(release.staging.map(inputFor)),
    production: await Promise.all(Object.entries(release.production).map(async ([site, env]) => ({ site, release: await inputFor(env) }))),
    ...(release.autoApproveAfter ? { autoApproveAfter: release.autoApproveAfter } : {}),
  };
}

export async function releaseStackCommand(file: string, opts: { detach?: boolean; printInput?: boolean }): Promise<void> {
  const release = loadReleaseFile(file);
  await withClient(async (client) => {
    const input = await releaseStackInput(client, release);
    if (opts.printInput) {
      console.log(JSON.stringify(input));
      return;
    }
    const workflowId = releaseStackWorkflowId(release.stack, uniqueSuffix());
    const what = Object.entries(input.staging[0]!.images)
      .map(([service, image]) => `${service} ${image}`)
      .join(', ');
    const handle = await startOperation(
      client,
      'releaseStack',
      workflowId,
      [input],
      `release ${what} to ${release.stack}: staging ${release.staging.join(', ')}, then (approved) ${Object.keys(release.production).join(' and ')}`,
      undefined,
      { environment: release.stack, operation: 'release', specFile: file },
    );
    console.log(`Releasing ${what} to ${release.stack}: workflow ${workflowId}`);
    console.log(
      `Once staging is healthy it waits for approval: temporal workflow update execute --workflow-id ${workflowId} --name approve --input '{"by":"<you>","note":"<why>"}'`,
    );
    if (opts.detach) return;
    const result = await followProgress<ReleaseStackResult>(handle);
    console.log(
      `Released to staging (${result.staging.join(', ')}) and, approved by ${result.approval.by}, to ${result.sites.map((s) => `${s.site} (${s.environment})`).join(' and ')}`,
    );
  });
}
