// What rolloutRelease takes, checked whole: deployRelease's part (hosts, SSH, directory, images,
// health checks) by its own schema, the rollout spec by its own, then what only the two together
// can say (the fleet's hosts exist, the spec is for this environment) and what this version of
// the workflow does not do yet (surge hosts, blue-green by load balancer membership), each refused
// by name before anything runs. Pure: the CLI and the workflow call the same function.
import { z } from 'zod';
import { SpecError } from './common';
import { DeployInputError, parseDeployReleaseInput, type DeployRelease } from './deploy-release';
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
  /** Hosts that may change version at once (maxUnavailable resolved against the fleet). */
  batchSize: number;
}

/** A count of hosts (`2` or `25%`) against a fleet of `size`: Argo rounds maxUnavailable down. */
export function resolveHostCount(count: number | string, size: number): number {
  return typeof count === 'number' ? count : Math.floor((size * Number(count.slice(0, -1))) / 100);
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
  const { spec: specInput, requestedBy: requestedInput, ...releaseInput } = input as Record<string, unknown>;

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
  const requested = actorName.safeParse(requestedInput);
  if (!requested.success) say(['requestedBy'], requested.error.issues[0]!.message);

  let fleet: string[] = [];
  let batchSize = 0;
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
      const surge =
        typeof spec.canary.maxSurge === 'number' ? spec.canary.maxSurge : Math.ceil((fleet.length * parseInt(spec.canary.maxSurge)) / 100);
      if (surge > 0)
        say(
          ['spec', 'canary', 'maxSurge'],
          `is ${spec.canary.maxSurge}, but surge hosts are not built yet: set maxSurge: 0 and maxUnavailable of 1 or more, so canary hosts are taken from the fleet`,
        );
      batchSize = resolveHostCount(spec.canary.maxUnavailable, fleet.length);
      if (batchSize < 1)
        say(
          ['spec', 'canary', 'maxUnavailable'],
          `is ${spec.canary.maxUnavailable}, which lets no host of ${fleet.length} change version (canary hosts are taken from the fleet: give 1 or more)`,
        );
    }
    if (fleet.length < 2)
      say(
        ['spec', 'fleet'],
        `has ${fleet.length} host${fleet.length === 1 ? '' : 's'} (${fleet.join(', ') || 'none'}); ${spec.blueGreen ? 'blue-green needs at least 2, one active and one preview' : 'a canary taken from the fleet needs at least 2, one to stay stable'}`,
      );
    const previewSize = spec.blueGreen?.previewFleet.size;
    if (previewSize !== undefined && fleet.length >= 2 && previewSize >= fleet.length)
      say(
        ['spec', 'blueGreen', 'previewFleet', 'size'],
        `is ${previewSize}, but the fleet has ${fleet.length} hosts (${fleet.join(', ')}): at least one must stay active while the preview changes`,
      );
  }
  if (problems.length) throw new SpecError('rolloutRelease input', problems, paths);
  return { release: release!, spec: spec!, requestedBy: requested.data!, fleet, batchSize };
}
