// Small things every Linode route shares: timestamps as Linode writes them, the request body, ids.
import type { FastifyRequest } from 'fastify';
import { linodeBadRequest, linodeNotFound } from './errors';

/** Linode's timestamps: UTC, whole seconds, no zone suffix ("2018-01-01T00:01:01"). */
export const linodeTimestamp = (date = new Date()) => date.toISOString().slice(0, 19);

export function requestBody(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw linodeBadRequest('The request body must be a JSON object');
  return b as Record<string, unknown>;
}

/** A numeric path id; anything else names nothing there is. */
export function idParam(request: FastifyRequest, name: string): number {
  const value = Number((request.params as Record<string, string>)[name]);
  if (!Number.isInteger(value) || value <= 0) throw linodeNotFound();
  return value;
}
