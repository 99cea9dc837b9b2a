/**
 * ADD (CNI spec 1.0.0 "ADD"), in two modes chosen by position:
 * - main (no prevResult): sandns makes the network (bridge driver, its IPAM),
 *   the veth into CNI_NETNS named CNI_IFNAME, and the DNS;
 * - chained (prevResult): DNS only, on a network whose links sandns does not
 *   manage (the `external` driver), with the addresses of prevResult.
 * Both register the endpoint's names and return 127.0.0.11 as the nameserver.
 */
import type { PluginConfig } from './config.js';
import { connect, ensureChainedNetwork, ensureNetwork, ensureSandbox, type DaemonApi, type NamespaceIdentify, type EndpointDescription, type NetworkDescription } from './daemon.js';
import { CniConfigError, CniDaemonError, CniDaemonUnreachableError, CniNetworkMismatchError } from './errors.js';
import type { Invocation } from './env.js';
import { cleanAliases, endpointNameOf, sandboxIdOf, uniqueNameOf } from './identity.js';
import { chainedAddresses, chainedNetworkBody, mainNetworkBody, mainNetworkDifferences, publishOf } from './network.js';
import { splitCidr, withSandnsDns } from './result.js';
import type { CniDns, CniResult } from './spec.js';

/** What ADD needs besides the config and the invocation. */
export interface AddDeps {
  readonly api: DaemonApi;
  /** Replay deferred DEL requests of this sandbox first (see pending.ts). */
  readonly replayDeferred: (sandbox: string) => Promise<void>;
  /** The identity of a namespace path (decides whether a sandbox left by an earlier ADD is this container's). */
  readonly identify: NamespaceIdentify;
}

/**
 * The sandbox of the container. It is given no hostname: the daemon serves a
 * sandbox's hostname as one more name on every network (controller
 * Endpoint.dnsNames), so a pod's name given as hostname would answer for two
 * pods of one name even after the second endpoint took its unique name (K5).
 * The daemon's default (the sandbox id when it is one host label, L9) is as
 * unique as the container id.
 */
function sandboxBody(config: PluginConfig, inv: Invocation, upstreams: readonly string[]): { name: string; netnsPath: string } & Record<string, unknown> {
  const dns = mergedDns(config);
  return {
    name: sandboxIdOf(inv.containerId), netnsPath: inv.netns,
    ...(upstreams.length > 0 ? { dns: [...new Set(upstreams)] } : {}),
    ...(dns.search !== undefined && dns.search.length > 0 ? { dnsSearch: dns.search } : {}),
    ...(dns.options !== undefined && dns.options.length > 0 ? { dnsOptions: dns.options } : {}),
  };
}

/** The config's dns dictionary merged with runtimeConfig.dns; options default to ndots:0 (names are single labels). */
export function mergedDns(config: PluginConfig): CniDns {
  const rt = config.runtime.dns;
  const search = [...new Set([...(rt.search ?? []), ...(config.dns.search ?? [])])];
  const options = [...new Set([...(rt.options ?? []), ...(config.dns.options ?? [])])];
  return {
    ...(config.dns.domain === undefined ? {} : { domain: config.dns.domain }),
    search,
    options: options.length > 0 ? options : ['ndots:0'],
  };
}

function upstreamsOf(config: PluginConfig, extra: readonly string[]): string[] {
  return [...(config.runtime.dns.nameservers ?? []), ...(config.dns.nameservers ?? []), ...extra].filter((s) => s !== '127.0.0.11');
}

/** The body of POST /networks/:n/connect (the fields ADD reads back typed). */
type ConnectBody = { sandbox: string; ifname: string; name: string; aliases: string[] } & Record<string, unknown>;

function connectBody(config: PluginConfig, inv: Invocation, name: string, addr: { ip?: string; ip6?: string }, main: boolean): ConnectBody {
  // Chained, the links are another plugin's: port mappings are its business (portmap), not sandns's.
  const publish = main ? publishOf(config.runtime.portMappings) : [];
  return {
    sandbox: sandboxIdOf(inv.containerId), ifname: inv.ifname, name,
    aliases: cleanAliases(name, config.runtime.aliases),
    ...(addr.ip === undefined ? {} : { ip: addr.ip }),
    ...(addr.ip6 === undefined ? {} : { ip6: addr.ip6 }),
    ...(publish.length > 0 ? { publish } : {}),
  };
}

/** The 1.0.0 result of a main-mode attachment: host veth and container interface, addresses, routes, DNS. */
export function mainResult(config: PluginConfig, inv: Invocation, net: NetworkDescription, ep: EndpointDescription): CniResult {
  const interfaces = [
    ...(ep.hostIfname ? [{ name: ep.hostIfname }] : []),
    { name: inv.ifname, ...((ep.mac ?? ep.macAddress) ? { mac: (ep.mac ?? ep.macAddress)! } : {}), sandbox: inv.netns },
  ];
  const index = interfaces.length - 1;
  const ips = [{ interface: index, address: `${ep.ipv4}/${splitCidr(net.subnet).prefix}`, gateway: net.gateway }];
  const routes = net.internal ? [] : [{ dst: '0.0.0.0/0', gw: net.gateway }];
  if (ep.ipv6 !== undefined && net.subnet6 !== undefined) {
    ips.push({ interface: index, address: `${ep.ipv6}/${splitCidr(net.subnet6).prefix}`, gateway: net.gateway6 ?? '' });
    if (!net.internal && net.gateway6 !== undefined) routes.push({ dst: '::/0', gw: net.gateway6 });
  }
  return withSandnsDns({ cniVersion: config.cniVersion, interfaces, ips, routes }, mergedDns(config));
}

/**
 * Connect under the wanted name; when another endpoint of the network holds
 * it (ERR_ENDPOINT_EXISTS: two pods of one name in two Kubernetes
 * namespaces), under the container's unique name (identity.ts uniqueNameOf).
 * The wanted name is not added as an alias: it answers for the endpoint that
 * holds it. A name derived from the runtime never fails the ADD (K5).
 */
async function connectNamed(api: DaemonApi, network: string, body: ConnectBody, containerId: string): Promise<EndpointDescription> {
  try {
    return await connect(api, network, body);
  } catch (err) {
    if (!(err instanceof CniDaemonError) || err.apiCode !== 'ERR_ENDPOINT_EXISTS') throw err;
    const name = uniqueNameOf(body.name, containerId);
    return connect(api, network, { ...body, name, aliases: cleanAliases(name, body.aliases) });
  }
}

/**
 * True when a request's outcome is unknown: its answer never came (a timeout,
 * or an exchange that broke after connecting), so the daemon may have done it
 * after all.
 */
function outcomeUnknown(err: unknown): boolean {
  return err instanceof CniDaemonUnreachableError || (err instanceof CniDaemonError && err.httpStatus === 0);
}

/**
 * The sandbox, then its endpoint. When either fails, what this ADD may have
 * made is undone (G10, K12), because a runtime that does not DEL after a
 * failed ADD (ctr) must not leave anything behind: a connect whose answer
 * never came may still be carried out by the daemon, so it is disconnected
 * (`ifname`-guarded, so only this interface's attachment); then a sandbox no
 * network holds is removed. The daemon runs a sandbox's requests one after
 * another (api/routes.ts), so both run after the lost connect has finished.
 * Failures of the undo itself are ignored: the ADD's own error is what the
 * runtime sees.
 */
async function attach(deps: AddDeps, network: string, sandbox: { name: string; netnsPath: string } & Record<string, unknown>, body: ConnectBody, containerId: string): Promise<EndpointDescription> {
  const { api } = deps;
  try {
    await ensureSandbox(api, deps.identify, sandbox);
    return await connectNamed(api, network, body, containerId);
  } catch (err) {
    if (outcomeUnknown(err)) {
      await api.request('POST', `/networks/${encodeURIComponent(network)}/disconnect`, { sandbox: body.sandbox, ifname: body.ifname }).catch(() => undefined);
    }
    await api.request('DELETE', `/sandboxes/${encodeURIComponent(sandbox.name)}?ifEmpty=true`).catch(() => undefined);
    throw err;
  }
}

async function addMain(config: PluginConfig, inv: Invocation, deps: AddDeps): Promise<CniResult> {
  const { network, created } = await ensureNetwork(deps.api, config.name, mainNetworkBody(config));
  const diffs = created ? [] : mainNetworkDifferences(network, config);
  if (diffs.length > 0) throw new CniNetworkMismatchError(config.name, diffs);
  const name = endpointNameOf(inv.containerId, inv.args);
  const [ip, ip6] = [config.runtime.ips.find((a) => !a.includes(':')), config.runtime.ips.find((a) => a.includes(':'))];
  const ep = await attach(deps, config.name, sandboxBody(config, inv, upstreamsOf(config, [])), connectBody(config, inv, name, { ...(ip ? { ip } : {}), ...(ip6 ? { ip6 } : {}) }, true), inv.containerId);
  return mainResult(config, inv, network, ep);
}

async function addChained(config: PluginConfig, inv: Invocation, deps: AddDeps, prev: CniResult): Promise<CniResult> {
  if (Object.keys(config.network).length > 0) {
    throw new CniConfigError(Object.keys(config.network)[0]!, 'applies to sandns as the first plugin of the list; chained after another plugin, sandns takes the addresses of its result');
  }
  const addr = chainedAddresses(prev, inv.ifname);
  const network = await ensureChainedNetwork(deps.api, config.name, chainedNetworkBody(config.name, addr));
  if (network.driver !== 'external') {
    throw new CniNetworkMismatchError(config.name, [`driver is "${network.driver}" (sandns makes its links), but chained after another plugin it needs a network whose links it does not manage: give this list another name`]);
  }
  const name = endpointNameOf(inv.containerId, inv.args);
  await attach(deps, config.name, sandboxBody(config, inv, upstreamsOf(config, prev.dns?.nameservers ?? [])),
    connectBody(config, inv, name, { ip: addr.ipv4.address, ...(addr.ipv6 ? { ip6: addr.ipv6.address } : {}) }, false), inv.containerId);
  return withSandnsDns({ ...prev, cniVersion: config.cniVersion }, mergedDns(config));
}

/** ADD: returns the result in the 1.0.0 shape (rendered to the config's version by the caller). */
export async function add(config: PluginConfig, inv: Invocation, deps: AddDeps): Promise<CniResult> {
  await deps.replayDeferred(sandboxIdOf(inv.containerId));
  return config.prevResult === undefined ? addMain(config, inv, deps) : addChained(config, inv, deps, config.prevResult);
}
