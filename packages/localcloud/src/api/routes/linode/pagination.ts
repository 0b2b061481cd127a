// Linode's pages: `page` (from 1) and `page_size` (25 to 500, default 100) in the query; the answer
// is {data, page, pages, results}. X-Filter narrows the list first, by plain field equality (an
// array field such as `tags` matches when it contains the value), the part of Linode's filter
// language opsflow uses.
import type { ResourcePage } from '@linode/api-v4';
import type { FastifyRequest } from 'fastify';
import { linodeBadRequest } from './errors';

const PAGE_SIZE = { min: 25, max: 500, default: 100 };

export function linodePage<T>(request: FastifyRequest, all: T[]): ResourcePage<T> {
  const query = request.query as Record<string, string | undefined>;
  const page = query.page === undefined ? 1 : Number(query.page);
  const pageSize = query.page_size === undefined ? PAGE_SIZE.default : Number(query.page_size);
  if (!Number.isInteger(page) || page < 1) throw linodeBadRequest('Must be a positive integer', 'page');
  if (!Number.isInteger(pageSize) || pageSize < PAGE_SIZE.min || pageSize > PAGE_SIZE.max)
    throw linodeBadRequest(`Must be an integer from ${PAGE_SIZE.min} to ${PAGE_SIZE.max}`, 'page_size');
  const items = filtered(all, request.headers['x-filter']);
  return {
    data: items.slice((page - 1) * pageSize, page * pageSize),
    page,
    pages: Math.max(1, Math.ceil(items.length / pageSize)),
    results: items.length,
  };
}

function filtered<T>(items: T[], header: string | string[] | undefined): T[] {
  if (header === undefined || header === '') return items;
  let filter: unknown;
  try {
    filter = JSON.parse(Array.isArray(header) ? (header[0] as string) : header);
  } catch {
    throw linodeBadRequest('X-Filter is not valid JSON', 'X-Filter');
  }
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter))
    throw linodeBadRequest('X-Filter must be an object', 'X-Filter');
  const conditions = Object.entries(filter as Record<string, unknown>);
  for (const [field, value] of conditions) {
    if (field.startsWith('+')) continue; // ordering keys (+order_by, +order) change nothing here
    if (value !== null && typeof value === 'object')
      throw linodeBadRequest(`Filtering ${field} by an operator is not supported here; use a plain value`, 'X-Filter');
  }
  return items.filter((item) =>
    conditions.every(([field, value]) => {
      if (field.startsWith('+')) return true;
      const actual = (item as Record<string, unknown>)[field];
      return Array.isArray(actual) ? actual.includes(value) : actual === value;
    }),
  );
}
