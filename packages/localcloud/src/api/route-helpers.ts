// Small helpers shared by the API routes.
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { findRegion, type Region } from '../catalog';
import type { CloudContext } from '../context';
import { ApiError, notFound, unprocessable } from './errors';
import { paginate } from './pagination';

export type Query = Record<string, string | undefined>;

export const now = () => new Date().toISOString();
export const uuid = () => randomUUID();

export function query(request: FastifyRequest): Query {
  return request.query as Query;
}

export function body<T = Record<string, unknown>>(request: FastifyRequest): T {
  const b = request.body;
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new ApiError(400, 'bad_request', 'request body must be a JSON object');
  }
  return b as T;
}

export function param(request: FastifyRequest, name: string): string {
  return (request.params as Record<string, string>)[name] as string;
}

export function numericParam(request: FastifyRequest, name: string, what: string): number {
  const value = Number(param(request, name));
  if (!Number.isInteger(value)) throw notFound(what);
  return value;
}

/** A list response: `{ <key>: [...], links, meta }`, paginated. */
export function list<T>(request: FastifyRequest, key: string, items: T[]) {
  const url = `${request.protocol}://${request.headers.host}${request.url}`;
  const page = paginate(items, query(request), url);
  return { [key]: page.items, links: page.links, meta: page.meta };
}

export function requireRegion(ctx: CloudContext, slug: unknown): Region {
  if (typeof slug !== 'string' || !slug) throw unprocessable('region is required');
  const region = findRegion(slug);
  if (!region) throw unprocessable(`region ${slug} is not a valid region`);
  regionUp(ctx, slug);
  return region;
}

/** A dark region's API calls fail the way an outage looks from outside. */
export function regionUp(ctx: CloudContext, slug: string | undefined): void {
  if (ctx.faults.isDark(slug)) throw new ApiError(503, 'service_unavailable', `Region ${slug} is currently unavailable.`);
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw unprocessable(`${field} is required`);
  return value;
}

export function stringArray(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw unprocessable(`${field} must be an array of strings`);
  return value as string[];
}

const TAG_NAME = /^[a-zA-Z0-9_\-:]{1,255}$/;
export function tagNames(value: unknown): string[] {
  const tags = stringArray(value, 'tags');
  for (const tag of tags)
    if (!TAG_NAME.test(tag))
      throw unprocessable(`tag name ${JSON.stringify(tag)} may contain only letters, numbers, colons, dashes and underscores`);
  return tags;
}
