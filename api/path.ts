/**
 * The request target, read as sent (RFC 9112 §3.2): the path is never
 * normalised (no WHATWG URL parsing, which drops `.` and `..` segments, their
 * %-encoded forms, and reads a leading `//` as an authority), so what routes
 * is exactly what the client wrote, and a path that would only mean something
 * after normalisation is refused.
 */
import { ApiBadPathError } from './errors.js';

/** Scheme and authority of an absolute-form target (RFC 9112 §3.2.2), e.g. `http://sandns`. */
const ABSOLUTE_PREFIX = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;

/**
 * Split a request target into its raw path and its query. Origin-form
 * (`/a/b?q`) and absolute-form (`http://host/a/b?q`) are accepted; the path
 * keeps its %-encoding. Any other form gives a path without its leading
 * "/", which pathSegments refuses.
 */
export function parseTarget(target: string): { path: string; query: URLSearchParams } {
  const withoutHash = target.split('#', 1)[0]!;
  const m = ABSOLUTE_PREFIX.exec(withoutHash);
  const rest = m === null ? withoutHash : withoutHash.slice(m[0].length) || '/';
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  return { path, query: new URLSearchParams(q < 0 ? '' : rest.slice(q + 1)) };
}

/** A segment's %-decoded form for the dot check; undefined when its %-encoding is bad (matchRoute reports that). */
function decodedOrUndefined(seg: string): string | undefined {
  try {
    return decodeURIComponent(seg);
  } catch {
    return undefined;
  }
}

/**
 * The raw (still %-encoded) segments of `path`; `/` alone has none. An empty
 * segment (`//`, a trailing `/`) or a dot segment (`.`, `..`, also as `%2e`,
 * RFC 3986 §2.3, §5.2.4) is refused, ERR_API_BAD_PATH (400): every route
 * names its objects in whole segments, so such a path can only be a mistake
 * (or an attempt to reach another object after someone's normalisation).
 */
export function pathSegments(path: string): string[] {
  if (!path.startsWith('/')) throw new ApiBadPathError(path, 'must start with "/"');
  if (path === '/') return [];
  const segs = path.slice(1).split('/');
  for (const seg of segs) {
    if (seg === '') throw new ApiBadPathError(path, 'has an empty segment ("//" or a trailing "/")');
    const d = decodedOrUndefined(seg);
    if (d === '.' || d === '..') throw new ApiBadPathError(path, `has a dot segment ${JSON.stringify(seg)}`);
  }
  return segs;
}
