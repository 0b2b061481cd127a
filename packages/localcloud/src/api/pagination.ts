// DigitalOcean list pagination: `page` and `per_page` (default 20, at most 200), with
// `links.pages` (first, prev, next, last) and `meta.total`.
import { badRequest } from './errors';

export interface Page<T> {
  items: T[];
  links: { pages?: Record<string, string> };
  meta: { total: number };
}

export function paginate<T>(all: T[], query: Record<string, string | undefined>, baseUrl: string): Page<T> {
  const perPage = query.per_page === undefined ? 20 : Number(query.per_page);
  const page = query.page === undefined ? 1 : Number(query.page);
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200) throw badRequest('per_page must be an integer from 1 to 200');
  if (!Number.isInteger(page) || page < 1) throw badRequest('page must be a positive integer');
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const url = (n: number) => {
    const u = new URL(baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && k !== 'page') u.searchParams.set(k, v);
    u.searchParams.set('page', String(n));
    return u.toString();
  };
  const pages: Record<string, string> = {};
  if (page > 1) {
    pages.first = url(1);
    pages.prev = url(Math.min(page - 1, lastPage));
  }
  if (page < lastPage) {
    pages.next = url(page + 1);
    pages.last = url(lastPage);
  }
  return {
    items: all.slice((page - 1) * perPage, page * perPage),
    links: Object.keys(pages).length ? { pages } : {},
    meta: { total: all.length },
  };
}
