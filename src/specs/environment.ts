// The environment spec: what a user writes to describe a stack (stacks A, B and C in DESIGN.md),
// validated the same way by the CLI, the client and the workflow before anything is created.
import { z } from 'zod';
import { overlaps, parseCidr, isPrivateRange } from './cidr';
import { imageVariable } from '../names/image-variable';
import {
  absolutePath,
  dnsLabel,
  ENV_NAME,
  parseSpec,
  SECRET_NAME,
  SECRET_VALUE,
  SERVICE_NAME,
  secretRef,
  specJsonSchema,
  stringsWithin,
} from './common';
import { DISTRIBUTION_IMAGE_SLUGS, DROPLET_SIZE_SLUGS, DROPLET_SIZES, REGION_NAMES, REGION_SLUGS } from './digitalocean-catalog';
import { notOneOfError, whenAnObject } from './messages';
import { DEFAULT_PROVIDER, IMPLEMENTED_PROVIDERS } from '../providers/cloud-provider';
import { LINODE_IMAGE_IDS, LINODE_REGION_IDS, LINODE_TYPE_IDS } from './linode-catalog';

const cidr = z.string().refine((c) => c === '::/0' || parseCidr(c) !== undefined, 'must be an IPv4 CIDR such as 10.0.0.0/16 (or ::/0)');

const portRange = z
  .string()
  .regex(/^\d{1,5}(-\d{1,5})?$/, 'must be a port like "22" or a range like "8081-8084"')
  .refine((ports) => {
    const [low, high = low] = ports.split('-').map(Number) as [number, number?];
    return low >= 1 && (high as number) <= 65535 && low <= (high as number);
  }, 'must be within 1-65535, low end first');

export const firewallRule = z.strictObject({
  protocol: z.enum(['tcp', 'udp']),
  ports: portRange,
  sources: z.array(cidr).min(1).default(['0.0.0.0/0', '::/0']),
});

// What an editor shows beside the size field, so a choice needs no trip to the pricing page.
const SIZE_FACTS = DROPLET_SIZES.map(
  (s) => `${s.slug} (${s.memory / 1024} GB, ${s.vcpus} vCPU, ${s.disk} GB disk, $${s.priceMonthly}/month)`,
).join(', ');

const droplet = z.strictObject({
  name: dnsLabel,
  count: z.number().int().min(1).max(10).default(1),
  size: z
    .enum(DROPLET_SIZE_SLUGS, { error: notOneOfError('a droplet size', DROPLET_SIZE_SLUGS) })
    .meta({ description: `DigitalOcean droplet size: ${SIZE_FACTS}`, examples: ['s-1vcpu-1gb'] }),
  image: z
    .enum(DISTRIBUTION_IMAGE_SLUGS as [string, ...string[]], { error: notOneOfError('a droplet image', DISTRIBUTION_IMAGE_SLUGS) })
    .default('ubuntu-22-04-x64'),
  tags: z
    .array(z.string().regex(/^[a-zA-Z0-9_:-]{1,255}$/, 'tags may contain letters, digits, colons, dashes and underscores'))
    .default([]),
});

const volume = z.strictObject({
  name: dnsLabel,
  sizeGb: z.number().int().min(1).max(16384),
  filesystem: z.enum(['ext4', 'xfs']).default('ext4'),
  mountPoint: absolutePath.refine(
    (p) => p !== '/' && !/^\/(proc|sys|dev|usr|etc|bin|boot)(\/|$)/.test(p),
    'must not be / or a system directory',
  ),
  /** The droplet instance it attaches to, such as `app` or `app-2`. */
  droplet: z.string(),
});

const file = z.strictObject({
  path: absolutePath,
  content: z.string(),
  mode: z
    .string()
    .regex(/^0?[0-7]{3}$/, 'must be an octal mode like "0644"')
    .default('0644'),
});

const systemdUnit = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9@._-]+\.(service|timer|socket|mount|target)$/, 'must be a unit file name like app.service'),
  content: z.string().min(1),
  enable: z.boolean().default(true),
});

const bootstrap = z.strictObject({
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'must be a Debian package name')).default([]),
  directories: z
    .array(
      z.strictObject({
        path: absolutePath,
        mode: z
          .string()
          .regex(/^0?[0-7]{3}$/)
          .default('0755'),
      }),
    )
    .default([]),
  files: z.array(file).default([]),
  systemdUnits: z.array(systemdUnit).default([]),
  /** Each command is an argv array, never a shell string, so nothing is pasted into a shell. */
  commands: z.array(z.array(z.string()).min(1, 'a command needs at least the program name')).default([]),
});

const healthPath = z.string().startsWith('/', 'must start with /');
const healthCheck = z.strictObject({
  name: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  path: healthPath.default('/health'),
  /** More paths probed the same way; each must pass too (a release healthy only at /health fails). */
  paths: z.array(healthPath).min(1).max(20).optional(),
  expectStatus: z.number().int().min(100).max(599).default(200),
  /** Text the body must contain. */
  expectBodyContains: z.string().min(1).optional(),
  /** A regular expression (JavaScript syntax) the body must match. */
  expectBodyMatches: z
    .string()
    .min(1)
    .refine((source) => isRegExp(source), 'is not a valid regular expression')
    .optional(),
  /** Headers each answer must carry, each value containing the text given. */
  expectHeaders: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'is not an HTTP header name'), z.string()).optional(),
  intervalSeconds: z.number().min(1).max(300).default(5),
  attempts: z.number().int().min(1).max(100).default(12),
});

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** The largest compose file the CLI inlines into a spec (a workflow input must stay small). */
export const MAX_COMPOSE_BYTES = 1024 * 1024;
const envName = z.string().regex(ENV_NAME, 'must be an environment variable name (letters, digits and _, not starting with a digit)');
const serviceName = z.string().regex(SERVICE_NAME, 'must be a compose service name (letters, digits, ".", "_" and "-")');
// Written single-quoted into compose's .env, which has no way to escape a quote or a line break.
const dotenvValue = z
  .string()
  .refine((v) => !/['\n\r\0]/.test(v), 'holds a single quote, a line break or a NUL, which a compose .env file cannot carry');

const application = z
  .strictObject({
    directory: absolutePath.default('/opt/app'),
    /** The compose file, relative to the spec file; the CLI inlines it as `compose`. */
    composeFile: z.string().optional(),
    compose: z.string().max(MAX_COMPOSE_BYTES, 'is over 1 MiB').optional(),
    environment: z.record(envName, dotenvValue).default({}),
    secrets: z.record(envName, secretRef).default({}),
    images: z
      .record(serviceName, z.string().regex(/^[\w./:-]+:[\w.-]+$/, 'must be an image with a tag, like registry/app:1.4.2'))
      .default({}),
  })
  .refine((a) => a.compose !== undefined || a.composeFile !== undefined, {
    message: 'needs composeFile (or compose)',
    path: ['composeFile'],
    when: whenAnObject,
  });

const ssh = z.strictObject({
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*$/)
    .default('root'),
  port: z.number().int().min(1).max(65535).default(22),
  /** Name of a key in the worker's OPSFLOW_SSH_KEYS; never the key itself. */
  key: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must name a key from OPSFLOW_SSH_KEYS, not hold the key itself'),
  /** Expected host key fingerprints (SHA256:...) per droplet instance, when known. */
  hostKeys: z.record(z.string(), z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint')).default({}),
  /** How long a new droplet gets to answer SSH before provisioning gives up and rolls back. */
  waitSeconds: z.number().int().min(5).max(3600).default(300),
});

const environmentShape = z.strictObject({
  name: dnsLabel.refine((n) => n.length <= 32, 'must be at most 32 characters'),
  // Which provider's activities (and task queue) the workflow uses; one implemented today.
  cloud: z
    .enum(IMPLEMENTED_PROVIDERS, { error: notOneOfError('a cloud provider this opsflow runs', IMPLEMENTED_PROVIDERS) })
    .default(DEFAULT_PROVIDER),
  region: z.enum(REGION_SLUGS, { error: notOneOfError('a region', REGION_SLUGS) }),
  vpc: z.strictObject({ ipRange: cidr }).optional(),
  firewall: z.strictObject({ inbound: z.array(firewallRule).min(1) }).optional(),
  droplets: z.array(droplet).min(1),
  volumes: z.array(volume).default([]),
  reservedIp: z.strictObject({ droplet: z.string() }).optional(),
  ssh,
  bootstrap: bootstrap.default({ packages: [], directories: [], files: [], systemdUnits: [], commands: [] }),
  application: application.optional(),
  healthChecks: z.array(healthCheck).default([]),
  onFailure: z.enum(['rollback', 'keep']).default('rollback'),
});

// Descriptions and examples for editors (`opsflow schema environment`); the checks stay above.
const FIELD_DOCS: Record<string, { description: string; examples?: unknown[] }> = {
  name: { description: 'Environment name: prefixes every resource (<name>-<droplet>) and tags what it owns', examples: ['stack-a'] },
  cloud: { description: 'Cloud provider', examples: ['digitalocean'] },
  region: {
    description: `DigitalOcean region: ${Object.entries(REGION_NAMES)
      .map(([slug, name]) => `${slug} (${name})`)
      .join(', ')}`,
    examples: ['fra1', 'lon1'],
  },
  vpc: { description: 'Private network for the droplets', examples: [{ ipRange: '10.10.0.0/16' }] },
  firewall: {
    description: 'Inbound rules; everything else is closed',
    examples: [{ inbound: [{ protocol: 'tcp', ports: '22', sources: ['0.0.0.0/0'] }] }],
  },
  droplets: {
    description: 'Droplets to create: count > 1 names them <name>-1 ... <name>-N',
    examples: [[{ name: 'app', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' }]],
  },
  volumes: {
    description: 'Block storage volumes, formatted and mounted on a droplet',
    examples: [[{ name: 'data', sizeGb: 10, mountPoint: '/mnt/data', droplet: 'app' }]],
  },
  reservedIp: { description: 'A reserved IP pointed at one droplet', examples: [{ droplet: 'app' }] },
  ssh: {
    description: 'How the worker logs in: user, port and the name of its key (never the key itself)',
    examples: [{ user: 'root', key: 'deploy' }],
  },
  bootstrap: {
    description: 'Packages, directories, files, systemd units and commands (argv arrays) run once on each droplet',
    examples: [{ packages: ['docker.io', 'docker-compose-v2'] }],
  },
  application: {
    description: 'The compose application: its file, environment, secret references and images',
    examples: [{ composeFile: 'compose.yaml', images: { web: 'ghcr.io/acme/web:1.0.0' } }],
  },
  healthChecks: {
    description:
      'HTTP checks every droplet must pass before the environment counts as provisioned (and each deploy before it stays): a status, optionally a body substring or regular expression, headers, and more paths',
    examples: [[{ name: 'web', port: 8080, path: '/health', paths: ['/api/items'], expectBodyContains: 'ok' }]],
  },
  onFailure: { description: 'rollback removes what a failed run created; keep leaves it for inspection', examples: ['rollback'] },
};
const documentedShape = environmentShape.extend(
  Object.fromEntries(
    Object.entries(environmentShape.shape).map(([key, field]) => [key, FIELD_DOCS[key] ? field.meta(FIELD_DOCS[key]) : field]),
  ) as typeof environmentShape.shape,
);

export type EnvironmentSpec = z.infer<typeof environmentShape>;

/** Droplet instance names: `app` when count is 1, else `app-1` ... `app-N`. */
export function dropletInstances(
  spec: Pick<EnvironmentSpec, 'droplets'>,
): { instance: string; droplet: EnvironmentSpec['droplets'][number] }[] {
  return spec.droplets.flatMap((d) =>
    d.count === 1
      ? [{ instance: d.name, droplet: d }]
      : Array.from({ length: d.count }, (_, i) => ({ instance: `${d.name}-${i + 1}`, droplet: d })),
  );
}

function sourceRangesOverlap(a: string, b: string): boolean {
  const ra = parseCidr(a);
  const rb = parseCidr(b);
  return ra !== undefined && rb !== undefined && overlaps(ra, rb);
}

// Run even when a field above already failed (see environmentSchema), so each check tolerates bad values.
function crossChecks(spec: EnvironmentSpec, ctx: z.core.$RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  // Droplet names other fields refer to are known only when droplets' names and counts are valid;
  // else those checks wait (saying "not one of ()" beside droplets' own error would only mislead).
  const dropletsValid = z
    .array(z.object({ name: dnsLabel, count: droplet.shape.count }))
    .min(1)
    .safeParse(spec.droplets).success;
  const instances = dropletsValid ? dropletInstances(spec).map((i) => i.instance) : undefined;
  const unknownInstance = (name: string) => instances !== undefined && !instances.includes(name);

  if (instances) {
    const seen = new Set<string>();
    spec.droplets.forEach((d, i) => {
      if (seen.has(d.name)) issue(['droplets', i, 'name'], `droplet name ${d.name} is used twice`);
      seen.add(d.name);
    });
    if (instances.length > 25) issue(['droplets'], `${instances.length} droplets in all; the account limit is 25`);
  }

  if (spec.vpc) {
    const range = parseCidr(spec.vpc.ipRange);
    if (range && !isPrivateRange(range))
      issue(['vpc', 'ipRange'], `${spec.vpc.ipRange} is not a private range (10/8, 172.16/12, 192.168/16)`);
    if (range && (range.prefix < 16 || range.prefix > 28))
      issue(['vpc', 'ipRange'], `${spec.vpc.ipRange}: the prefix must be from /16 to /28`);
  }

  spec.firewall?.inbound.forEach((rule, i) => {
    spec.firewall?.inbound.slice(0, i).forEach((earlier, j) => {
      if (earlier.protocol !== rule.protocol) return;
      const [a1, a2 = a1] = earlier.ports.split('-').map(Number) as [number, number?];
      const [b1, b2 = b1] = rule.ports.split('-').map(Number) as [number, number?];
      const portsOverlap = a1 <= (b2 as number) && b1 <= (a2 as number);
      const sourcesOverlap = earlier.sources.some((s) => rule.sources.some((t) => s === t || sourceRangesOverlap(s, t)));
      if (portsOverlap && sourcesOverlap)
        issue(['firewall', 'inbound', i], `overlaps firewall.inbound.${j} (${rule.protocol} ${earlier.ports} and ${rule.ports})`);
    });
  });

  const volumeNames = new Set<string>();
  spec.volumes.forEach((v, i) => {
    if (unknownInstance(v.droplet))
      issue(['volumes', i, 'droplet'], `${v.droplet} is not one of this environment's droplets (${instances?.join(', ')})`);
    if (volumeNames.has(v.name)) issue(['volumes', i, 'name'], `volume name ${v.name} is used twice`);
    volumeNames.add(v.name);
  });
  if (spec.reservedIp && unknownInstance(spec.reservedIp.droplet)) {
    issue(['reservedIp', 'droplet'], `${spec.reservedIp.droplet} is not one of this environment's droplets (${instances?.join(', ')})`);
  }
  for (const instance of Object.keys(spec.ssh.hostKeys)) {
    if (unknownInstance(instance)) issue(['ssh', 'hostKeys', instance], `${instance} is not one of this environment's droplets`);
  }

  // Secrets go by reference (rule 6): refuse anything that looks like one written inline, in any field.
  for (const [key, value] of Object.entries(spec.application?.environment ?? {})) {
    if (SECRET_NAME.test(key) && value !== '')
      issue(
        ['application', 'environment', key],
        `looks like a secret written inline; move it to application.secrets as ${key}: env:OPSFLOW_SECRET_VARIABLE`,
      );
  }
  for (const found of stringsWithin(spec)) {
    if (SECRET_VALUE.test(found.text))
      issue(
        found.path,
        'holds what looks like a private key or API token; secrets must be referenced (application.secrets), never written into the spec',
      );
  }
  // The .env file holds environment, secrets and one <SERVICE>_IMAGE per image: each name once.
  const app = spec.application;
  const envNames = new Map<string, string>();
  for (const service of Object.keys(app?.images ?? {})) {
    const variable = imageVariable(service);
    const other = envNames.get(variable);
    if (other) issue(['application', 'images', service], `would share ${variable} with ${other} in the .env file`);
    envNames.set(variable, `application.images.${service}`);
  }
  for (const [field, names] of [
    ['environment', Object.keys(app?.environment ?? {})],
    ['secrets', Object.keys(app?.secrets ?? {})],
  ] as const) {
    for (const name of names) {
      const other = envNames.get(name);
      if (other) issue(['application', field, name], `${name} is also set by ${other}; the .env file can hold it once`);
      envNames.set(name, `application.${field}.${name}`);
    }
  }
  const healthNames = new Set<string>();
  spec.healthChecks.forEach((h, i) => {
    if (healthNames.has(h.name)) issue(['healthChecks', i, 'name'], `health check ${h.name} is named twice`);
    healthNames.add(h.name);
  });
}

/**
 * Cross-field checks run even when fields failed (`when`), so one error lists every problem; a
 * part too broken to read (droplets not a list) is already reported by its own field's check.
 */
function crossChecksOfWhatParsed(spec: EnvironmentSpec, ctx: z.core.$RefinementCtx): void {
  try {
    crossChecks(spec, ctx);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
}

export const environmentSchema = documentedShape.superRefine(crossChecksOfWhatParsed, { when: whenAnObject });

// A `cloud: linode` spec names Linode's own regions, plan types and images; everything else is the same.
const linodeInstance = droplet.extend({
  size: z.enum(LINODE_TYPE_IDS, { error: notOneOfError('a Linode plan type', LINODE_TYPE_IDS) }),
  image: z.enum(LINODE_IMAGE_IDS, { error: notOneOfError('a Linode image', LINODE_IMAGE_IDS) }).default('linode/ubuntu22.04'),
});
const linodeEnvironmentSchema = environmentShape
  .extend({
    region: z.enum(LINODE_REGION_IDS, { error: notOneOfError('a Linode region', LINODE_REGION_IDS) }),
    droplets: z.array(linodeInstance).min(1),
  })
  .superRefine(crossChecksOfWhatParsed, { when: whenAnObject });

const namesLinode = (input: unknown) => typeof input === 'object' && input !== null && (input as { cloud?: unknown }).cloud === 'linode';

export function parseEnvironmentSpec(input: unknown): EnvironmentSpec {
  if (namesLinode(input)) return parseSpec('environment', linodeEnvironmentSchema, input);
  return parseSpec('environment', environmentSchema, input);
}

/** JSON Schema of the environment spec, for editors (`opsflow schema environment`). */
export function environmentJsonSchema(): unknown {
  return specJsonSchema(documentedShape);
}
