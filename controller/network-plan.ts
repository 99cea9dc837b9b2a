/**
 * newNetwork's allocation step (L2; L4, L5), run under the controller's
 * allocation lock: subnet choice (a free /24 of the pool, or the given one
 * checked for overlap) and the bridge name checked free in the model and in
 * the kernel. Because creates and deletes of networks run one at a time,
 * concurrent requests never get the same subnet or bridge: the outcome is
 * the one a serial order gives.
 */
import { InvalidOptionError } from '../common/errors.js';
import { AddressPool, LinkExistsError, subnetsOverlap, type Driver } from '../drivers/index.js';
import type { ControllerCore } from './core.js';
import { NetworkActiveEndpointsError, NetworkNotFoundError, SubnetOverlapError } from './errors.js';
import { hostRouteCidrs } from './io/host-routes.js';
import { Network } from './network.js';
import { checkIp, checkStrings, checkTtl, type NetworkOptions } from './options.js';
import { pickFreeSubnet } from './subnets.js';

/** What the step needs from the controller. */
export interface NetworkPlanDeps {
  readonly core: ControllerCore;
  /** Pool default subnets are carved from. */
  readonly pool: string;
  readonly networks: () => readonly Network[];
  readonly newId: () => string;
}

async function defaultSubnet(deps: NetworkPlanDeps): Promise<string> {
  const taken = [...deps.networks().map((n) => n.pool4.subnet), ...(await hostRouteCidrs())];
  const s = pickFreeSubnet(deps.pool, taken);
  if (s === undefined) throw new InvalidOptionError('subnet', `no free /24 left in ${deps.pool}: give --subnet`);
  return s;
}

/**
 * The network newNetwork would make (call under the allocation lock): pools
 * carved and checked against every other network; its kernel names free.
 * Throws ERR_INVALID_OPTION, ERR_IPAM_INVALID_SUBNET, ERR_NETWORK_SUBNET_OVERLAP,
 * ERR_LINK_EXISTS (a bridge of that name exists: refused, never taken over).
 */
export async function planNetwork(
  deps: NetworkPlanDeps, driver: Driver, driverName: string, name: string, options: NetworkOptions, driverOptions: Readonly<Record<string, unknown>>,
): Promise<Network> {
  const subnet = options.subnet ?? (await defaultSubnet(deps));
  const pool4 = new AddressPool(subnet, options.gateway);
  if (pool4.family !== 4) throw new InvalidOptionError('subnet', 'must be an IPv4 CIDR (use subnet6 for IPv6)');
  const pool6 = options.subnet6 === undefined ? undefined : new AddressPool(options.subnet6, options.gateway6);
  if (pool6 !== undefined && pool6.family !== 6) throw new InvalidOptionError('subnet6', 'must be an IPv6 CIDR');
  for (const other of deps.networks()) {
    if (subnetsOverlap(pool4.subnet, other.pool4.subnet)) throw new SubnetOverlapError(pool4.subnet, `${other.name} (${other.pool4.subnet})`);
  }
  const net = new Network(deps.core, {
    id: deps.newId(), name, driver: driverName, internal: options.internal ?? false,
    ttl: checkTtl(options.ttl), dns: checkStrings('dns', options.dns).map((d) => checkIp('dns', d)), pool4, pool6, driverOptions,
  });
  const bridge = driverOptions.bridgeName;
  if (bridge !== undefined && deps.networks().some((n) => n.driverOptions.bridgeName === bridge)) throw new LinkExistsError('bridge', String(bridge));
  await driver.checkNetworkFree(net.driverNetwork);
  return net;
}

/**
 * deleteNetwork's step (call under the allocation lock): the network leaves
 * the model at once, so a connect from then on answers 404 and never meets a
 * half-deleted bridge (L5); it comes back if the driver fails.
 * Throws ERR_NETWORK_NOT_FOUND (deleted already), ERR_NETWORK_ACTIVE_ENDPOINTS.
 */
export async function removeNetwork(networks: Map<string, Network>, net: Network, driver: Driver): Promise<void> {
  if (!networks.has(net.id)) throw new NetworkNotFoundError(net.name);
  if (net.endpoints.size > 0) throw new NetworkActiveEndpointsError(net.name, net.endpoints.size);
  networks.delete(net.id);
  try {
    await driver.deleteNetwork(net.driverNetwork);
  } catch (err) {
    networks.set(net.id, net);
    throw err;
  }
}
