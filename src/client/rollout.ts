// `opsflow rollout`: rolloutRelease's input built from the environment's inventory exactly as
// `opsflow deploy` builds deployRelease's, plus the rollout spec and who asked; and the updates
// that steer a running rollout, each signed with who sent it, a refusal shown in the workflow's words.
import { existsSync } from 'node:fs';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { EnvironmentSpec } from '../specs/environment';
import { IMAGE_REF } from '../specs/deploy-release';
import {
  CONTAINER_NAME,
  parseKubernetesRolloutInput,
  type KubernetesRolloutInput,
  type KubernetesRolloutSpec,
} from '../specs/kubernetes-rollout';
import type { RolloutSpec } from '../specs/rollout';
import { parseRolloutReleaseInput } from '../specs/rollout-release';
import { rolloutWorkflowId, type RolloutReleaseInput, type UpdateAccepted } from '../workflows/release/rollout-api';
import { buildDeployInput, type DeployBasis } from './deploy';
import { requestedBy } from './run-metadata';

export type Strategy = 'canary' | 'blue-green';
export const STRATEGIES: readonly Strategy[] = ['canary', 'blue-green'];

/** Who is sending (OPSFLOW_REQUESTED_BY, else `user@host`), in the characters an update's `by` takes. */
export function whoAmI(env: NodeJS.ProcessEnv = process.env): string {
  return (
    requestedBy(env)
      .replace(/[^A-Za-z0-9 ._@+-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 100) || 'unknown'
  );
}

/** The spec file: --spec, or `rollout-<env>.yaml` in the current folder. */
export function rolloutSpecFile(environment: string, given: string | undefined, exists: (file: string) => boolean = existsSync): string {
  if (given !== undefined) return given;
  const conventional = `rollout-${environment}.yaml`;
  if (exists(conventional)) return conventional;
  throw new Error(
    `no rollout spec for ${environment}: give --spec <file> (or put it at ./${conventional}); examples/rollout-stack-*.yaml show the form, \`opsflow schema rollout\` its schema`,
  );
}

/** --strategy must say what the spec says: it is a check, the spec decides. */
export function checkStrategy(spec: { blueGreen?: unknown }, file: string, strategy: Strategy | undefined): void {
  const described: Strategy = spec.blueGreen ? 'blue-green' : 'canary';
  if (strategy !== undefined && strategy !== described)
    throw new Error(
      `--strategy ${strategy}: ${file} describes a ${described} rollout (${spec.blueGreen ? 'blueGreen' : 'canary'}:); write a ${strategy === 'canary' ? 'canary' : 'blueGreen'} section instead, or leave --strategy out`,
    );
}

/**
 * rolloutRelease's input, checked with the workflow's own parser before anything starts. The
 * environment spec (`--environment-spec`, its compose file inlined) goes with it for surge or preview droplets.
 */
export function buildRolloutInput(
  basis: DeployBasis,
  sets: Record<string, string>,
  spec: RolloutSpec,
  requestedBy: string,
  environmentSpec?: EnvironmentSpec,
): RolloutReleaseInput {
  const input: RolloutReleaseInput = {
    ...buildDeployInput(basis, sets),
    spec,
    requestedBy,
    ...(environmentSpec ? { environmentSpec } : {}),
  };
  parseRolloutReleaseInput(input); // throws naming every problem (spec.fleet..., requestedBy, ...)
  return input;
}

/**
 * `--set container=image` for a canary on Kubernetes: the container of the stable Deployment's pod
 * template and the full image it gets (a tag alone is refused: the workflow reads the Deployment's
 * images, the CLI does not). Whether the Deployment has the container is checked by the workflow
 * at its start, before anything changes.
 */
export function parseContainerSets(values: string[], file: string): Record<string, string> {
  if (values.length === 0)
    throw new Error(
      `say what to deploy: --set container=image (like orders=registry.example/orders:2.1), once per container of the stable Deployment ${file} names`,
    );
  const sets: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const shown = /[\n\r]/.test(value) ? value.slice(0, Math.max(eq, 0)) : value;
    if (eq <= 0 || eq === value.length - 1)
      throw new Error(`--set ${shown}: write container=image, like orders=registry.example/orders:2.1`);
    const container = value.slice(0, eq);
    const image = value.slice(eq + 1);
    if (!CONTAINER_NAME.test(container))
      throw new Error(
        `--set ${shown}: ${/[\n\r]/.test(container) ? 'that' : container} is not a Kubernetes container name (lowercase letters, digits and "-", at most 63): ${file} is a canary on Kubernetes, --set names a container of its stable Deployment`,
      );
    if (!IMAGE_REF.test(image))
      throw new Error(
        `--set ${shown}: a canary on Kubernetes takes the full image with its tag (like ${container}=registry.example/${container}:2.1), not a tag alone`,
      );
    if (container in sets) throw new Error(`--set ${container} is given twice`);
    sets[container] = image;
  }
  return sets;
}

/** rolloutRelease's input for a canary on Kubernetes, checked with the workflow's own parser before anything starts. */
export function buildKubernetesRolloutInput(
  environment: string,
  images: Record<string, string>,
  spec: KubernetesRolloutSpec,
  requestedBy: string,
): KubernetesRolloutInput {
  const input: KubernetesRolloutInput = { environment, images, spec, requestedBy };
  parseKubernetesRolloutInput(input); // throws naming every problem (spec.environment, images.<container>, ...)
  return input;
}

export type UpdateName = 'promote' | 'abort' | 'pause' | 'resume';

/** A rollout refused the update (its validator said why); nothing was written to its history. */
export class UpdateRefused extends Error {
  constructor(
    readonly update: UpdateName,
    readonly environment: string,
    readonly refusal: string,
  ) {
    super(`${update} refused by ${rolloutWorkflowId(environment)}: ${refusal}`);
    this.name = 'UpdateRefused';
  }
}

/** Sends the update to the environment's running rollout and returns what it did, in its words. */
export async function sendRolloutUpdate(client: Client, environment: string, update: UpdateName, args: object): Promise<string> {
  const workflowId = rolloutWorkflowId(environment);
  try {
    const result = await client.workflow.getHandle(workflowId).executeUpdate<UpdateAccepted, [object]>(update, { args: [args] });
    return result.accepted;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UpdateRefused(update, environment, err.cause?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError)
      throw new Error(
        `no rollout of ${environment} is running (${workflowId}: ${err.message}); see \`opsflow rollout status ${environment}\``,
      );
    throw err;
  }
}
