/**
 * BridgeDriver (L2): one Linux bridge per network holding the gateway
 * address(es); one veth pair per endpoint, the inner end moved into the
 * sandbox and renamed eth<N>, addresses and the default route set there.
 */
import type { Driver, DriverJoin, DriverJoinInfo, DriverNetwork } from '../driver.js';
import { bridgeNameFor, hostVethName, normalizeBridgeOptions, type BridgeOptions } from './options.js';
import { planCreateNetwork, planDefaultRoute, planDeleteNetwork, planJoinHost, planJoinSandbox } from './plan.js';
import { applyHost, applySandbox, deleteLinkIfExists, linkExists, sandboxLinkMac } from './io/links.js';

export { normalizeBridgeOptions, bridgeNameFor, hostVethName } from './options.js';
export type { BridgeOptions } from './options.js';
export * as bridgePlan from './plan.js';

function opts(net: DriverNetwork): BridgeOptions {
  return net.options as BridgeOptions;
}

/** The bridge driver. */
export class BridgeDriver implements Driver {
  readonly name = 'bridge';

  validateOptions(raw: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    return normalizeBridgeOptions(raw) as Readonly<Record<string, unknown>>;
  }

  async createNetwork(net: DriverNetwork): Promise<void> {
    try {
      await applyHost(planCreateNetwork(net, opts(net)));
    } catch (err) {
      await deleteLinkIfExists(bridgeNameFor(net.id, opts(net)));
      throw err;
    }
  }

  async deleteNetwork(net: DriverNetwork): Promise<void> {
    const br = bridgeNameFor(net.id, opts(net));
    if (await linkExists(br)) await applyHost(planDeleteNetwork(net, opts(net)));
  }

  async join(join: DriverJoin): Promise<DriverJoinInfo> {
    const o = opts(join.network);
    const hostIfname = hostVethName(join.endpointId);
    try {
      await applyHost(planJoinHost(join, o));
      await applySandbox(join.netnsPath, planJoinSandbox(join));
      const mac = await sandboxLinkMac(join.netnsPath, join.ifname);
      return { hostIfname, ifname: join.ifname, mac };
    } catch (err) {
      // Deleting the host end deletes the pair, wherever the peer is (G10).
      await deleteLinkIfExists(hostIfname);
      throw err;
    }
  }

  async leave(_net: DriverNetwork, info: DriverJoinInfo): Promise<void> {
    await deleteLinkIfExists(info.hostIfname);
  }

  async setDefaultRoute(net: DriverNetwork, info: DriverJoinInfo, netnsPath: string): Promise<void> {
    await applySandbox(netnsPath, planDefaultRoute(net, info.ifname));
  }

  async networkExists(net: DriverNetwork): Promise<boolean> {
    return linkExists(bridgeNameFor(net.id, opts(net)));
  }
}
