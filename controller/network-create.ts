/**
 * newNetwork's allocation step (L2; spec §1, §2), run under the controller's
 * allocation lock: subnet choice (a free /24 of the pool, or the given one
 * checked for overlap), the bridge name checked free in the model and the
 * kernel, then the write-ahead record and the bridge. Because creates and
 * deletes of networks run one at a time, concurrent requests never get the
 * same subnet or bridge (what a serial order would give).
 */
import { InvalidOptionError } from '../common/errors.js';
import { AddressPool, LinkExistsError, subnetsOverlap, type Driver } from '../drivers/index.js';
import type { ControllerCore } from './core.js';
import { SubnetOverlapError } from './errors.js';
import { hostRouteCidrs } from './io/host-routes.js';
import { Network } from './network.js';
import { checkIp, checkStrings, checkTtl, type NetworkOptions } from './options.js';
import type { StateKeeper } from './state.js';
import { pickFreeSubnet } from './subnets.js';

/** What the step needs from the controller. */
export interface NetworkCreateDeps {
  readonly core: ControllerCore;
  /** Pool default subnets are carved from. */
  readonly pool: string;
  readonly state: StateKeeper | undefined;
  readonly networks: () => readonly Network[];
  readonly newId: () => string;
  /** The network exists: put it in the model and persist it before answering (spec §3). */
  readonly committed: (net: Network) => Promise<void>;
}

async function defaultSubnet(deps: NetworkCreateDeps): Promise<string> {
  const taken = [...deps.networks().map((n) => n.pool4.subnet), ...(await hostRouteCidrs())];
  const s = pickFreeSubnet(deps.pool, taken);
  if (s === undefined) throw new InvalidOptionError('subnet', `no free /24 left in ${deps.pool}: give --subnet`);
  return s;
}

/** Create a network (call under the allocation lock). */
export async function createNetwork(
  deps: NetworkCreateDeps, driver: Driver, driverName: string, name: string, options: NetworkOptions, driverOptions: Readonly<Record<string, unknown>>,
): Promise<Network> {
  try {
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
    await driver.checkNetworkFree(net.driverNetwork); // a name that exists is refused, never taken over or undone (spec §1)
    await deps.state?.ahead(`net:${name}`, { network: net }); // in the store before its bridge exists (L3)
    await driver.createNetwork(net.driverNetwork);
    await deps.committed(net);
    return net;
  } finally {
    deps.state?.settle(`net:${name}`);
  }
}
