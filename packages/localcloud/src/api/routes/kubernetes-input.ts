// What a DOKS request may ask for, checked before anything starts: names, sizes, counts, labels,
// taints, subnets. Each refusal names the field and the problem.
import { findSize } from '../../catalog';
import type { KubernetesNodePool, Taint } from '../../kubernetes/doks-state';
import { parseCidr } from '../cidr';
import { unprocessable } from '../errors';
import { requireString, tagNames, uuid } from '../route-helpers';

/** The one Kubernetes version the local cloud runs (scripts/kube-plane.sh builds it). */
export const KUBERNETES_VERSION = '1.34.3';
export const VERSION_SLUG = `${KUBERNETES_VERSION}-do.0`;
/** Nodes are simulated (kwok) and cheap, but a pool is still bounded, as DigitalOcean's are. */
export const MAX_NODES_PER_POOL = 100;

const NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function resourceName(value: unknown, field: string): string {
  const name = requireString(value, field);
  if (!NAME.test(name)) {
    throw unprocessable(
      `${field} ${JSON.stringify(name)} must be 1-63 lowercase letters, digits, dots or dashes, starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function version(value: unknown): string {
  if (value === 'latest' || value === VERSION_SLUG || value === KUBERNETES_VERSION || value === '1.34') return VERSION_SLUG;
  throw unprocessable(`version ${JSON.stringify(value)} is not offered; valid versions: ${VERSION_SLUG} (or latest)`);
}

export function subnet(value: unknown, field: string, fallback: string): string {
  if (value === undefined || value === null || value === '') return fallback;
  const text = requireString(value, field);
  const cidr = parseCidr(text);
  if (!cidr || cidr.prefix > 24) throw unprocessable(`${field} ${text} is not an IPv4 CIDR network of /24 or larger (like ${fallback})`);
  return text;
}

function count(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_NODES_PER_POOL) {
    throw unprocessable(`${field} must be an integer from ${min} to ${MAX_NODES_PER_POOL}`);
  }
  return value;
}

function labels(value: unknown, field: string): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw unprocessable(`${field} must be an object of string values`);
  }
  return value as Record<string, string>;
}

function taints(value: unknown, field: string): Taint[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw unprocessable(`${field} must be an array`);
  return value.map((t: Record<string, unknown>, i) => {
    const key = requireString(t?.key, `${field}[${i}].key`);
    const effect = t?.effect;
    if (typeof effect !== 'string' || !TAINT_EFFECTS.includes(effect)) {
      throw unprocessable(`${field}[${i}].effect must be one of ${TAINT_EFFECTS.join(', ')}`);
    }
    return { key, value: typeof t.value === 'string' ? t.value : '', effect: effect as Taint['effect'] };
  });
}

/** A pool from a create request (alone, or inside a cluster's node_pools[i]); nodes are added by the caller. */
export function newPool(input: Record<string, unknown>, field: string): KubernetesNodePool {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw unprocessable(`${field} must be an object`);
  const size = requireString(input.size, `${field}.size`);
  if (!findSize(size)) throw unprocessable(`${field}.size ${size} is not a valid size`);
  const pool: KubernetesNodePool = {
    id: uuid(),
    name: resourceName(input.name, `${field}.name`),
    size,
    count: count(input.count, `${field}.count`, 1),
    tags: tagNames(input.tags),
    labels: labels(input.labels, `${field}.labels`),
    taints: taints(input.taints, `${field}.taints`),
    auto_scale: input.auto_scale === true,
    min_nodes: 0,
    max_nodes: 0,
    nodes: [],
  };
  applyAutoScale(pool, input, field);
  return pool;
}

/** The updatable fields of a pool (PUT): name and count required, as DigitalOcean's spec says. */
export function updatePool(pool: KubernetesNodePool, input: Record<string, unknown>, field: string): void {
  pool.name = resourceName(input.name, `${field}.name`);
  pool.count = count(input.count, `${field}.count`, 0);
  if (input.tags !== undefined) pool.tags = tagNames(input.tags);
  if (input.labels !== undefined) pool.labels = labels(input.labels, `${field}.labels`);
  if (input.taints !== undefined) pool.taints = taints(input.taints, `${field}.taints`);
  if (input.auto_scale !== undefined) pool.auto_scale = input.auto_scale === true;
  applyAutoScale(pool, input, field);
}

function applyAutoScale(pool: KubernetesNodePool, input: Record<string, unknown>, field: string): void {
  if (!pool.auto_scale) return;
  pool.min_nodes = count(input.min_nodes ?? pool.min_nodes, `${field}.min_nodes`, 0);
  pool.max_nodes = count(input.max_nodes ?? pool.max_nodes, `${field}.max_nodes`, 1);
  if (pool.min_nodes > pool.max_nodes) throw unprocessable(`${field}.min_nodes must not exceed ${field}.max_nodes`);
  if (pool.count < pool.min_nodes || pool.count > pool.max_nodes) {
    throw unprocessable(`${field}.count ${pool.count} must be within min_nodes ${pool.min_nodes} and max_nodes ${pool.max_nodes}`);
  }
}
