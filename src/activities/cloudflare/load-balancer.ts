// Cloudflare activities of a two-site stack: ensure the site-per-pool load balancer, read the
// pools' health, set the traffic split (idempotent: the same split writes nothing). The token is a
// secret reference, resolved here on the worker at each call; only the reference is in history.
import type Cloudflare from 'cloudflare';
import { secretResolver, type SecretResolver } from '../../backups/secrets';
import { cloudflareClient, type CloudflareConnection } from '../../integrations/cloudflare/connection';
import {
  ensureSiteLoadBalancer as ensure,
  readPoolHealth as readHealth,
  removeSiteLoadBalancer as remove,
  writeTrafficSplit,
  type EnsuredLoadBalancer,
  type LoadBalancerRef,
  type RemovedLoadBalancer,
  type SiteHealth,
  type SiteLoadBalancerSpec,
  type SiteOrigin,
} from '../../integrations/cloudflare/load-balancing';
import { addPoolOrigins, removePoolOrigins, type PoolOriginsChange } from '../../integrations/cloudflare/pool-origins';
import { describeSplit, splitProblem, type TrafficSplit } from '../../integrations/cloudflare/split';
import type { ObserverView } from '../../workflows/failover/assessment';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export interface CloudflareDeps {
  /** Resolves `apiToken` references (default: the worker's environment and secrets folder). */
  resolveSecret?: SecretResolver | ((ref: string) => string | Promise<string>);
}

export interface EnsureSiteLoadBalancerInput extends SiteLoadBalancerSpec {
  cloudflare: CloudflareConnection;
}
export interface RemoveSiteLoadBalancerInput {
  cloudflare: CloudflareConnection;
  zone: string;
  hostname: string;
  sites: string[];
}
export interface ReadPoolHealthInput {
  cloudflare: CloudflareConnection;
  loadBalancer: LoadBalancerRef;
}
export interface SetTrafficSplitInput {
  cloudflare: CloudflareConnection;
  loadBalancer: LoadBalancerRef;
  split: TrafficSplit;
}
export interface SetTrafficSplitResult {
  /** False when the load balancer already had this split: nothing was written. */
  changed: boolean;
  previous: TrafficSplit;
  split: TrafficSplit;
}

/** Origins of one site's pool, added or removed by name (a scaled survivor's new app servers). */
export interface PoolOriginsInput {
  cloudflare: CloudflareConnection;
  loadBalancer: LoadBalancerRef;
  site: string;
  origins: SiteOrigin[];
}

export interface ObservePoolHealthInput extends ReadPoolHealthInput {
  /** The site whose pool is judged. */
  site: string;
}
export interface PoolHealthObserverView extends ObserverView {
  observer: 'cloudflare pool health';
  health?: SiteHealth;
}

const refused = (message: string) => failure(STEP_FAILURE.CloudflareRefused, message);

/** Reasons an origin is not healthy that are not a monitor's observation of it. */
const NOT_OBSERVED = new Set(['Origin disabled', 'Not yet checked', 'No monitor']);

export function createCloudflareActivities(deps: CloudflareDeps = {}) {
  const resolve = deps.resolveSecret ?? secretResolver(process.env);
  const client = async (connection: CloudflareConnection): Promise<Cloudflare> => {
    const token = await Promise.resolve()
      .then(() => resolve(connection.apiToken))
      .catch((error: unknown) => {
        throw failure(STEP_FAILURE.SecretUnavailable, `cloudflare.apiToken: ${error instanceof Error ? error.message : String(error)}`);
      });
    return cloudflareClient(connection.apiUrl, token);
  };

  return {
    async ensureSiteLoadBalancer(input: EnsureSiteLoadBalancerInput): Promise<EnsuredLoadBalancer> {
      const sites = input.sites.map((s) => s.name);
      if (sites.length < 2) throw refused(`sites: a site-per-pool load balancer needs two sites or more, not ${sites.length}`);
      if (new Set(sites).size !== sites.length) throw refused(`sites: ${sites.join(', ')} names a site twice`);
      const problem = splitProblem(input.initialSplit, sites);
      if (problem) throw refused(`initialSplit: ${problem}`);
      if (input.fallbackSite !== undefined && !sites.includes(input.fallbackSite))
        throw refused(`fallbackSite: ${input.fallbackSite} is not one of ${sites.join(', ')}`);
      const { cloudflare, ...spec } = input;
      return ensure(await client(cloudflare), spec);
    },

    /** The load balancer, pools and monitor ensureSiteLoadBalancer made for the hostname, deleted (the undo of a stack's provisioning). */
    async removeSiteLoadBalancer(input: RemoveSiteLoadBalancerInput): Promise<RemovedLoadBalancer> {
      const { cloudflare, ...spec } = input;
      return remove(await client(cloudflare), spec);
    },

    async readPoolHealth(input: ReadPoolHealthInput): Promise<Record<string, SiteHealth>> {
      return readHealth(await client(input.cloudflare), input.loadBalancer);
    },

    /**
     * Cloudflare's view of one site, one of the failover assessment's observers: up when its pool
     * is healthy; down when it is not and its monitors failed on its origins; otherwise (origins
     * disabled by hand, never checked, no health reported) it cannot tell.
     */
    async observePoolHealth(input: ObservePoolHealthInput): Promise<PoolHealthObserverView> {
      const poolId = input.loadBalancer.pools[input.site];
      if (!poolId)
        throw refused(`site: ${input.site} has no pool in the load balancer (${Object.keys(input.loadBalancer.pools).join(', ')})`);
      const health = (await readHealth(await client(input.cloudflare), { ...input.loadBalancer, pools: { [input.site]: poolId } }))[
        input.site
      ]!;
      const view = (verdict: ObserverView['verdict'], saw: string): PoolHealthObserverView => ({
        observer: 'cloudflare pool health',
        verdict,
        saw,
        health,
      });
      const origins = health.origins.map((o) => `${o.name} ${o.healthy ? 'healthy' : (o.reason ?? 'unhealthy')}`).join(', ');
      if (health.healthy) return view('up', `pool ${input.site} healthy (${origins})`);
      const failedChecks = health.origins.filter((o) => !o.healthy && o.reason && !NOT_OBSERVED.has(o.reason));
      if (failedChecks.length) return view('down', `pool ${input.site} unhealthy: ${origins}`);
      return view('cannot tell', `pool ${input.site} not healthy, but no monitor saw an origin fail (${origins || 'no origins'})`);
    },

    async setTrafficSplit(input: SetTrafficSplitInput): Promise<SetTrafficSplitResult> {
      const problem = splitProblem(input.split, Object.keys(input.loadBalancer.pools));
      if (problem) throw refused(`split ${describeSplit(input.split)}: ${problem}`);
      const { changed, previous } = await writeTrafficSplit(await client(input.cloudflare), input.loadBalancer, input.split);
      return { changed, previous, split: input.split };
    },

    /** Each origin not yet in the site's pool added (by name); the same call again writes nothing. */
    async addPoolOrigins(input: PoolOriginsInput): Promise<PoolOriginsChange> {
      return addPoolOrigins(await client(input.cloudflare), input.loadBalancer, input.site, input.origins);
    },

    /** The named origins taken out of the site's pool; ones already gone are left so. */
    async removePoolOrigins(input: PoolOriginsInput): Promise<PoolOriginsChange> {
      const names = input.origins.map((o) => o.name);
      return removePoolOrigins(await client(input.cloudflare), input.loadBalancer, input.site, names);
    },
  };
}

export type CloudflareActivities = ReturnType<typeof createCloudflareActivities>;
