// Weighting by membership, for a load balancer that splits evenly among its members and has no
// weights (DigitalOcean's): the canary's share is the fraction of members that run it. Pure: which
// members for a weight, and what the status must say about the weight really given.
import { checkWeights, TrafficWeightsError, type Weights } from './router';

export interface MembershipPlan {
  /** Stable hosts to keep as members. */
  stable: string[];
  /** Canary hosts to add as members. */
  canary: string[];
  /** The split members really give (each member gets an equal share). */
  effective: Weights;
  /** For the status: the weight asked, the weight given, and why they differ. */
  status: string;
}

/**
 * The members closest to `weights`: at least one canary member when the canary weight is above 0
 * (a canary with no traffic cannot be judged), at least one stable member below 100, and among
 * equally close splits the one with the most members (more capacity). Hosts are taken in order.
 */
export function membersForWeight(stableHosts: readonly string[], canaryHosts: readonly string[], weights: Weights): MembershipPlan {
  const { canary } = checkWeights(weights);
  if (canary > 0 && canaryHosts.length === 0) throw new TrafficWeightsError(`canary weight ${canary} but no canary host`);
  if (canary < 100 && stableHosts.length === 0) throw new TrafficWeightsError(`stable weight ${100 - canary} but no stable host`);
  let best: { s: number; c: number; error: number } | undefined;
  const cRange = canary === 0 ? [0] : Array.from({ length: canaryHosts.length }, (_, i) => i + 1);
  const sRange = canary === 100 ? [0] : Array.from({ length: stableHosts.length }, (_, i) => i + 1);
  for (const c of cRange) {
    for (const s of sRange) {
      const error = Math.abs((100 * c) / (c + s) - canary);
      if (!best || error < best.error - 1e-9 || (Math.abs(error - best.error) <= 1e-9 && c + s > best.s + best.c)) best = { s, c, error };
    }
  }
  const { s, c } = best!;
  const effectiveCanary = Math.round((100 * c) / (c + s));
  const effective = { stable: 100 - effectiveCanary, canary: effectiveCanary };
  const exact = (100 * c) / (c + s) === canary;
  const status =
    `weight ${canary}% asked; the load balancer has no weights, so ${c} of ${c + s} members run the canary` +
    (exact
      ? ` (${effectiveCanary}%)`
      : ` (about ${effectiveCanary}%, the closest ${stableHosts.length} stable and ${canaryHosts.length} canary hosts allow)`);
  return { stable: stableHosts.slice(0, s), canary: canaryHosts.slice(0, c), effective, status };
}
