// Cloudflare activities of a two-site stack: ensure the site-per-pool load balancer, read the
// pools' health, set the traffic split (idempotent: the same split writes nothing). The token is a
// secret reference, resolved here on the worker at each call; only the reference is in history.
import type Cloudflare from 'cloudflare';
import { secretResolver, type SecretResolver } from '../../backups/secrets';
import { cloudflareClient, type CloudflareConnection } from '../../integrations/cloudflare/connection';
import {
  ensureSiteLoadBalancer as ensure,
  readPoolHealth as readHealth,
  writeTrafficSplit,
  type EnsuredLoadBalancer,
  type LoadBalancerRef,
  type SiteHealth,
  type SiteLoadBalancerSpec,
} from '../../integrations/cloudflare/load-balancing';
import { describeSplit, splitProblem, type TrafficSplit } from '../../integrations/cloudflare/split';
import { failure, STEP_FAILURE } from '../../workflows/shared/failures';

export interface CloudflareDeps {
  /** Resolves `apiToken` references (default: the worker's environment and secrets folder). */
  resolveSecret?: SecretResolver | ((ref: string) => string | Promise<string>);
}

export interface EnsureSiteLoadBalancerInput extends SiteLoadBalancerSpec {
  cloudflare: CloudflareConnection;
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

const refused = (message: string) => failure(STEP_FAILURE.CloudflareRefused, message);

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

    async readPoolHealth(input: ReadPoolHealthInput): Promise<Record<string, SiteHealth>> {
      return readHealth(await client(input.cloudflare), input.loadBalancer);
    },

    async setTrafficSplit(input: SetTrafficSplitInput): Promise<SetTrafficSplitResult> {
      const problem = splitProblem(input.split, Object.keys(input.loadBalancer.pools));
      if (problem) throw refused(`split ${describeSplit(input.split)}: ${problem}`);
      const { changed, previous } = await writeTrafficSplit(await client(input.cloudflare), input.loadBalancer, input.split);
      return { changed, previous, split: input.split };
    },
  };
}

export type CloudflareActivities = ReturnType<typeof createCloudflareActivities>;
