// The load balancer membership backend: for a load balancer that splits evenly among its members
// and has no weights (DigitalOcean's), a weight is applied by which hosts are members
// (membersForWeight). A change adds first, waits until the load balancer has taken the new members
// in (its health check: healthy_threshold passes, one interval apart), and only then removes, then
// waits again before anyone touches a removed host: DigitalOcean's load balancers do not drain, so
// opsflow's wait is the drain (requests in flight, and a change still reaching the load balancer's
// nodes, end on a host still running). Pure: the load balancer's API and the waits are given (in
// the workflow: an activity on the provider's queue and a durable timer), so it runs in workflow
// code and a replay makes the same calls.
import { membersForWeight, type MembershipPlan } from './membership';
import { TrafficWeightsError, type TrafficRouter, type Weights } from './router';

/** What the router needs of the load balancer: its members set to exactly these server ids (idempotent). */
export interface MemberSet {
  setMembers(ids: number[]): Promise<void>;
}

export interface MembershipRouterOptions {
  loadBalancer: MemberSet;
  /** The server id of each host (instance name) that may be a member. */
  ids: Record<string, number>;
  /** Members as they are before the router's first change (read from the load balancer). */
  members: number[];
  /** How long the load balancer takes to put a new member in rotation (its health check). */
  takeInMs: number;
  /** How long opsflow waits after a removal before the removed host may change. */
  drainMs: number;
  wait(ms: number, why: string): Promise<void>;
}

const sameSet = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x) => b.includes(x));

export class LoadBalancerMembershipRouter implements TrafficRouter {
  /** The members opsflow put in place last (the router's own record). */
  members: number[];
  /** The members before the last change, for rollback. */
  previous?: number[];
  /** The plan behind the members now (its effective split and the weight asked). */
  plan?: MembershipPlan & { asked: Weights };
  /** Membership changes applied (each one or two API calls and their waits). */
  changes = 0;
  private stable: string[] = [];
  private canary: string[] = [];

  constructor(private readonly options: MembershipRouterOptions) {
    this.members = [...options.members];
  }

  /** The hosts each version runs on now (hosts in neither are out of rotation). */
  setHosts(stable: readonly string[], canary: readonly string[]): void {
    for (const host of [...stable, ...canary])
      if (this.options.ids[host] === undefined)
        throw new TrafficWeightsError(`${host} has no server id: it is not a load balancer member opsflow knows`);
    this.stable = [...stable];
    this.canary = [...canary];
  }

  async setWeights(weights: Weights): Promise<void> {
    const plan = membersForWeight(this.stable, this.canary, weights);
    await this.moveTo([...plan.stable, ...plan.canary].map((h) => this.options.ids[h]!));
    this.plan = { ...plan, asked: weights };
  }

  /** The split the members give now, counted by version (undefined: no member is a known host). */
  async currentWeights(): Promise<Weights | undefined> {
    return this.weightsOf(this.members);
  }

  async rollback(): Promise<Weights> {
    if (!this.previous) throw new TrafficWeightsError('there is no membership before the last change to roll back to');
    const back = this.previous;
    await this.moveTo(back);
    return this.weightsOf(back) ?? { stable: 100, canary: 0 };
  }

  /** Puts back exactly these members (the membership saved before the rollout's first change). */
  async restore(members: readonly number[]): Promise<void> {
    await this.moveTo([...members]);
    this.plan = undefined;
  }

  /** For the status: "weight by membership: 1 of 4 hosts = 25%, asked 10%". */
  describe(): string | undefined {
    const plan = this.plan;
    if (!plan) return undefined;
    const total = plan.stable.length + plan.canary.length;
    return `weight by membership: ${plan.canary.length} of ${total} host${total === 1 ? '' : 's'} = ${plan.effective.canary}%, asked ${plan.asked.canary}%`;
  }

  /** Adds what is missing, waits for the load balancer to take it in, removes what is too much, waits (the drain). */
  private async moveTo(target: number[]): Promise<void> {
    const before = this.members;
    if (sameSet(before, target)) return;
    const adding = target.filter((id) => !before.includes(id));
    const removing = before.filter((id) => !target.includes(id));
    this.previous = before;
    this.changes++;
    if (adding.length) {
      const union = [...before, ...adding];
      await this.options.loadBalancer.setMembers(union);
      this.members = union;
      await this.options.wait(this.options.takeInMs, `the load balancer takes in ${this.names(adding)}`);
    }
    if (removing.length) {
      await this.options.loadBalancer.setMembers(target);
      this.members = target;
      await this.options.wait(this.options.drainMs, `drain ${this.names(removing)} (the load balancer does not)`);
    }
    this.members = target;
  }

  private names(ids: readonly number[]): string {
    return ids.map((id) => Object.keys(this.options.ids).find((h) => this.options.ids[h] === id) ?? `server ${id}`).join(', ');
  }

  private weightsOf(members: readonly number[]): Weights | undefined {
    const ids = (hosts: readonly string[]) => hosts.map((h) => this.options.ids[h]!);
    const canary = members.filter((id) => ids(this.canary).includes(id)).length;
    const stable = members.filter((id) => ids(this.stable).includes(id)).length;
    if (canary + stable === 0) return undefined;
    const share = Math.round((100 * canary) / (canary + stable));
    return { stable: 100 - share, canary: share };
  }
}

/** What the membership backend reads of the load balancer (the provider seam's LoadBalancerState, in part). */
export interface LoadBalancerView {
  name: string;
  status: string;
  tag?: string;
  members: { id: number; name: string; publicIp: string; privateIp: string }[];
  forwarding: { entryPort: number; targetPort: number }[];
  healthCheck: { intervalSeconds: number; healthyThreshold: number };
}

/**
 * The server id of each fleet host (matched by address), or every reason membership weighting
 * cannot work on this load balancer: it selects by tag, is not active, leaves out a fleet host,
 * sends to a droplet outside the fleet (its traffic could be counted as neither version), or
 * forwards to no rule's target port the fleet answers on.
 */
export function fleetMembership(
  lb: LoadBalancerView,
  fleet: readonly { instance: string; host: string }[],
  port: number,
): { ids: Record<string, number>; problems: string[] } {
  const problems: string[] = [];
  const ids: Record<string, number> = {};
  if (lb.tag)
    problems.push(
      `load balancer ${lb.name} selects its droplets by tag ${lb.tag}: membership weighting adds and removes droplets by id; give it droplet_ids instead`,
    );
  if (lb.status !== 'active') problems.push(`load balancer ${lb.name} is ${lb.status}, not active`);
  const listed = lb.members.map((m) => `${m.name || `droplet ${m.id}`} (${m.publicIp || 'no address'})`).join(', ') || 'none';
  for (const host of fleet) {
    const member = lb.members.find((m) => m.publicIp === host.host || m.privateIp === host.host);
    if (member) ids[host.instance] = member.id;
    else problems.push(`fleet host ${host.instance} (${host.host}) is not in load balancer ${lb.name} (its droplets: ${listed})`);
  }
  for (const member of lb.members)
    if (!Object.values(ids).includes(member.id))
      problems.push(
        `load balancer ${lb.name} also sends to ${member.name || `droplet ${member.id}`} (${member.publicIp || 'no address'}), which is not in the fleet: its share could be counted as neither version`,
      );
  if (!lb.forwarding.some((r) => r.targetPort === port))
    problems.push(
      `load balancer ${lb.name} forwards to port${lb.forwarding.length === 1 ? '' : 's'} ${lb.forwarding.map((r) => r.targetPort).join(', ') || 'none'}, not the fleet's port ${port}`,
    );
  return { ids, problems };
}

/** How long the load balancer takes to put a new member in rotation: healthy_threshold checks, plus one interval for the first. */
export function takeInMs(lb: LoadBalancerView): number {
  return (lb.healthCheck.healthyThreshold + 1) * lb.healthCheck.intervalSeconds * 1000;
}
