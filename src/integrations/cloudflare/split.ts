// Traffic splits in opsflow's words (whole percentages per site, summing to 100) and in
// Cloudflare's (random steering pool weights from 0 to 1, by pool id). Pure: workflows use it too.

/** Percent of requests per site, e.g. { fra1: 50, london: 50 }. */
export type TrafficSplit = Record<string, number>;

/** Why a split is not one, or undefined when it is: whole percentages from 0 to 100 summing to 100. */
export function splitProblem(split: TrafficSplit, sites: readonly string[]): string | undefined {
  const named = Object.keys(split);
  const unknown = named.filter((s) => !sites.includes(s));
  if (unknown.length) return `unknown site(s) ${unknown.join(', ')}; the sites are ${sites.join(', ')}`;
  const missing = sites.filter((s) => !(s in split));
  if (missing.length) return `no share given for ${missing.join(', ')}`;
  for (const [site, percent] of Object.entries(split))
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) return `${site}: ${percent} is not a whole percentage from 0 to 100`;
  const total = Object.values(split).reduce((a, b) => a + b, 0);
  if (total !== 100) return `the shares add up to ${total}, not 100`;
  return undefined;
}

/** Cloudflare's pool weights for a split. */
export function poolWeights(split: TrafficSplit, pools: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(split).map(([site, percent]) => [pools[site]!, percent / 100]));
}

/** The split a load balancer's pool weights make (a pool it does not weigh gets the default weight). */
export function splitOf(weights: Record<string, number>, pools: Record<string, string>, defaultWeight = 1): TrafficSplit {
  const raw = Object.entries(pools).map(([site, id]) => [site, weights[id] ?? defaultWeight] as const);
  const total = raw.reduce((a, [, w]) => a + w, 0);
  return Object.fromEntries(raw.map(([site, w]) => [site, total === 0 ? 0 : Math.round((w / total) * 100)]));
}

/**
 * The pool the edge falls back to when no weighted pool is healthy, for these pool weights: the one
 * with the largest weight, the first in `order` (the load balancer's default pools) on a tie. After
 * 0/100 it is the survivor's, never the emptied site's; back at 50/50 it is the first site's again,
 * where a load balancer starts. Undefined when no pool has weight.
 */
export function fallbackPoolFor(weights: Record<string, number>, order: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const id of order) if ((weights[id] ?? 0) > (best === undefined ? 0 : (weights[best] ?? 0))) best = id;
  return best;
}

/** Whether the load balancer's weights already make this split (the same split writes nothing). */
export function weightsMatch(current: Record<string, number>, wanted: Record<string, number>): boolean {
  return Object.entries(wanted).every(([id, w]) => Math.abs((current[id] ?? Number.NaN) - w) < 1e-9);
}

export function describeSplit(split: TrafficSplit): string {
  return Object.entries(split)
    .map(([site, p]) => `${site} ${p}%`)
    .join(' / ');
}
