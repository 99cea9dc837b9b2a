/**
 * The daemon's API as the plugin uses it (G2: the consumer owns the
 * interface; cni/io/client.ts implements it over the unix socket, unit tests
 * pass fakes), and the few idempotent steps ADD builds on: ensure a network,
 * ensure a sandbox, connect. API errors become CNI errors here, in one place.
 */
import { parseCidr } from '../common/ip.js';
import { CniDaemonError, CniError, CniNetworkMismatchError } from './errors.js';
import { CNI_CODE } from './spec.js';

/** One API answer. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The daemon's API. request() throws CniDaemonUnreachableError (code 11) when the socket cannot be
 * reached or stays silent, CniDaemonError with httpStatus 0 (code 11) when the exchange broke after
 * connecting (a reset: the daemon went away mid-request); any answer is returned.
 */
export interface DaemonApi {
  readonly socket: string;
  request(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
}

/** A network as GET /networks/:name describes it (the fields the plugin reads). */
export interface NetworkDescription {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  subnet6?: string;
  gateway6?: string;
  internal: boolean;
  ttl: number;
  driverOptions?: { bridgeName?: string; mtu?: number };
  /** The endpoints on it (GET /networks and GET /networks/:name list them). */
  endpoints?: readonly unknown[];
}

/** A connected endpoint (POST /networks/:n/connect, and the sandbox's endpoint list). */
export interface EndpointDescription {
  network: string;
  endpoint?: string;
  name?: string;
  ipv4: string;
  ipv6?: string;
  ifname?: string;
  mac?: string;
  /** The same MAC under the name the published-ports API uses. */
  macAddress?: string;
  hostIfname?: string;
  aliases?: string[];
}

/** A sandbox as GET /sandboxes/:id describes it. */
export interface SandboxDescription {
  id: string;
  netnsPath: string;
  listening: boolean;
  endpoints: EndpointDescription[];
}

/** The API's error code of an answer, if any. */
export function apiCode(a: ApiAnswer): string | undefined {
  const c = (a.body as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * API codes that mean the values the configuration (or runtimeConfig) gave are
 * invalid: the only daemon refusals that are CNI code 7, "invalid network
 * config" (CNI spec 1.0.0 "Error").
 */
const INVALID_VALUES: ReadonlySet<string> = new Set([
  'ERR_INVALID_OPTION', 'ERR_INVALID_NAME', 'ERR_IPAM_INVALID_SUBNET', 'ERR_IPAM_ADDRESS_OUT_OF_RANGE', 'ERR_DRIVER_NOT_FOUND',
]);

/** API codes of a resource the request needs that is taken, exhausted or unavailable: code 102. */
const UNAVAILABLE: ReadonlySet<string> = new Set([
  'ERR_PORT_ALLOCATED', 'ERR_PORT_NO_FREE', 'ERR_PORTS_UNAVAILABLE', 'ERR_IPAM_POOL_EXHAUSTED', 'ERR_IPAM_ADDRESS_IN_USE',
  'ERR_NETWORK_SUBNET_OVERLAP', 'ERR_OVERLAY_VNI_EXHAUSTED',
]);

/**
 * The CNI code of a failed API answer (CNI spec 1.0.0 "Error": 1-99 are the
 * spec's, 100 and up the plugin's): 503 (the daemon cannot take changes now:
 * ERR_STORE_DEGRADED, ERR_CONTROLLER_CLOSED) is 11, "try again later"; other
 * 5xx are 100 (the daemon failed); a 4xx is 7 only when the values were
 * invalid (INVALID_VALUES), 102 when a port, address or subnet is not to be
 * had (UNAVAILABLE), else 103 (refused: a name, interface or link taken,
 * something not found).
 */
export function cniCodeOf(status: number, apiCode?: string): number {
  if (status === 503) return CNI_CODE.TRY_AGAIN_LATER;
  if (status < 400 || status >= 500) return CNI_CODE.DAEMON_FAILED;
  if (apiCode !== undefined && INVALID_VALUES.has(apiCode)) return CNI_CODE.INVALID_NETWORK_CONFIG;
  if (apiCode !== undefined && UNAVAILABLE.has(apiCode)) return CNI_CODE.RESOURCE_UNAVAILABLE;
  return CNI_CODE.DAEMON_REFUSED;
}

/** Throw the CNI error (CniDaemonError, code from cniCodeOf) of a failed API answer, with the API's code in its details. */
export function failed(operation: string, a: ApiAnswer): never {
  const body = a.body as { code?: unknown; message?: unknown } | undefined;
  const code = apiCode(a) ?? `HTTP ${a.status}`;
  const message = typeof body?.message === 'string' ? body.message : 'no message';
  throw new CniDaemonError(operation, a.status, code, message, cniCodeOf(a.status, apiCode(a)));
}

const seg = encodeURIComponent;

/** GET a network; undefined when it does not exist. */
export async function getNetwork(api: DaemonApi, name: string): Promise<NetworkDescription | undefined> {
  const a = await api.request('GET', `/networks/${seg(name)}`);
  if (a.status === 404) return undefined;
  if (a.status !== 200) failed(`inspect network ${name}`, a);
  return a.body as NetworkDescription;
}

/** The network `name`: created from `body` when missing (a concurrent creation by another ADD is fine). */
export async function ensureNetwork(api: DaemonApi, name: string, body: Record<string, unknown>): Promise<{ network: NetworkDescription; created: boolean }> {
  const found = await getNetwork(api, name);
  if (found !== undefined) return { network: found, created: false };
  const a = await api.request('POST', '/networks', body);
  if (a.status === 201) return { network: a.body as NetworkDescription, created: true };
  if (apiCode(a) === 'ERR_NETWORK_EXISTS') {
    const again = await getNetwork(api, name);
    if (again !== undefined) return { network: again, created: false };
  }
  return failed(`create network ${name}`, a);
}

/** True when two CIDRs (one family) share an address; `same`: when they are one subnet, however spelled. */
function cidrsOverlap(a: string, b: string, same = false): boolean {
  const [x, y] = [parseCidr(a), parseCidr(b)];
  if (x === undefined || y === undefined || x.family !== y.family) return false;
  return same ? x.first === y.first && x.last === y.last : x.first <= y.last && y.first <= x.last;
}

/** Remove a network (by id) that nothing uses; false when it has endpoints again meanwhile (the daemon refuses: 403). */
async function removeUnused(api: DaemonApi, id: string): Promise<boolean> {
  const a = await api.request('DELETE', `/networks/${seg(id)}`);
  if (a.status === 200 || a.status === 404) return true;
  if (apiCode(a) === 'ERR_NETWORK_ACTIVE_ENDPOINTS') return false;
  return failed(`remove unused network ${id}`, a);
}

/**
 * The chained network `name` (driver `external`) over the subnets of
 * prevResult (`body`): created when missing. sandns keeps a chained network
 * after the runtime removed its own (no CNI call says so), so one left
 * without endpoints is replaced when it is in the way: this name on other
 * subnets (the runtime's network made again), or another name whose subnet
 * overlaps (podman gives a new network the first free 10.89.N.0/24). One
 * that still has endpoints is never touched: the ADD then fails naming it
 * (CniNetworkMismatchError, or the daemon's overlap refusal).
 */
export async function ensureChainedNetwork(api: DaemonApi, name: string, body: { subnet: string; subnet6?: string } & Record<string, unknown>): Promise<NetworkDescription> {
  const differs = (x: string | undefined, y: string | undefined): boolean => (x === undefined || y === undefined ? x !== y : !cidrsOverlap(x, y, true));
  const moved = (n: NetworkDescription): boolean => n.driver === 'external' && (differs(n.subnet, body.subnet) || differs(n.subnet6, body.subnet6));
  // Concurrent ADDs of one new network may each find the old one: removals go by id (never a network another ADD
  // just made), and a removal refused or already done is looked at again.
  for (let attempt = 0; attempt < 4; attempt++) {
    const found = await getNetwork(api, name);
    if (found !== undefined && !moved(found)) return found;
    if (found !== undefined) {
      if (found.endpoints?.length === 0 && await removeUnused(api, found.id)) continue;
      if (found.endpoints?.length === 0) continue; // a container joined meanwhile: look again
      throw new CniNetworkMismatchError(name, [`subnet is ${found.subnet}${found.subnet6 ? ` and ${found.subnet6}` : ''} and containers are on it, but the previous plugin gave ${body.subnet}${body.subnet6 ? ` and ${body.subnet6}` : ''}`]);
    }
    const a = await api.request('POST', '/networks', body);
    if (a.status === 201) return a.body as NetworkDescription;
    if (apiCode(a) === 'ERR_NETWORK_EXISTS') continue; // another ADD made it: look at it
    if (apiCode(a) !== 'ERR_NETWORK_SUBNET_OVERLAP' || attempt > 1) return failed(`create network ${name}`, a);
    const all = await api.request('GET', '/networks');
    if (all.status !== 200) failed('list networks', all);
    const stale = (all.body as NetworkDescription[]).filter((n) => n.name !== name && n.driver === 'external' && n.endpoints?.length === 0
      && [[n.subnet, body.subnet], [n.subnet6, body.subnet6]].some(([x, y]) => x !== undefined && y !== undefined && cidrsOverlap(x, y)));
    if (stale.length === 0) return failed(`create network ${name}`, a);
    for (const n of stale) await removeUnused(api, n.id);
  }
  throw new CniError('ERR_CNI_NETWORK_MISMATCH', CNI_CODE.TRY_AGAIN_LATER, `sandns network "${name}" kept changing while this ADD replaced it (other ADDs at once): try again`);
}

/** GET a sandbox; undefined when it does not exist. */
export async function getSandbox(api: DaemonApi, id: string): Promise<SandboxDescription | undefined> {
  const a = await api.request('GET', `/sandboxes/${seg(id)}`);
  if (a.status === 404) return undefined;
  if (a.status !== 200) failed(`inspect sandbox ${id}`, a);
  return a.body as SandboxDescription;
}

/**
 * The identity of the namespace file at a path (`<device>:<inode>`, see
 * cni/io/netns.ts), or undefined when it cannot be read. Injected (G12).
 */
export type NamespaceIdentify = (path: string) => Promise<string | undefined>;

/**
 * True when `held` (the namespace path the sandbox holds: the runtime's, or
 * the daemon's pin /run/netns/sandns-pin-<sandbox> of a /proc/<pid>/ns/net
 * path, K10) and `given` (this ADD's CNI_NETNS) are one namespace: the same
 * device and inode (a namespace is its nsfs inode, not its path). When either
 * cannot be read, only the same path counts as the same namespace.
 */
async function sameNamespace(identify: NamespaceIdentify, held: string, given: string): Promise<boolean> {
  const [a, b] = await Promise.all([identify(held), identify(given)]);
  return a !== undefined && b !== undefined ? a === b : held === given;
}

/**
 * The container's sandbox: created on its first ADD. One left by a container
 * whose DEL never came (same id, another namespace: ctr's `run -d` sends no
 * DEL, so its next run with the same id finds the old sandbox, K5) is
 * replaced: removed with its endpoints, then created again. Throws
 * CniDaemonError when the daemon refuses either step.
 */
export async function ensureSandbox(api: DaemonApi, identify: NamespaceIdentify, body: { name: string; netnsPath: string } & Record<string, unknown>): Promise<SandboxDescription> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const a = await api.request('POST', '/sandboxes', body);
    if (a.status === 201) return a.body as SandboxDescription;
    if (apiCode(a) !== 'ERR_SANDBOX_EXISTS') failed(`create sandbox ${body.name}`, a);
    const sb = await getSandbox(api, body.name);
    if (sb === undefined) continue; // removed meanwhile: create it again
    if (await sameNamespace(identify, sb.netnsPath, body.netnsPath)) return sb;
    const del = await api.request('DELETE', `/sandboxes/${seg(body.name)}`);
    if (del.status !== 200 && del.status !== 404) failed(`remove stale sandbox ${body.name} (namespace ${sb.netnsPath})`, del);
  }
  throw new CniDaemonError(`create sandbox ${body.name}`, 409, 'ERR_SANDBOX_EXISTS', 'the sandbox kept changing under this ADD: try again');
}

/** Connect the sandbox; an attachment of the same interface that exists already is returned as is (ADD twice). */
export async function connect(api: DaemonApi, network: string, body: { sandbox: string; ifname: string } & Record<string, unknown>): Promise<EndpointDescription> {
  const a = await api.request('POST', `/networks/${seg(network)}/connect`, body);
  if (a.status === 201) return a.body as EndpointDescription;
  if (apiCode(a) === 'ERR_SANDBOX_ALREADY_ON_NETWORK') {
    const sb = await getSandbox(api, body.sandbox);
    const ep = sb?.endpoints.find((e) => e.network === network);
    if (ep !== undefined && ep.ifname === body.ifname) return ep;
  }
  return failed(`connect ${body.sandbox} to network ${network} as ${body.ifname}`, a);
}
