// What deployRelease takes: the hosts of a provisioned environment, how to reach them, and the new
// images by compose service. The CLI builds it from the environment's provisioning result and
// checks it with this schema; the workflow checks it again at start (rule 7), so a start from the
// temporal CLI with a bad service name or image is refused before anything reaches a host.
import { z } from 'zod';
import { environmentName } from './environment-name';
import { imageVariable } from '../names/image-variable';
import { absolutePath, dnsLabel, SERVICE_NAME } from './common';
import { environmentSchema } from './environment';
import { deployAnalysisSchema, usesDeployedVersion } from './deploy-analysis';
import { specIssueMessage, whenAnObject } from './messages';

export { SERVICE_NAME };

// Docker's reference grammar, with the tag required: [registry[:port]/]path[/path...]:tag[@digest].
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REGISTRY = '(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
/** An image reference with a tag, such as ghcr.io/acme/auth:2.0.2 (an @sha256 digest may follow). */
export const IMAGE_REF = new RegExp(`^${REGISTRY}?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*:${TAG}(?:@sha256:[a-f0-9]{64})?$`);
/** A tag on its own, as `opsflow deploy --set auth=2.0.2` takes it. */
export const IMAGE_TAG = new RegExp(`^${TAG}$`);

const imageRef = z.string().regex(IMAGE_REF, 'must be an image with a tag, like ghcr.io/acme/auth:2.0.2');

const host = z.object({
  /** The droplet instance, such as `app` or `app-2`. */
  instance: dnsLabel,
  /** Its public IPv4 address or DNS name (health checks are made there too). */
  address: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be an IPv4 address or a host name'),
  /** The host key fingerprint pinned when the environment was provisioned. */
  hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint (the one provisioning pinned)'),
});

export const deployReleaseInputSchema = z
  .strictObject({
    environment: environmentName,
    hosts: z.array(host).min(1, 'needs at least one host'),
    /** User, port and the name of the worker's key, as provisioning used them. */
    ssh: environmentSchema.shape.ssh.pick({ user: true, port: true, key: true }),
    /** Where compose.yaml and its .env live on every host. */
    directory: absolutePath,
    /** The new images, by compose service. */
    images: z.record(z.string(), imageRef),
    /** As in the environment spec; every check must pass on every host. */
    healthChecks: environmentSchema.shape.healthChecks,
    /** Consecutive failed probes that fail the health gate (default: each check's `attempts`). */
    consecutiveFailures: z.number().int().min(1).max(100).optional(),
    /** Run after the health gate: Prometheus metrics the release must pass, or it is rolled back. */
    analysis: deployAnalysisSchema.optional(),
  })
  .superRefine(
    (input, ctx) => {
      const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      // Images that are not a mapping are reported by their own check; an empty one here.
      const services = input.images && typeof input.images === 'object' ? Object.keys(input.images) : undefined;
      if (services?.length === 0) issue(['images'], 'names no service to deploy');
      const variables = new Map<string, string>();
      for (const service of services ?? []) {
        if (!SERVICE_NAME.test(service)) {
          issue(['images', service], 'is not a compose service name (letters, digits, ".", "_" and "-", starting with a letter or digit)');
          continue;
        }
        // The .env line a service's image goes in: `booking-api` and `booking_api` would share one.
        const variable = imageVariable(service);
        const other = variables.get(variable);
        if (other !== undefined) issue(['images', service], `would share ${variable} with ${other}`);
        variables.set(variable, service);
      }
      const tags = new Set(Object.values(input.images ?? {}).map((image) => imageTag(String(image))));
      if (tags.size > 1 && usesDeployedVersion(input.analysis))
        issue(
          ['analysis'],
          `a query uses {{args.canary-version}}, but the images have different tags (${[...tags].join(', ')}): deploy them one version at a time`,
        );
      const instances = new Set<string>();
      if (!Array.isArray(input.hosts)) return;
      input.hosts.forEach((h, i) => {
        if (typeof h?.instance !== 'string') return;
        if (instances.has(h.instance)) issue(['hosts', i, 'instance'], `${h.instance} is listed twice`);
        instances.add(h.instance);
      });
    },
    { when: whenAnObject },
  ); // also when fields failed: every problem in one error

/** The tag of an image reference (`ghcr.io/acme/auth:2.0.2@sha256:...` → `2.0.2`): the version an analysis asks about. */
export function imageTag(image: string): string {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
}

export type DeployReleaseInput = z.input<typeof deployReleaseInputSchema>;
export type DeployRelease = z.output<typeof deployReleaseInputSchema>;

export class DeployInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid deployRelease input:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DeployInputError';
  }
}

/** Parses deployRelease's input; throws DeployInputError naming each bad field. */
export function parseDeployReleaseInput(input: unknown): DeployRelease {
  const result = deployReleaseInputSchema.safeParse(input, { error: specIssueMessage });
  if (result.success) return result.data;
  throw new DeployInputError(
    result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`),
  );
}
