// Where a rollout's traffic split is applied. Each backend (nginx upstream weights, load balancer
// membership, later a Kubernetes ingress) implements this; the rollout workflow only calls it
// through activities, so a backend can change without touching workflow histories.

/** Percent of requests to each version; they sum to 100. */
export interface Weights {
  stable: number;
  canary: number;
}

export interface TrafficRouter {
  /** Applies the split; applying the split already in place changes nothing (safe to retry). */
  setWeights(weights: Weights): Promise<void>;
  /** The split in place now, as the backend itself records it (undefined: never set by opsflow). */
  currentWeights(): Promise<Weights | undefined>;
  /** Puts back the split that was in place before the last change; returns it. */
  rollback(): Promise<Weights>;
}

export class TrafficWeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrafficWeightsError';
  }
}

export function checkWeights(weights: Weights): Weights {
  const { stable, canary } = weights;
  for (const [side, value] of [
    ['stable', stable],
    ['canary', canary],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 100)
      throw new TrafficWeightsError(`the ${side} weight must be a whole percent from 0 to 100, got ${JSON.stringify(value)}`);
  }
  if (stable + canary !== 100)
    throw new TrafficWeightsError(`weights must add up to 100, got stable ${stable} + canary ${canary} = ${stable + canary}`);
  return { stable, canary };
}
