// The nginx upstream block that splits traffic between the stable and canary servers. Pure: the
// same weights and servers always give the same text. nginx's weighted round robin is smooth and
// exact per cycle (9:1 sends exactly 9 of every 10 requests to stable), so the weights are reduced
// to their smallest whole ratio. Everything placed in the file is checked against a strict pattern
// first: the file is configuration nginx executes, never a place for pasted input.
import { checkWeights, TrafficWeightsError, type Weights } from './router';

export interface UpstreamLayout {
  /** The upstream's name, as the server block's proxy_pass names it. */
  upstream: string;
  /** host:port of each stable server. */
  stable: string[];
  /** host:port of each canary server. */
  canary: string[];
}

const UPSTREAM_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
// An IPv4 address or DNS name, then a port: nothing nginx would read as more than a server address.
const SERVER = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*):(\d{1,5})$/;
const MARKER = '# opsflow-weights ';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function checkLayout(layout: UpstreamLayout): void {
  if (!UPSTREAM_NAME.test(layout.upstream))
    throw new TrafficWeightsError(`upstream name ${JSON.stringify(layout.upstream)} must be lowercase letters, digits, "_" and "-"`);
  const seen = new Set<string>();
  for (const server of [...layout.stable, ...layout.canary]) {
    const match = SERVER.exec(server);
    if (!match || Number(match[1]) < 1 || Number(match[1]) > 65535)
      throw new TrafficWeightsError(`server ${JSON.stringify(server)} must be host:port (an IPv4 address or DNS name, a port 1-65535)`);
    if (seen.has(server)) throw new TrafficWeightsError(`server ${server} is listed twice (a host is stable or canary, not both)`);
    seen.add(server);
  }
}

/** The upstream file for `weights` (the marker line records them for currentWeights). */
export function renderUpstream(layout: UpstreamLayout, weights: Weights): string {
  checkLayout(layout);
  const { stable, canary } = checkWeights(weights);
  if (stable > 0 && layout.stable.length === 0) throw new TrafficWeightsError(`stable weight ${stable} but no stable server`);
  if (canary > 0 && layout.canary.length === 0) throw new TrafficWeightsError(`canary weight ${canary} but no canary server`);
  // Each side's share spread evenly over its servers: per-server weights stable*c and canary*s keep
  // the sides' totals in the ratio stable:canary; then the smallest whole ratio.
  const s = layout.stable.length;
  const c = layout.canary.length;
  const perStable = stable * Math.max(c, 1);
  const perCanary = canary * Math.max(s, 1);
  const divisor = [perStable, perCanary].filter((w) => w > 0).reduce(gcd);
  const lines = [
    `${MARKER}${JSON.stringify({ stable, canary })}`,
    '# Written by opsflow; the previous split is kept beside it as <this file>.previous.',
    `upstream ${layout.upstream} {`,
    ...layout.stable.map((server) => (stable > 0 ? `    server ${server} weight=${perStable / divisor};` : `    server ${server} down;`)),
    ...layout.canary.map((server) => (canary > 0 ? `    server ${server} weight=${perCanary / divisor};` : `    server ${server} down;`)),
    '}',
    '',
  ];
  return lines.join('\n');
}

/** The weights a file written by renderUpstream records (undefined for any other file). */
export function weightsInUpstream(text: string): Weights | undefined {
  const line = text.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) return undefined;
  try {
    return checkWeights(JSON.parse(line.slice(MARKER.length)) as Weights);
  } catch {
    return undefined;
  }
}

/**
 * The servers `upstream` sends traffic to in an upstream file (opsflow's or one written by hand):
 * every `server address:port ...;` in its block, except those marked `down` or `backup`. A
 * blue-green rollout reads it to tell the active fleet from the one out of rotation.
 */
export function serversInRotation(text: string, upstream: string): string[] {
  if (!UPSTREAM_NAME.test(upstream))
    throw new TrafficWeightsError(`upstream name ${JSON.stringify(upstream)} must be lowercase letters, digits, "_" and "-"`);
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\s*upstream\\s+${upstream}\\s*\\{`).test(l));
  if (start < 0) return [];
  const servers: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*\}/.test(line)) break;
    const match = /^\s*server\s+([^\s;]+)([^;]*);/.exec(line);
    if (match && !/\b(down|backup)\b/.test(match[2]!)) servers.push(match[1]!);
  }
  return servers;
}
