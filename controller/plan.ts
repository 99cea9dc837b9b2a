/**
 * What newNetwork and createEndpoint compute before anything is made (L2),
 * with the network's kernel names checked free (L4). planNetwork and
 * removeNetwork run under the controller's allocation lock, so concurrent
 * creates and deletes never get the same subnet or bridge: the outcome is one
 * a serial order gives (L5).
 * a network's pools checked against every other network's subnets (and, for
 * a global network, the cluster's: docs/cluster.md M3), and local IPAM.
 */
import { InvalidOptionError } from '../common/errors.js';
import { AddressPool, LinkExistsError, subnetsOverlap, type Driver } from '../drivers/index.js';
import type { ControllerCore } from './core.js';
import { NetworkActiveEndpointsError, NetworkNotFoundError, SubnetOverlapError } from './errors.js';
import { Network } from './network.js';
import { provisionalOf } from './endpoint.js';
import { checkIp, checkLabels, checkStrings, checkTtl, type NetworkOptions } from './options.js';
import { pickFreeSubnet } from './subnets.js';
import { hostRouteCidrs } from './io/host-routes.js';

/** The context of a plan. */
export interface PlanContext {
  readonly core: ControllerCore;
  /** Pool default /24 subnets are carved from. */
  readonly pool: string;
  readonly networks: readonly Network[];
  /** Subnets of the cluster's global networks (global plans only). */
  readonly clusterSubnets: readonly string[];
  readonly id: string;
}

/** What is asked. */
export interface PlanRequest {
  readonly driverName: string;
  readonly name: string;
  readonly options: NetworkOptions;
  readonly driverOptions: Readonly<Record<string, unknown>>;
  readonly scope: 'local' | 'global';
  /** The driver whose kernel names must be free now (local networks; a global one makes its objects at its first local join). */
  readonly driver?: Driver | undefined;
}

/** Throws ERR_NETWORK_SUBNET_OVERLAP (409) when a pair of subnets (mine, theirs) overlaps; `what` names theirs. */
export function assertNoOverlap(pairs: readonly (readonly [string | undefined, string | undefined])[], what: string): void {
  for (const [mine, theirs] of pairs) if (mine !== undefined && theirs !== undefined && subnetsOverlap(mine, theirs)) throw new SubnetOverlapError(mine, `${what} (${theirs})`);
}

/**
 * The network to make: pools carved and checked against every other network
 * here; with `req.driver`, its kernel names free.
 * Throws ERR_INVALID_OPTION, ERR_IPAM_INVALID_SUBNET, ERR_NETWORK_SUBNET_OVERLAP,
 * ERR_LINK_EXISTS (a bridge of that name exists: refused, never taken over).
 */
export async function planNetwork(ctx: PlanContext, req: PlanRequest): Promise<Network> {
  const { options } = req;
  const subnet = options.subnet ?? (await defaultSubnet(ctx));
  const pool4 = new AddressPool(subnet, options.gateway, options.ipRange);
  if (pool4.family !== 4) throw new InvalidOptionError('subnet', 'must be an IPv4 CIDR (use subnet6 for IPv6)');
  const pool6 = options.subnet6 === undefined ? undefined : new AddressPool(options.subnet6, options.gateway6);
  if (pool6 !== undefined && pool6.family !== 6) throw new InvalidOptionError('subnet6', 'must be an IPv6 CIDR');
  // RFC 8200 §5: an IPv6 link carries 1280-byte packets at least; the kernel refuses IPv6 addresses below that (EINVAL).
  const mtu = req.driverOptions.mtu;
  if (pool6 !== undefined && typeof mtu === 'number' && mtu < 1280) {
    throw new InvalidOptionError('mtu', `${mtu} is below 1280, the least an IPv6 network can have (RFC 8200 §5): raise it, or leave out subnet6`);
  }
  // Both families: two bridges with one subnet split its traffic (and nft refuses overlapping intervals in a set).
  for (const other of ctx.networks) assertNoOverlap([[pool4.subnet, other.pool4.subnet], [pool6?.subnet, other.pool6?.subnet]], other.name);
  const net = new Network(ctx.core, {
    id: ctx.id, name: req.name, driver: req.driverName, internal: options.internal ?? false, scope: req.scope,
    ttl: checkTtl(options.ttl), dns: checkStrings('dns', options.dns).map((d) => checkIp('dns', d)), pool4, pool6, driverOptions: req.driverOptions,
    labels: checkLabels('labels', options.labels), created: new Date().toISOString(),
  });
  const bridge = req.driverOptions.bridgeName;
  if (bridge !== undefined && ctx.networks.some((n) => n.driverOptions.bridgeName === bridge)) throw new LinkExistsError('bridge', String(bridge));
  if (req.driver !== undefined) await req.driver.checkNetworkFree(net.driverNetwork);
  if (options.subnet !== undefined) net.createWarnings = await subnetWarnings(options.subnet, pool4.subnet);
  return net;
}

/**
 * What a caller who gave `given` should hear (Docker says nothing of either): host bits that were dropped, and a
 * host route it overlaps (the host's own network, a VPN): the bridge's connected route then takes part of that
 * traffic, and the host reaches those addresses through the bridge, no longer the way it did.
 */
async function subnetWarnings(given: string, subnet: string): Promise<string[]> {
  const warnings = given === subnet ? [] : [`subnet ${given} has host bits set: ${subnet} is used`];
  const clash = (await hostRouteCidrs()).find((route) => subnetsOverlap(subnet, route));
  if (clash !== undefined) warnings.push(`subnet ${subnet} overlaps the host's route to ${clash}: this host now reaches addresses in both through the network's bridge; choose another subnet unless that is what you want`);
  return warnings;
}

/**
 * deleteNetwork's step (call under the allocation lock): the network leaves
 * the model at once, so a connect from then on answers 404 and never meets a
 * half-deleted bridge (L5); it comes back if a later step fails. The rest
 * runs inside `durably` (the controller saves the network as 'deleting'
 * first, so a crash from here on is finished at restore, never undone
 * halfway: L3). `release` runs first (a global network's cluster record);
 * the driver's objects go when the network has them (a global network has
 * them only while it has a local endpoint). A connect to it still in flight is
 * waited for first: its endpoint is provisional until the connect answers (L5).
 * Throws ERR_NETWORK_NOT_FOUND (deleted already), ERR_NETWORK_ACTIVE_ENDPOINTS.
 */
export async function removeNetwork(
  networks: Map<string, Network>, net: Network, driver: Driver, release: (() => Promise<void>) | undefined,
  durably: (work: () => Promise<void>) => Promise<void>,
): Promise<void> {
  // A connect in flight may still fail or be undone: its outcome decides, not its endpoint (L5).
  for (let w = provisionalOf(net.endpoints.values()); w; w = provisionalOf(net.endpoints.values())) await w;
  if (!networks.has(net.id)) throw new NetworkNotFoundError(net.name);
  if (net.endpoints.size > 0) throw new NetworkActiveEndpointsError(net.name, net.endpoints.size);
  networks.delete(net.id);
  try {
    await durably(async () => {
      if (release !== undefined) await release();
      if (net.driverReady) await driver.deleteNetwork(net.driverNetwork);
    });
  } catch (err) {
    networks.set(net.id, net);
    throw err;
  }
}

async function defaultSubnet(ctx: PlanContext): Promise<string> {
  const taken = [...ctx.networks.map((n) => n.pool4.subnet), ...ctx.clusterSubnets, ...(await hostRouteCidrs())];
  const s = pickFreeSubnet(ctx.pool, taken);
  if (s === undefined) throw new InvalidOptionError('subnet', `no free /24 left in ${ctx.pool}: give --subnet`);
  return s;
}

/** Local IPAM: both addresses allocated synchronously (G11), the first released if the second fails. */
export function allocateLocal(net: Network, ip4: string | undefined, ip6: string | undefined): { ipv4: string; ipv6: string | undefined } {
  const ipv4 = net.pool4.allocate(ip4);
  try {
    return { ipv4, ipv6: net.pool6?.allocate(ip6) };
  } catch (err) {
    net.pool4.release(ipv4);
    throw err;
  }
}
