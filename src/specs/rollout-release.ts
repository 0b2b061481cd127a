// What rolloutRelease takes, checked whole: deployRelease's part (hosts, SSH, directory, images,
// health checks) by its own schema, the rollout spec by its own, then what only the two together
// can say (the fleet's hosts exist, the spec is for this environment, how many surge or preview
// droplets and what they are made from) and what this version of the workflow does not do yet (blue-green by
// load balancer membership, surge droplets with it), each refused by name before anything runs.
// Pure: the CLI and the workflow call the same function.
import { z } from 'zod';
import { SpecError } from './common';
import { DeployInputError, parseDeployReleaseInput, type DeployRelease } from './deploy-release';
import { dropletInstances, parseEnvironmentSpec, type EnvironmentSpec } from './environment';
import { parseRolloutSpec, type RolloutSpec } from './rollout';

/** Who sends an update or starts a rollout: a user or service name, shown in the status and history. */
export const actorName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,99}$/, 'must name who asks (letters, digits, space, ".", "_", "@", "+", "-"; up to 100)');

export interface RolloutRelease {
  release: DeployRelease;
  spec: RolloutSpec;
  requestedBy: string;
  /** The fleet's instances, in the order canary hosts are taken. */
  fleet: string[];
  /**
   * Hosts that may change version at once: maxUnavailable resolved against the fleet, plus the
   * surge droplets (they serve while fleet hosts change), at most the whole fleet.
   */
  batchSize: number;
  /** Surge droplets the canary runs on (maxSurge resolved against the fleet); 0: canary hosts are taken from the fleet. */
  surge: number;
  /** Preview droplets a blue-green rollout creates (blueGreen.previewFleet.create); 0: the preview is taken from the fleet. */
  preview: number;
  /** With surge or preview droplets: the environment spec they are made from (the fleet's droplet group). */
  environmentSpec?: EnvironmentSpec;
}

/** The instance name of the n-th surge droplet (1-based) beside droplet group `group`: `platform-surge-1`. */
export const surgeInstance = (group: string, n: number) => `${group}-surge-${n}`;

/** The instance name of the n-th preview droplet (1-based) a blue-green rollout makes beside group `group`: `web-preview-1`. */
export const previewInstance = (group: string, n: number) => `${group}-preview-${n}`;

/** A count of hosts (`2` or `25%`) against a fleet of `size`: Argo rounds maxUnavailable down. */
export function resolveHostCount(count: number | string, size: number): number {
  return typeof count === 'number' ? count : Math.floor((size * Number(count.slice(0, -1))) / 100);
}

/**
 * maxSurge (`1` or `25%`) against a fleet of `size`: a percentage rounds up, as Argo and Kubernetes
 * do, and never more droplets than the fleet has (the canary at 100% needs no more hosts than that).
 */
export function resolveSurge(count: number | string, size: number): number {
  const hosts = typeof count === 'number' ? count : Math.ceil((size * Number(count.slice(0, -1))) / 100);
  return Math.min(hosts, size);
}

export function parseRolloutReleaseInput(input: unknown): RolloutRelease {
  const problems: string[] = [];
  const paths: (string | number)[][] = [];
  const say = (path: (string | number)[], problem: string) => {
    problems.push(`${path.join('.')}: ${problem}`);
    paths.push(path);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new SpecError('rolloutRelease input', ['(top level): must be an object']);
  const {
    spec: specInput,
    requestedBy: requestedInput,
    environmentSpec: environmentInput,
    ...releaseInput
  } = input as Record<string, unknown>;

  let release: DeployRelease | undefined;
  try {
    release = parseDeployReleaseInput(releaseInput);
  } catch (err) {
    if (!(err instanceof DeployInputError)) throw err;
    for (const p of err.problems) problems.push(p);
  }
  let spec: RolloutSpec | undefined;
  try {
    spec = parseRolloutSpec(specInput);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    for (const p of err.problems) problems.push(`spec.${p}`);
  }
  let environmentSpec: EnvironmentSpec | undefined;
  if (environmentInput !== undefined) {
    try {
      environmentSpec = parseEnvironmentSpec(environmentInput);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      for (const p of err.problems) problems.push(`environmentSpec.${p}`);
    }
  }
  const requested = actorName.safeParse(requestedInput);
  if (!requested.success) say(['requestedBy'], requested.error.issues[0]!.message);

  let fleet: string[] = [];
  let batchSize = 0;
  let surge = 0;
  let preview = 0;
  if (release && spec) {
    const hosts = release.hosts.map((h) => h.instance);
    if (spec.environment !== release.environment)
      say(['spec', 'environment'], `is ${spec.environment}, but this rollout is for ${release.environment}`);
    const front = spec.traffic.nginx?.frontHost;
    if (front !== undefined && !hosts.includes(front))
      say(['spec', 'traffic', 'nginx', 'frontHost'], `${front} is not one of the hosts given (${hosts.join(', ')})`);
    fleet = spec.fleet.instances ?? hosts.filter((h) => h !== front);
    for (const [i, instance] of fleet.entries())
      if (!hosts.includes(instance))
        say(['spec', 'fleet', 'instances', i], `${instance} is not one of the hosts given (${hosts.join(', ')})`);
    if (spec.traffic.loadBalancerMembership && spec.blueGreen)
      say(
        ['spec', 'traffic', 'loadBalancerMembership'],
        'blue-green by load balancer membership is not built (a blue-green switch rewrites nginx upstreams); use traffic.nginx, or a canary',
      );
    const maxSurge = spec.canary?.maxSurge;
    if (spec.traffic.loadBalancerMembership && maxSurge !== undefined && maxSurge !== 0 && maxSurge !== '0%')
      say(
        ['spec', 'canary', 'maxSurge'],
        `is ${maxSurge}, but surge droplets are not put in the load balancer: with loadBalancerMembership set maxSurge: 0 (canary hosts are taken from the fleet)`,
      );
    if (spec.canary) {
      const { maxSurge, maxUnavailable } = spec.canary;
      surge = resolveSurge(maxSurge, fleet.length);
      const unavailable = resolveHostCount(maxUnavailable, fleet.length);
      batchSize = Math.min(fleet.length, surge + unavailable);
      if (surge === 0 && unavailable === 0)
        say(
          ['spec', 'canary', 'maxUnavailable'],
          `is ${maxUnavailable}${typeof maxUnavailable === 'string' ? ` (0 hosts of ${fleet.length})` : ''} and maxSurge is ${maxSurge}${typeof maxSurge === 'string' ? ' (0 droplets)' : ''}: no host could run the canary (Argo and Kubernetes refuse both at 0 too). Give maxSurge 1 or more to create surge droplets beside the fleet for the canary, or maxUnavailable 1 or more to take canary hosts from the fleet`,
        );
      if (surge > 0 && !spec.traffic.loadBalancerMembership)
        dropletProblems(say, {
          release,
          spec,
          fleet,
          droplets: surgeDroplets(spec, surge, fleet.length),
          environmentSpec,
          given: environmentInput !== undefined,
        });
    }
    preview = spec.blueGreen?.previewFleet.create ?? 0;
    if (preview > 0 && !spec.traffic.loadBalancerMembership)
      dropletProblems(say, {
        release,
        spec,
        fleet,
        droplets: previewDroplets(preview),
        environmentSpec,
        given: environmentInput !== undefined,
      });
    if (((spec.blueGreen && preview === 0) || (spec.canary && surge === 0)) && fleet.length < 2)
      say(
        ['spec', 'fleet'],
        `has ${fleet.length} host${fleet.length === 1 ? '' : 's'} (${fleet.join(', ') || 'none'}); ${spec.blueGreen ? 'blue-green needs at least 2, one active and one preview (or give blueGreen.previewFleet: {create: 1} to create a preview droplet for the rollout)' : 'a canary taken from the fleet needs at least 2, one to stay stable (or give maxSurge 1 to run the canary on a surge droplet beside it)'}`,
      );
    if (preview > 0 && fleet.length === 0)
      say(['spec', 'fleet'], "has no host: give fleet.instances, the droplets that serve (nginx's front host may be one of them)");
    const previewSize = spec.blueGreen?.previewFleet.size;
    if (previewSize !== undefined && fleet.length >= 2 && previewSize >= fleet.length)
      say(
        ['spec', 'blueGreen', 'previewFleet', 'size'],
        `is ${previewSize}, but the fleet has ${fleet.length} hosts (${fleet.join(', ')}): at least one must stay active while the preview changes`,
      );
  }
  if (problems.length) throw new SpecError('rolloutRelease input', problems, paths);
  return {
    release: release!,
    spec: spec!,
    requestedBy: requested.data!,
    fleet,
    batchSize,
    surge,
    preview,
    ...(surge > 0 || preview > 0 ? { environmentSpec } : {}),
  };
}

/** The droplet group the fleet's hosts come from: a surge droplet is made as they were. */
export function fleetGroup(environment: EnvironmentSpec, fleet: string[]): EnvironmentSpec['droplets'][number] | undefined {
  return dropletInstances(environment).find((i) => i.instance === fleet[0])?.droplet;
}

/** Droplets a rollout makes beside the fleet: surge droplets for a canary, preview droplets for blue-green. */
interface MadeDroplets {
  count: number;
  /** `surge droplet` or `preview droplet`. */
  what: string;
  /** What asked for them, as the environmentSpec problem says it: `spec.canary.maxSurge is 1 (1 surge droplet for a fleet of 1)`. */
  asked: string;
  /** What to do instead, if they cannot be made: `set maxSurge: 0 and ...`. */
  instead: string;
  instance: (group: string, n: number) => string;
}

function surgeDroplets(spec: RolloutSpec, surge: number, fleetSize: number): MadeDroplets {
  return {
    count: surge,
    what: 'surge droplet',
    asked: `spec.canary.maxSurge is ${spec.canary!.maxSurge} (${surge} surge droplet${surge === 1 ? '' : 's'} for a fleet of ${fleetSize})`,
    instead: 'set maxSurge: 0 and maxUnavailable 1 or more',
    instance: surgeInstance,
  };
}

function previewDroplets(count: number): MadeDroplets {
  return {
    count,
    what: 'preview droplet',
    asked: `spec.blueGreen.previewFleet.create is ${count}`,
    instead: 'leave previewFleet.create out and take the preview from fleet hosts out of rotation',
    instance: previewInstance,
  };
}

interface DropletCheck {
  release: DeployRelease;
  spec: RolloutSpec;
  fleet: string[];
  droplets: MadeDroplets;
  environmentSpec?: EnvironmentSpec;
  given: boolean;
}

/** Made droplets come from the environment spec: it must be given, be this environment's, and hold the fleet in one group. */
function dropletProblems(say: (path: (string | number)[], problem: string) => void, check: DropletCheck): void {
  const { release, spec, fleet, droplets, environmentSpec, given } = check;
  const { what } = droplets;
  if (!given) {
    const instead = spec.canary
      ? 'Or set maxSurge: 0 and maxUnavailable 1 or more to take canary hosts from the fleet'
      : `Or ${droplets.instead}`;
    say(
      ['environmentSpec'],
      `is required: ${droplets.asked}, and a ${what} is made as the fleet's droplets were, from the environment spec (opsflow rollout --environment-spec <file>). ${instead}`,
    );
    return;
  }
  if (!environmentSpec) return; // its own problems are listed
  if (environmentSpec.name !== release.environment)
    say(['environmentSpec', 'name'], `is ${environmentSpec.name}, but this rollout is for ${release.environment}`);
  if (environmentSpec.cloud !== 'digitalocean')
    say(
      ['environmentSpec', 'cloud'],
      `is ${environmentSpec.cloud}: ${what}s are built for DigitalOcean only (a Linode instance joins the firewall its provisioning run tagged, which a rollout's instance would not carry); ${droplets.instead}`,
    );
  const instances = dropletInstances(environmentSpec);
  const groups = new Map<string, EnvironmentSpec['droplets'][number]>();
  for (const [i, name] of fleet.entries()) {
    const found = instances.find((d) => d.instance === name);
    if (!found)
      say(
        ['spec', 'fleet', 'instances', i],
        `${name} is not a droplet of environmentSpec (${instances.map((d) => d.instance).join(', ')})`,
      );
    else groups.set(found.droplet.name, found.droplet);
  }
  if (groups.size > 1)
    say(
      ['spec', 'fleet'],
      `takes hosts from droplet groups ${[...groups.keys()].join(', ')}: a ${what} is made like the fleet's droplets, so they must be of one group (one size, image and tags)`,
    );
  const group = [...groups.values()][0];
  if (group) {
    const clashes = Array.from({ length: droplets.count }, (_, i) => droplets.instance(group.name, i + 1)).filter((n) =>
      instances.some((d) => d.instance === n),
    );
    if (clashes.length)
      say(['environmentSpec', 'droplets'], `has ${clashes.join(', ')}, the name${clashes.length === 1 ? '' : 's'} a ${what} takes`);
  }
  const app = environmentSpec.application;
  if (!app) say(['environmentSpec', 'application'], `is required: a ${what} runs the compose application as the fleet does`);
  else {
    if (app.compose === undefined)
      say(
        ['environmentSpec', 'application', 'compose'],
        'is required: the workflow needs the compose file itself, not only composeFile (opsflow rollout inlines it; with the temporal CLI put its text in application.compose)',
      );
    if (app.directory !== release.directory)
      say(
        ['environmentSpec', 'application', 'directory'],
        `is ${app.directory}, but the fleet's application lives in ${release.directory}`,
      );
  }
}
