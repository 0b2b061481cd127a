// The request path, normalized once: every check (credentials, rate limit, request log, faults)
// and the router see the same path. Segments are percent-decoded, dot segments resolved and empty
// segments dropped; what cannot be read one way only (an encoded `/` or `\`, control characters,
// broken escapes, climbing above the root) is refused with 400 instead of being guessed at.

export type RequestTarget =
  | {
      ok: true;
      /** Decoded path, `/`-joined: what the checks look at. */
      path: string;
      /** Raw query string, without the `?`; '' when none. */
      query: string;
      /** The path re-encoded segment by segment, plus the query: what the router is given. */
      routeUrl: string;
    }
  | { ok: false; reason: string };

const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// A segment that decodes to a separator or a control character would read differently to another parser.
const ambiguous = (segment: string) =>
  /[/\\]/.test(segment) || [...segment].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export function normalizeTarget(raw: string): RequestTarget {
  if (!raw.startsWith('/')) return { ok: false, reason: 'the request target must be a path starting with /' };
  const queryAt = raw.indexOf('?');
  const rawPath = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = queryAt === -1 ? '' : raw.slice(queryAt + 1);
  if (rawPath.includes('#') || rawPath.includes('\\')) return { ok: false, reason: 'the request path may not contain # or \\' };
  const segments: string[] = [];
  for (const encoded of rawPath.split('/')) {
    if (BROKEN_ESCAPE.test(encoded)) return { ok: false, reason: 'the request path has a malformed percent-encoding' };
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      return { ok: false, reason: 'the request path does not decode to UTF-8' };
    }
    if (ambiguous(segment)) return { ok: false, reason: 'the request path encodes a separator or control character' };
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.pop() === undefined) return { ok: false, reason: 'the request path climbs above the root' };
      continue;
    }
    segments.push(segment);
  }
  const routePath = '/' + segments.map(encodeURIComponent).join('/');
  return { ok: true, path: '/' + segments.join('/'), query, routeUrl: query ? `${routePath}?${query}` : routePath };
}

/** The control API's area, whatever the case or encoding it was reached with. */
export function isControlPath(path: string): boolean {
  return path.split('/')[1]?.toLowerCase() === '_localcloud';
}
