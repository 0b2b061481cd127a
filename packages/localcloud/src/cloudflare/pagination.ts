// Cloudflare's page pagination: `page` (from 1) and `per_page`, answered with result_info
// {page, per_page, count, total_count, total_pages}. A page past the end is empty, which is how
// the official library knows to stop.
import { invalid, type ResultInfo } from './envelope';

export interface PageLimits {
  defaultPerPage: number;
  maxPerPage: number;
}

export function cloudflarePage<T>(
  all: T[],
  query: Record<string, string | undefined>,
  limits: PageLimits,
): { items: T[]; info: ResultInfo } {
  const perPage = query.per_page === undefined ? limits.defaultPerPage : Number(query.per_page);
  const page = query.page === undefined ? 1 : Number(query.page);
  const problems: string[] = [];
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > limits.maxPerPage)
    problems.push(`per_page: must be an integer from 1 to ${limits.maxPerPage}`);
  if (!Number.isInteger(page) || page < 1) problems.push('page: must be a positive integer');
  if (problems.length) throw invalid(problems);
  const items = all.slice((page - 1) * perPage, page * perPage);
  return {
    items,
    info: {
      page,
      per_page: perPage,
      count: items.length,
      total_count: all.length,
      total_pages: Math.max(1, Math.ceil(all.length / perPage)),
    },
  };
}

/** The load balancing lists come whole, with result_info describing the one page. */
export function singlePage<T>(all: T[]): { items: T[]; info: ResultInfo } {
  return { items: all, info: { page: 1, per_page: all.length, count: all.length, total_count: all.length, total_pages: 1 } };
}
