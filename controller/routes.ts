/**
 * API routes (L1 over HTTP/JSON): method + path → handler taking the parsed
 * body and the controller, returning {status, body}. Pure: the socket, the
 * `dig` probe, explain() and the metrics text arrive through RouteDeps (G12).
 * createApi() holds the only catch: a SandnsError keeps its status and
 * {code, message}; anything else is a 500 without a stack (G8).
 */
import { InvalidOptionError, SandnsError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { SandboxOptions } from './options.js';
import { EndpointNotFoundError, AlreadyOnNetworkError } from './errors.js';
import { ApiBadRequestError, ApiMethodNotAllowedError, ApiNotFoundError, ApiUnsupportedError } from './routes-errors.js';
import { defined, normalizeQuestion, recordRows } from './routes-records.js';
import type { ApiEndpoint, ApiNetwork, ApiRequest, ApiResponse, ApiSandbox, RouteDeps } from './routes-types.js';

export type * from './routes-types.js';
export * from './routes-errors.js';
export { recordRows, reverseName, normalizeQuestion } from './routes-records.js';

type Body = Record<string, unknown>;
interface Ctx {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: Body;
  readonly deps: RouteDeps;
}
type Handler = (ctx: Ctx) => Promise<ApiResponse> | ApiResponse;
/** The sandbox a mutation is serialised on (see createApi). */
type LockOf = (params: Readonly<Record<string, string>>, body: Body) => unknown;
interface Route {
  readonly method: string;
  readonly parts: readonly string[];
  readonly handler: Handler;
  readonly lock: LockOf | undefined;
}

const ok = (body: unknown, status = 200): ApiResponse => ({ status, body });

// --- body fields: checked once here, deep validation is the controller's (G9) ---

function onlyFields(body: Body, allowed: readonly string[]): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new InvalidOptionError(extra[0]!, `unknown field (known: ${allowed.join(', ')})`);
}

function str(body: Body, key: string, required: true): string;
function str(body: Body, key: string, required?: false): string | undefined;
function str(body: Body, key: string, required = false): string | undefined {
  const v = body[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new InvalidOptionError(key, 'must be a non-empty string');
  return v;
}

function strs(body: Body, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidOptionError(key, 'must be a list of strings');
  return v as string[];
}

function typed<T>(body: Body, key: string, type: 'boolean' | 'number' | 'object'): T | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== type || v === null || (type === 'object' && Array.isArray(v))) throw new InvalidOptionError(key, `must be a ${type}`);
  return v as T;
}

// --- handlers ---

const NETWORK_FIELDS = ['name', 'driver', 'subnet', 'gateway', 'subnet6', 'gateway6', 'internal', 'ttl', 'dns', 'driverOptions'];

async function createNetwork({ body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, NETWORK_FIELDS);
  const dns = strs(body, 'dns');
  const net = await deps.controller.newNetwork(str(body, 'driver') ?? 'bridge', str(body, 'name', true), defined({
    subnet: str(body, 'subnet'), gateway: str(body, 'gateway'), subnet6: str(body, 'subnet6'), gateway6: str(body, 'gateway6'),
    internal: typed<boolean>(body, 'internal', 'boolean'), ttl: typed<number>(body, 'ttl', 'number'),
    driverOptions: typed<Record<string, unknown>>(body, 'driverOptions', 'object'), dns,
  }));
  return ok(net.info(), 201);
}

const SANDBOX_FIELDS = ['name', 'netnsPath', 'external', 'hostname', 'domainname', 'dns', 'dnsSearch', 'dnsOptions', 'extraHosts', 'hostsPath', 'resolvConfPath'];

async function createSandbox({ body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, SANDBOX_FIELDS);
  const extraHosts = body.extraHosts;
  if (extraHosts !== undefined && !Array.isArray(extraHosts)) throw new InvalidOptionError('extraHosts', 'must be a list of {name, ip}');
  const name = str(body, 'name', true);
  const external = typed<boolean>(body, 'external', 'boolean');
  if (external === true && body.netnsPath !== undefined) throw new InvalidOptionError('external', 'give either netnsPath (the key now) or external (the key later), not both');
  const sb = await deps.controller.newSandbox(name, defined({
    netnsPath: str(body, 'netnsPath'), external, hostname: str(body, 'hostname'), domainname: str(body, 'domainname'),
    dns: strs(body, 'dns'), dnsSearch: strs(body, 'dnsSearch'), dnsOptions: strs(body, 'dnsOptions'),
    extraHosts: extraHosts as SandboxOptions['extraHosts'], hostsPath: str(body, 'hostsPath'), resolvConfPath: str(body, 'resolvConfPath'),
  }));
  return ok(sb.info(), 201);
}

function endpointOf(sb: ApiSandbox, net: ApiNetwork): ApiEndpoint | undefined {
  return [...sb.endpoints.values()].find((e) => e.network.name === net.name);
}

function describeEndpoint(ep: ApiEndpoint, net: ApiNetwork, sb: ApiSandbox): Record<string, unknown> {
  return {
    network: net.name, sandbox: sb.id, endpoint: ep.name, id: ep.id, aliases: [...ep.aliases], ipv4: ep.ipv4,
    ...(ep.ipv6 ? { ipv6: ep.ipv6 } : {}), ...(ep.joinInfo ? { ifname: ep.joinInfo.ifname } : {}),
  };
}

/** connect = createEndpoint(sandbox name) + join; the endpoint is deleted again if join fails (G10). */
async function connect({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['sandbox', 'aliases', 'ip', 'ip6', 'priority']);
  const net = deps.controller.network(params.network!);
  const sb = deps.controller.sandbox(str(body, 'sandbox', true));
  if (endpointOf(sb, net) !== undefined) throw new AlreadyOnNetworkError(sb.id, net.name);
  const ep = await net.createEndpoint(sb.id, defined({ aliases: strs(body, 'aliases'), ip: str(body, 'ip'), ip6: str(body, 'ip6') }));
  try {
    await ep.join(sb, defined({ priority: typed<number>(body, 'priority', 'number') }));
  } catch (err) {
    await ep.delete().catch((e: unknown) => deps.logger.warn({ err: e, endpoint: ep.name }, 'endpoint delete after failed join failed'));
    throw err;
  }
  return ok(describeEndpoint(ep, net, sb), 201);
}

/** disconnect = leave + delete of the sandbox's endpoint on that network. */
async function disconnect({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['sandbox']);
  const net = deps.controller.network(params.network!);
  const sb = deps.controller.sandbox(str(body, 'sandbox', true));
  const ep = endpointOf(sb, net);
  if (ep === undefined) throw new EndpointNotFoundError(sb.id, net.name);
  const out = describeEndpoint(ep, net, sb);
  await ep.leave(sb);
  await ep.delete();
  return ok(out);
}

async function resolve({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['name', 'type', 'tcp']);
  const sb = deps.controller.sandbox(params.sandbox!);
  const q = normalizeQuestion(body.name, body.type);
  if (deps.probe === undefined) throw new ApiUnsupportedError('resolve (the in-namespace probe)');
  const reply = await deps.probe(sb, { ...q, tcp: typed<boolean>(body, 'tcp', 'boolean') ?? false });
  const explanation = deps.explain?.(sb, q, reply);
  return ok({ sandbox: sb.id, question: q, reply, ...(explanation === undefined ? {} : { explanation }) });
}

function explain({ params, query, deps }: Ctx): ApiResponse {
  const sb = deps.controller.sandbox(params.sandbox!);
  const q = normalizeQuestion(query.get('name') ?? undefined, query.get('type') ?? undefined);
  if (deps.explain === undefined) throw new ApiUnsupportedError('explain');
  return ok({ sandbox: sb.id, question: q, explanation: deps.explain(sb, q) });
}

function records({ query, deps }: Ctx): ApiResponse {
  const name = query.get('network');
  const nets = name === null || name === '' ? deps.controller.networks() : [deps.controller.network(name)];
  return ok(nets.flatMap(recordRows));
}

async function deleteNetwork({ params, deps }: Ctx): Promise<ApiResponse> {
  const net = deps.controller.network(params.network!);
  await net.delete();
  return ok({ name: net.name, id: net.id });
}

async function deleteSandbox({ params, deps }: Ctx): Promise<ApiResponse> {
  const sb = deps.controller.sandbox(params.sandbox!);
  await sb.delete();
  return ok({ name: sb.id });
}

/** OCI hook, createRuntime: the container's pinned namespace becomes the sandbox's key; claimed endpoints join (L1 external key). */
async function setKey({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['netnsPath']);
  const sb = deps.controller.sandbox(params.sandbox!);
  if (deps.keys === undefined) throw new ApiUnsupportedError('sandbox keys');
  await deps.keys.set(sb, str(body, 'netnsPath', true));
  return ok(sb.info());
}

/** OCI hook, poststop: the endpoints leave and wait for the next key; the sandbox and its files stay. */
async function releaseKey({ params, deps }: Ctx): Promise<ApiResponse> {
  const sb = deps.controller.sandbox(params.sandbox!);
  if (deps.keys === undefined) throw new ApiUnsupportedError('sandbox keys');
  await deps.keys.release(sb);
  return ok(sb.info());
}

function health({ deps }: Ctx): ApiResponse {
  const c = deps.controller;
  return ok({ status: 'ok', networks: c.networks().length, sandboxes: c.sandboxes().length, ...deps.health?.() });
}

async function metrics({ deps }: Ctx): Promise<ApiResponse> {
  if (deps.metrics === undefined) throw new ApiUnsupportedError('metrics');
  return { status: 200, text: await deps.metrics() };
}

function route(method: string, path: string, handler: Handler, lock?: LockOf): Route {
  return { method, parts: path.split('/').filter(Boolean), handler, lock };
}

const bySandboxParam: LockOf = (params) => params.sandbox;
const bySandboxField: LockOf = (_params, body) => body.sandbox;

/** The route table. `:x` segments are parameters (URL-decoded). */
export const ROUTES: readonly Route[] = [
  route('GET', '/healthz', health),
  route('GET', '/metrics', metrics),
  route('GET', '/networks', ({ deps }) => ok(deps.controller.networks().map((n) => n.info()))),
  route('POST', '/networks', createNetwork),
  route('GET', '/networks/:network', ({ params, deps }) => ok(deps.controller.network(params.network!).info())),
  route('DELETE', '/networks/:network', deleteNetwork),
  route('POST', '/networks/:network/connect', connect, bySandboxField),
  route('POST', '/networks/:network/disconnect', disconnect, bySandboxField),
  route('GET', '/sandboxes', ({ deps }) => ok(deps.controller.sandboxes().map((s) => s.info()))),
  route('POST', '/sandboxes', createSandbox, (_params, body) => body.name),
  route('GET', '/sandboxes/:sandbox', ({ params, deps }) => ok(deps.controller.sandbox(params.sandbox!).info())),
  route('DELETE', '/sandboxes/:sandbox', deleteSandbox, bySandboxParam),
  route('PUT', '/sandboxes/:sandbox/key', setKey, bySandboxParam),
  route('DELETE', '/sandboxes/:sandbox/key', releaseKey, bySandboxParam),
  route('POST', '/sandboxes/:sandbox/resolve', resolve),
  route('GET', '/sandboxes/:sandbox/explain', explain),
  route('GET', '/records', records),
];

/** A %-decoded path segment; bad %-encoding (RFC 3986 §2.1) is the client's error, 400 (spec §5). */
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

/** Find the route of a request; throws ERR_API_NOT_FOUND / ERR_API_METHOD_NOT_ALLOWED. */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } {
  const segs = path.split('/').filter(Boolean);
  const allowed: string[] = [];
  for (const r of ROUTES) {
    const params = matchParts(r.parts, segs);
    if (params === undefined) continue;
    if (r.method === method) return { route: r, params };
    allowed.push(r.method);
  }
  if (allowed.length > 0) throw new ApiMethodNotAllowedError(method, path, allowed);
  throw new ApiNotFoundError(method, path);
}

/** Map any thrown value to a response: typed errors keep their status and {code, message}; others are 500 without a stack. */
export function errorResponse(err: unknown, logger: Logger): ApiResponse {
  if (err instanceof SandnsError) {
    const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
    if (status >= 500) logger.error({ err }, 'API request failed');
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
      const body = (req.body ?? {}) as Body;
      const key = r.lock?.(params, body);
      return await serialised(typeof key === 'string' ? `sandbox:${key}` : undefined, async () => r.handler({ params, query: req.query, body, deps }));
    } catch (err) {
      return errorResponse(err, deps.logger);
    }
  };
}
