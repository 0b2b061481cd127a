// The emergency assessment's vocabulary and its one rule: a site is declared down only when a
// majority of independent observers see it down (Orchestrator: the replicas must agree; GitHub
// 2018: one vantage point losing sight of a site is a partition, not an outage). Each observer is
// an activity that answers up, down or cannot tell; one that errors, times out or is not
// configured counts as "cannot tell", never as "down". Pure: workflows, activities and clients
// share it.

export type ObserverVerdict = 'up' | 'down' | 'cannot tell';

/** The three independent observers, by where they stand. */
export type ObserverName = 'worker probes' | 'survivor replica' | 'cloudflare pool health';
export const OBSERVERS: readonly ObserverName[] = ['worker probes', 'survivor replica', 'cloudflare pool health'];

export interface ObserverView {
  observer: ObserverName;
  verdict: ObserverVerdict;
  /** What it saw, in one line ("0 of 3 probes healthy: connection refused"). */
  saw: string;
}

export interface SiteAssessment {
  /** `planned`: the site is left on purpose and need not be down; the views are still recorded. */
  mode: 'emergency' | 'planned';
  site: string;
  observers: ObserverView[];
  /** Observers that see the site down. */
  down: number;
  /** Observers needed to declare it down (a majority of all of them, not of those that could tell). */
  needed: number;
  declaredDown: boolean;
}

/** The majority rule over every observer's view. */
export function assessSite(mode: SiteAssessment['mode'], site: string, observers: ObserverView[]): SiteAssessment {
  const down = observers.filter((o) => o.verdict === 'down').length;
  const needed = Math.floor(OBSERVERS.length / 2) + 1;
  return { mode, site, observers, down, needed, declaredDown: down >= needed };
}

/** An observer that could not answer: it cannot tell, whatever went wrong. */
export function cannotTell(observer: ObserverName, why: string): ObserverView {
  return { observer, verdict: 'cannot tell', saw: why };
}

export function describeAssessment(a: SiteAssessment): string {
  return a.observers.map((o) => `${o.observer}: ${o.verdict} (${o.saw})`).join('; ');
}
