/**
 * The API's handlers (L1 over HTTP/JSON): each takes the request's
 * parameters, query and checked body, calls the controller, and returns
 * {status, body}. Pure: the in-namespace probe, explain() and the metrics
 * text arrive through RouteDeps (G12).
 */
import { InvalidOptionError, SandnsError } from '../common/errors.js';
import { EndpointNotFoundError, NetworkActiveEndpointsError, NetworkNotFoundError, SandboxInUseError, SandboxKeyMismatchError, SandboxNoKeyError, type SandboxOptions } from '../controller/index.js';
import { ApiBadRequestError, ApiUnsupportedError } from './errors.js';
import { defined, onlyFields, str, strs, typed, type Body } from './body.js';
import { normalizeQuestion, recordRows } from './records.js';
import type { ApiEndpoint, ApiNetwork, ApiResponse, ApiSandbox, RouteDeps } from './types.js';
import { endpointExtras, PORT_FIELDS } from './ports.js';
import { LIST_FILTERS, networkMatches, parseNetworkFilters, PRUNE_FILTERS } from './network-filters.js';

/** What a handler gets: URL parameters (decoded), the query string and the body (a JSON object). */
export interface Ctx {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: Body;
  readonly deps: RouteDeps;
}

/** A route's handler. */
export type Handler = (ctx: Ctx) => Promise<ApiResponse> | ApiResponse;

/** A JSON response. */
export const ok = (body: unknown, status = 200): ApiResponse => ({ status, body });

const NETWORK_FIELDS = ['name', 'driver', 'subnet', 'gateway', 'subnet6', 'gateway6', 'ipRange', 'internal', 'ttl', 'dns', 'driverOptions', 'scope', 'attachable', 'labels'];

function scopeOf(body: Body): 'local' | 'global' | undefined {
  const s = str(body, 'scope');
  if (s !== undefined && s !== 'local' && s !== 'global') throw new InvalidOptionError('scope', 'must be local or global');
  return s;
}

export async function createNetwork({ body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, NETWORK_FIELDS);
  const dns = strs(body, 'dns');
  // Docker's Attachable: an overlay driver option (a bridge network refuses it as an unknown option).
  const attachable = typed<boolean>(body, 'attachable', 'boolean');
  const driverOptions = typed<Record<string, unknown>>(body, 'driverOptions', 'object');
  const net = await deps.controller.newNetwork(str(body, 'driver') ?? 'bridge', str(body, 'name', true), defined({
    subnet: str(body, 'subnet'), gateway: str(body, 'gateway'), subnet6: str(body, 'subnet6'), gateway6: str(body, 'gateway6'), ipRange: str(body, 'ipRange'),
    internal: typed<boolean>(body, 'internal', 'boolean'), ttl: typed<number>(body, 'ttl', 'number'),
    driverOptions: attachable === undefined ? driverOptions : { ...driverOptions, attachable }, dns, scope: scopeOf(body),
    labels: body.labels as Record<string, string> | undefined,
  }));
  const warnings = net.createWarnings ?? [];
  return ok({ ...net.info(), ...(warnings.length === 0 ? {} : { warnings: [...warnings] }) }, 201);
}

const SANDBOX_FIELDS = ['name', 'netnsPath', 'external', 'hostname', 'domainname', 'dns', 'dnsSearch', 'dnsOptions', 'extraHosts', 'hostsPath', 'resolvConfPath'];

export async function createSandbox({ body, deps }: Ctx): Promise<ApiResponse> {
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
  const j = ep.joinInfo;
  return {
    network: net.name, sandbox: sb.id, endpoint: ep.name, id: ep.id, aliases: [...ep.aliases], ipv4: ep.ipv4,
    ...(ep.ipv6 ? { ipv6: ep.ipv6 } : {}), ...(j ? { ifname: j.ifname } : {}),
    ...(j?.mac ? { mac: j.mac, macAddress: j.mac } : {}), ...(j?.hostIfname ? { hostIfname: j.hostIfname } : {}),
    ports: (ep.portMappings ?? []).map((m) => ({ ...m })),
  };
}

/**
 * connect = createEndpoint (named `name`, default the sandbox's name) + join
 * (as interface `ifname`, default the lowest free eth<N>); the endpoint is
 * deleted again if join fails (G10).
 */
export async function connect({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['sandbox', 'name', 'aliases', 'ip', 'ip6', 'priority', 'ifname', ...PORT_FIELDS]);
  const net = deps.controller.network(params.network!);
  const sb = deps.controller.sandbox(str(body, 'sandbox', true));
  const ep = await net.connect(
    sb, str(body, 'name') ?? sb.id, { ...defined({ aliases: strs(body, 'aliases'), ip: str(body, 'ip'), ip6: str(body, 'ip6') }), ...endpointExtras(body) },
    defined({ priority: typed<number>(body, 'priority', 'number'), ifname: str(body, 'ifname') }),
  );
  return ok(describeEndpoint(ep, net, sb), 201);
}

/**
 * disconnect = leave + delete of the sandbox's endpoint on that network. With
 * `ifname`, only an endpoint joined under that interface name is removed; one
 * joined under another is ERR_ENDPOINT_NOT_FOUND (404), so a CNI DEL of eth1
 * never removes the working eth0 of the same network (K8; CNI spec 1.0.0
 * "DEL": the attachment is the container id, network and CNI_IFNAME).
 */
export async function disconnect({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['sandbox', 'ifname']);
  const net = deps.controller.network(params.network!);
  const sb = deps.controller.sandbox(str(body, 'sandbox', true));
  const ifname = str(body, 'ifname');
  // A connect still in flight is waited for: the answer rests on answered operations only (L5).
  for (let w = endpointOf(sb, net)?.provisional; w; w = endpointOf(sb, net)?.provisional) await w;
  const ep = endpointOf(sb, net);
  if (ep === undefined) throw new EndpointNotFoundError(sb.id, net.name);
  const joinedAs = ep.joinInfo?.ifname;
  if (ifname !== undefined && joinedAs !== undefined && joinedAs !== ifname) throw new EndpointNotFoundError(`${sb.id} as ${ifname} (it is joined as ${joinedAs})`, net.name);
  const out = describeEndpoint(ep, net, sb);
  await ep.disconnect();
  return ok(out);
}

/** Each joined endpoint's link problems as its driver sees them (CNI CHECK). */
export async function links({ params, deps }: Ctx): Promise<ApiResponse> {
  return ok(await deps.controller.sandbox(params.sandbox!).linkProblems());
}

export async function resolve({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['name', 'type', 'tcp']);
  const sb = deps.controller.sandbox(params.sandbox!);
  const q = normalizeQuestion(body.name, body.type);
  if (deps.probe === undefined) throw new ApiUnsupportedError('resolve (the in-namespace probe)');
  // The probe runs inside the namespace: an external sandbox waiting for its key has none ('' path).
  if (sb.netnsPath === '') throw new SandboxNoKeyError(sb.id);
  const reply = await deps.probe(sb, { ...q, tcp: typed<boolean>(body, 'tcp', 'boolean') ?? false });
  const explanation = deps.explain?.(sb, q, reply);
  return ok({ sandbox: sb.id, question: q, reply, ...(explanation === undefined ? {} : { explanation }) });
}

export function explain({ params, query, deps }: Ctx): ApiResponse {
  const sb = deps.controller.sandbox(params.sandbox!);
  const q = normalizeQuestion(query.get('name') ?? undefined, query.get('type') ?? undefined);
  if (deps.explain === undefined) throw new ApiUnsupportedError('explain');
  return ok({ sandbox: sb.id, question: q, explanation: deps.explain(sb, q) });
}

export function records({ query, deps }: Ctx): ApiResponse {
  const name = query.get('network');
  const nets = name === null || name === '' ? deps.controller.networks() : [deps.controller.network(name)];
  return ok(nets.flatMap(recordRows));
}

/** `GET /networks`, with Docker's `filters` (network-filters.ts). */
export function listNetworks({ query, deps }: Ctx): ApiResponse {
  const filters = parseNetworkFilters(query.getAll('filters'), LIST_FILTERS);
  return ok(deps.controller.networks().map((n) => n.info()).filter((n) => networkMatches(n, filters)));
}

/**
 * `POST /networks/prune` (Docker's `network prune`): delete every local network without endpoints that passes the
 * `filters` (label, label!, until). Global networks are never pruned: their endpoints may be on other hosts. A network
 * that got an endpoint or went away meanwhile is skipped; any other failure, ours included (logged), is listed under
 * `failed` and the rest go on, as Docker's prune logs and goes on. Answers `{deleted: [names], failed: [{name, code, message}]}`.
 */
export async function pruneNetworks({ query, deps }: Ctx): Promise<ApiResponse> {
  const now = Date.now();
  const filters = parseNetworkFilters(query.getAll('filters'), PRUNE_FILTERS, now);
  const deleted: string[] = [];
  const failed: { name: string; code: string; message: string }[] = [];
  for (const net of deps.controller.networks()) {
    const info = net.info();
    if (info.scope !== 'local' || info.endpoints.length > 0 || !networkMatches(info, filters, now)) continue;
    try {
      await net.delete();
      deleted.push(net.name);
    } catch (err) {
      if (err instanceof NetworkActiveEndpointsError || err instanceof NetworkNotFoundError) continue;
      const typed = err instanceof SandnsError && err.status < 500;
      if (!typed) deps.logger.error({ err, network: net.name }, 'network prune: a delete failed');
      failed.push({ name: net.name, code: err instanceof SandnsError ? err.code : 'ERR_API_INTERNAL', message: typed ? err.message : `deleting ${net.name} failed (see the daemon's log)` });
    }
  }
  return ok({ deleted, failed });
}

export async function deleteNetwork({ params, deps }: Ctx): Promise<ApiResponse> {
  const net = deps.controller.network(params.network!);
  await net.delete();
  return ok({ name: net.name, id: net.id });
}

/** Delete a sandbox; with `?ifEmpty=true` only when no network holds it (ERR_SANDBOX_IN_USE otherwise; CNI DEL). */
export async function deleteSandbox({ params, query, deps }: Ctx): Promise<ApiResponse> {
  const sb = deps.controller.sandbox(params.sandbox!);
  if (queryFlag(query, 'ifEmpty') && sb.endpoints.size > 0) throw new SandboxInUseError(sb.id, [...sb.endpoints.values()].map((e) => e.network.name));
  await sb.delete();
  return ok({ name: sb.id });
}

/** OCI hook, createRuntime: the container's pinned namespace becomes the sandbox's key; claimed endpoints join (L1 external key). */
export async function setKey({ params, body, deps }: Ctx): Promise<ApiResponse> {
  onlyFields(body, ['netnsPath']);
  const sb = deps.controller.sandbox(params.sandbox!);
  if (deps.keys === undefined) throw new ApiUnsupportedError('sandbox keys');
  await deps.keys.set(sb, str(body, 'netnsPath', true));
  return ok(sb.info());
}

/**
 * OCI hook, poststop: the endpoints leave and wait for the next key; the sandbox and its files stay. With
 * `?netnsPath=P`, only the key P is released: no key is a success (nothing to do), another key is 409
 * ERR_SANDBOX_KEY_MISMATCH and stays (it is another container's).
 */
export async function releaseKey({ params, query, deps }: Ctx): Promise<ApiResponse> {
  const sb = deps.controller.sandbox(params.sandbox!);
  if (deps.keys === undefined) throw new ApiUnsupportedError('sandbox keys');
  const asked = query.get('netnsPath');
  const current = sb.info().netnsPath;
  if (asked !== null && current !== asked) {
    if (current === '') return ok(sb.info());
    throw new SandboxKeyMismatchError(sb.id, current, asked);
  }
  await deps.keys.release(sb);
  return ok(sb.info());
}

export function health({ deps }: Ctx): ApiResponse {
  const c = deps.controller;
  // Degraded (L6): DNS and reads are served, mutations refused until the state can be written again.
  let storage: { storage: string; storageError?: string } = { storage: 'ok' };
  try {
    c.assertWritable?.();
  } catch (err) {
    storage = { storage: 'degraded', storageError: err instanceof SandnsError ? err.message : String(err) };
  }
  return ok({ status: 'ok', networks: c.networks().length, sandboxes: c.sandboxes().length, ...storage, ...deps.health?.() });
}

/** GET /cluster: the cluster store's state (docs/cluster.md M8); `{configured: false}` on a single host. */
export function cluster({ deps }: Ctx): ApiResponse {
  const s = deps.cluster?.();
  return ok(s === undefined ? { configured: false } : { configured: true, ...s });
}

export async function metrics({ deps }: Ctx): Promise<ApiResponse> {
  if (deps.metrics === undefined) throw new ApiUnsupportedError('metrics');
  return { status: 200, text: await deps.metrics() };
}

/**
 * A boolean query parameter: absent or `false` → false, `true` → true; anything else is refused (400), so that a
 * guard such as `ifEmpty` never fails open on a spelling it does not know (`1`, `yes`, `True`).
 */
function queryFlag(query: URLSearchParams, name: string): boolean {
  const values = query.getAll(name);
  if (values.length === 0) return false;
  if (values.length === 1 && (values[0] === 'true' || values[0] === 'false')) return values[0] === 'true';
  throw new ApiBadRequestError(`the query parameter ${name} must be true or false (given once), not ${JSON.stringify(values.join('&').slice(0, 80))}`);
}
