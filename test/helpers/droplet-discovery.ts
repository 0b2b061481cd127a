// The environment's droplets as the local cloud's DigitalOcean API lists them, and Prometheus's
// targets made to follow them: what digitalocean_sd_configs does in production (droplets tagged
// with the environment are scraped), so a droplet a rollout makes (surge, preview) is scraped from
// the moment it has an address. Shared by the rollout tests that make droplets.
import type { RolloutStack } from './rollout-stack';

export interface ApiDroplet {
  id: number;
  name: string;
  tags: string[];
  networks: { v4: { ip_address: string; type: string }[] };
}

/** Droplets carrying `tag`, as the API lists them. */
export async function dropletsTagged(stack: RolloutStack, tag: string): Promise<ApiDroplet[]> {
  const url = `${stack.cloud.apiUrl}/v2/droplets?tag_name=${encodeURIComponent(tag)}&per_page=200`;
  const response = await fetch(url, { headers: { Authorization: `Bearer ${stack.cloud.token}` } });
  return ((await response.json()) as { droplets: ApiDroplet[] }).droplets;
}

/** The environment's droplets (by its tag, as service discovery finds them). */
export const environmentDroplets = (stack: RolloutStack, environment: string) => dropletsTagged(stack, `opsflow-env:${environment}`);

export const publicAddress = (d: ApiDroplet) => d.networks.v4.find((n) => n.type === 'public')?.ip_address;

/**
 * Prometheus's targets follow the droplets tagged with the environment (app port on each) until
 * `stop()`. Also counts the droplets at every look, with `state()` (a droplet's state in the
 * rollout's status, say) at that moment.
 */
export function followDroplets(stack: RolloutStack, environment: string, port: number, state?: () => Promise<string | undefined>) {
  const seen: { droplets: number; state?: string }[] = [];
  let running = true;
  let last = '';
  const loop = (async () => {
    while (running) {
      const list = await environmentDroplets(stack, environment).catch(() => undefined);
      if (list) {
        const targets = list
          .map(publicAddress)
          .filter((a): a is string => a !== undefined)
          .map((a) => `${a}:${port}`)
          .sort();
        if (targets.join(' ') !== last) {
          stack.prometheus.setTargets(targets);
          last = targets.join(' ');
        }
        seen.push({ droplets: list.length, state: await state?.().catch(() => undefined) });
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
