/**
 * API routes (L1 over HTTP/JSON): the route table (method + path → handler)
 * and the dispatch. createApi() holds the only catch: a SandnsError keeps its
 * status and {code, message}; anything else is a 500 without a stack (G8).
 */
import { fileLimitOf, HostLimitError, SandnsError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { ApiBadRequestError, ApiMethodNotAllowedError, ApiNotFoundError } from './errors.js';
import type { Body } from './body.js';
import { pathSegments } from './path.js';
import * as h from './handlers.js';
import { sandboxPorts, sandboxStats } from './ports.js';
import type { ApiRequest, ApiResponse, RouteDeps } from './types.js';

/** The sandbox a mutation is serialised on (see createApi). */
type LockOf = (params: Readonly<Record<string, string>>, body: Body) => unknown;
interface Route {
  readonly method: string;
  readonly parts: readonly string[];
  readonly handler: h.Handler;
  readonly lock: LockOf | undefined;
  /** The query parameters the route reads; any other is refused (400), as an unknown body field is. */
  readonly query: readonly string[];
}

function route(method: string, path: string, handler: h.Handler, lock?: LockOf, query: readonly string[] = []): Route {
  return { method, parts: path.split('/').filter(Boolean), handler, lock, query };
}

const bySandboxParam: LockOf = (params) => params.sandbox;
const bySandboxField: LockOf = (_params, body) => body.sandbox;

/** The route table. `:x` segments are parameters (URL-decoded). */
export const ROUTES: readonly Route[] = [
  route('GET', '/healthz', h.health),
  route('GET', '/metrics', h.metrics),
  route('GET', '/cluster', h.cluster),
  route('GET', '/networks', h.listNetworks, undefined, ['filters']),
  route('POST', '/networks', h.createNetwork),
  route('POST', '/networks/prune', h.pruneNetworks, undefined, ['filters']),
  route('GET', '/networks/:network', ({ params, deps }) => h.ok(deps.controller.network(params.network!).info())),
  route('DELETE', '/networks/:network', h.deleteNetwork),
  route('POST', '/networks/:network/connect', h.connect, bySandboxField),
  route('POST', '/networks/:network/disconnect', h.disconnect, bySandboxField),
  route('GET', '/sandboxes', ({ deps }) => h.ok(deps.controller.sandboxes().map((s) => s.info()))),
  route('POST', '/sandboxes', h.createSandbox, (_params, body) => body.name),
  route('GET', '/sandboxes/:sandbox', ({ params, deps }) => h.ok(deps.controller.sandbox(params.sandbox!).info())),
  route('DELETE', '/sandboxes/:sandbox', h.deleteSandbox, bySandboxParam, ['ifEmpty']),
  route('PUT', '/sandboxes/:sandbox/key', h.setKey, bySandboxParam),
  route('DELETE', '/sandboxes/:sandbox/key', h.releaseKey, bySandboxParam, ['netnsPath']),
  route('GET', '/sandboxes/:sandbox/links', h.links),
  route('POST', '/sandboxes/:sandbox/resolve', h.resolve),
  route('GET', '/sandboxes/:sandbox/explain', h.explain, undefined, ['name', 'type']),
  route('GET', '/sandboxes/:sandbox/ports', sandboxPorts),
  route('GET', '/sandboxes/:sandbox/stats', sandboxStats),
  route('GET', '/records', h.records, undefined, ['network']),
];

/** A %-decoded path segment; bad %-encoding (RFC 3986 §2.1) is the client's error, 400 (L8). */
function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw new ApiBadRequestError(`the path segment ${JSON.stringify(seg.slice(0, 80))} is not valid %-encoded UTF-8`);
  }
}

function matchParts(parts: readonly string[], segs: readonly string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, p] of parts.entries()) {
    if (p.startsWith(':')) params[p.slice(1)] = decodeSegment(segs[i]!);
    else if (p !== segs[i]) return undefined;
  }
  return params;
}

/**
 * Find the route of a raw (never normalised) path. HEAD is served wherever GET
 * is (RFC 9110 §9.3.2; node:http sends no body for it). Throws
 * ERR_API_BAD_PATH (path.ts), ERR_API_NOT_FOUND, ERR_API_METHOD_NOT_ALLOWED
 * (its `details.allowed` lists every method of the path, HEAD and OPTIONS
 * included: the Allow field, RFC 9110 §15.5.6).
 */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } {
  const segs = pathSegments(path);
  const allowed: string[] = [];
  const wanted = method === 'HEAD' ? 'GET' : method;
  for (const r of ROUTES) {
    const params = matchParts(r.parts, segs);
    if (params === undefined) continue;
    if (r.method === wanted) return { route: r, params };
    allowed.push(r.method);
  }
  if (allowed.length > 0) throw new ApiMethodNotAllowedError(method, path, [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS']);
  throw new ApiNotFoundError(method, path);
}

/**
 * The pattern of the route `method path` is served by, object names written
 * `:name` (`/networks/:name/connect`); undefined when none is (404, 405, a bad
 * path). A bounded set: the metrics label (R16).
 */
export function routePattern(method: string, path: string): string | undefined {
  try {
    const { route: r } = matchRoute(method, path);
    return `/${r.parts.map((p) => (p.startsWith(':') ? ':name' : p)).join('/')}`;
  } catch {
    return undefined;
  }
}

/** Map any thrown value to a response: typed errors keep their status and {code, message}; others are 500 without a stack. */
export function errorResponse(err: unknown, logger: Logger): ApiResponse {
  const typedStatus = err instanceof SandnsError && err.status >= 400 && err.status <= 599 ? err.status : 500;
  // A step that failed on a file-descriptor limit is the host's (503 with the knob to raise), not a bug of ours.
  const limit = typedStatus === 500 ? fileLimitOf(err) : undefined;
  if (limit !== undefined) {
    const typed = new HostLimitError(limit, err instanceof SandnsError ? err.code : 'ERR_API_INTERNAL', err);
    logger.warn({ err }, `API request refused: ${typed.message}`);
    return { status: typed.status, body: typed.toJSON() };
  }
  // A 405 names the methods the path has (RFC 9110 §15.5.6).
  if (err instanceof ApiMethodNotAllowedError) return { status: 405, body: err.toJSON(), headers: { allow: (err.details!.allowed as string[]).join(', ') } };
  if (err instanceof SandnsError) {
    const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
    // A host limit (503 ERR_HOST_LIMIT) is the environment's, not a fault of ours: a warning.
    if (status >= 500) logger[err.code === 'ERR_HOST_LIMIT' ? 'warn' : 'error']({ err }, 'API request failed');
    return { status, body: err.toJSON() };
  }
  logger.error({ err }, 'unexpected error in API request');
  return { status: 500, body: { code: 'ERR_API_INTERNAL', message: 'internal error in the daemon (see its log)' } };
}

/**
 * The API: one function serving requests. Mutations of one sandbox (create,
 * connect, disconnect, delete) run one after the other, so a disconnect never
 * meets a half-done join (R15); other requests, and mutations of different
 * sandboxes, run concurrently.
 */
export function createApi(deps: RouteDeps): (req: ApiRequest) => Promise<ApiResponse> {
  const tails = new Map<string, Promise<unknown>>();
  const serialised = <T>(key: string | undefined, fn: () => Promise<T>): Promise<T> => {
    if (key === undefined) return fn();
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => tails.get(key) === tail && tails.delete(key));
    return run;
  };
  return async (req) => {
    try {
      const { route: r, params } = matchRoute(req.method, req.path);
      if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))) {
        throw new ApiBadRequestError('the body must be a JSON object');
      }
      for (const name of new Set(req.query.keys())) {
        if (!r.query.includes(name)) {
          throw new ApiBadRequestError(`unknown query parameter ${JSON.stringify(name.slice(0, 80))}: ${r.query.length === 0 ? 'this route takes none' : `this route takes ${r.query.join(', ')}`}`);
        }
      }
      const body = (req.body ?? {}) as Body;
      const key = r.lock?.(params, body);
      const mutates = r.method !== 'GET' && r.handler !== h.resolve;
      return await serialised(typeof key === 'string' ? `sandbox:${key}` : undefined, async () => {
        // While the state cannot be written, a mutation is refused before it changes anything (503, L6).
        if (mutates) deps.controller.assertWritable?.();
        let out: ApiResponse;
        try {
          out = await r.handler({ params, query: req.query, body, deps });
        } catch (err) {
          // An undone failure is on disk too before the answer; the failure itself is the answer.
          if (mutates) await deps.controller.persisted?.().catch(() => undefined);
          throw err;
        }
        // Whatever a mutation changed is on disk before the answer leaves; a failed write is the answer (507, L6).
        if (mutates) await deps.controller.persisted?.();
        return out;
      });
    } catch (err) {
      // OPTIONS (RFC 9110 §9.3.7): no route has it, so it lands here with the path's methods, answered as 204 + Allow.
      if (req.method === 'OPTIONS' && err instanceof ApiMethodNotAllowedError) return { status: 204, headers: { allow: (err.details!.allowed as string[]).join(', ') } };
      return errorResponse(err, deps.logger);
    }
  };
}
