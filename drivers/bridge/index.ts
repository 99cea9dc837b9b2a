/**
 * BridgeDriver (L2): one Linux bridge per network holding the gateway
 * address(es); one veth pair per endpoint, the inner end moved into the
 * sandbox and renamed eth<N>, addresses and the default route set there.
 */
import type { Driver, DriverJoin, DriverJoinInfo, DriverNetwork } from '../driver.js';
import { bridgeNameFor, hostVethName, normalizeBridgeOptions, type BridgeOptions } from './options.js';
import { bridgeMark, planAddBridge, planAddVeth, planCreateNetwork, planDefaultRoute, planDeleteNetwork, planJoinHost, planJoinSandbox } from './plan.js';
import { applyHost, applySandbox, deleteLinkIfExists, hostLinks, linkAlias, linkExists, sandboxLinkMac } from './io/links.js';
import { sandboxLinkProblems } from '../io/sandbox-link.js';
import { LinkExistsError } from '../errors.js';

export { normalizeBridgeOptions } from './options.js';
export type { BridgeOptions } from './options.js';
export * as bridgePlan from './plan.js';

function opts(net: DriverNetwork): BridgeOptions {
  return net.options as BridgeOptions;
}

/** Run a `link add`; when it fails because the name is taken, a typed 409 (nothing was made, nothing is undone). */
async function addLink(lines: string[], kind: 'bridge' | 'veth', name: string): Promise<void> {
  try {
    await applyHost(lines);
  } catch (err) {
    if (await linkExists(name)) throw new LinkExistsError(kind, name, err);
    throw err;
  }
}

/** The bridge driver. */
export class BridgeDriver implements Driver {
  readonly name = 'bridge';

  validateOptions(raw: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    return normalizeBridgeOptions(raw) as Readonly<Record<string, unknown>>;
  }

  async checkNetworkFree(net: DriverNetwork): Promise<void> {
    const br = bridgeNameFor(net.id, opts(net));
    if (await linkExists(br)) throw new LinkExistsError('bridge', br);
  }

  async createNetwork(net: DriverNetwork): Promise<void> {
    const br = bridgeNameFor(net.id, opts(net));
    // Add and mark in one batch: when it fails, a link carrying our mark is ours and goes; any other is not ours (L4).
    try {
      await applyHost(planAddBridge(net, opts(net)));
    } catch (err) {
      if ((await linkAlias(br)) === bridgeMark(net)) await deleteLinkIfExists(br);
      else if (await linkExists(br)) throw new LinkExistsError('bridge', br, err);
      throw err;
    }
    try {
      await applyHost(planCreateNetwork(net, opts(net)));
    } catch (err) {
      await deleteLinkIfExists(br);
      throw err;
    }
  }

  async discardNetwork(net: DriverNetwork): Promise<boolean> {
    const br = bridgeNameFor(net.id, opts(net));
    if ((await linkAlias(br)) !== bridgeMark(net)) return false;
    await deleteLinkIfExists(br);
    return true;
  }

  async checkEndpointFree(_net: DriverNetwork, endpointId: string): Promise<void> {
    const host = hostVethName(endpointId);
    if (await linkExists(host)) throw new LinkExistsError('veth', host);
  }

  async deleteNetwork(net: DriverNetwork): Promise<void> {
    const br = bridgeNameFor(net.id, opts(net));
    if (await linkExists(br)) await applyHost(planDeleteNetwork(net, opts(net)));
  }

  async join(join: DriverJoin): Promise<DriverJoinInfo> {
    const o = opts(join.network);
    const hostIfname = hostVethName(join.endpointId);
    await addLink(planAddVeth(join, o), 'veth', hostIfname);
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

  async endpointsPresent(_net: DriverNetwork, infos: readonly DriverJoinInfo[]): Promise<boolean[]> {
    if (infos.length === 0) return [];
    const names = new Set((await hostLinks()).map((l) => l.ifname));
    return infos.map((i) => names.has(i.hostIfname));
  }

  async releaseEndpoint(_net: DriverNetwork, endpointId: string): Promise<void> {
    // The pair dies with its host end, wherever the peer went (G10).
    await deleteLinkIfExists(hostVethName(endpointId));
  }

  async reconcileEndpoints(net: DriverNetwork, keep: readonly DriverJoinInfo[]): Promise<{ removed: string[]; reattached: string[] }> {
    const br = bridgeNameFor(net.id, opts(net));
    const kept = new Set(keep.map((i) => i.hostIfname));
    const links = await hostLinks();
    // Only veths of our naming on this network's own bridge are swept: provably ours, whoever else uses sv* names.
    const removed = links.filter((l) => l.master === br && l.ifname.startsWith('sv') && !kept.has(l.ifname)).map((l) => l.ifname);
    const reattached = links.filter((l) => kept.has(l.ifname) && l.master !== br).map((l) => l.ifname);
    for (const name of removed) await deleteLinkIfExists(name);
    await applyHost(reattached.map((name) => `link set ${name} master ${br} up`));
    return { removed, reattached };
  }

  async linkProblems(net: DriverNetwork, info: DriverJoinInfo, netnsPath: string, addresses: readonly string[]): Promise<string[]> {
    const br = bridgeNameFor(net.id, opts(net));
    const host = (await hostLinks()).find((l) => l.ifname === info.hostIfname);
    const out: string[] = [];
    if (host === undefined) out.push(`host veth ${info.hostIfname} is missing`);
    else if (host.master !== br) out.push(`host veth ${info.hostIfname} is not on bridge ${br}`);
    return [...out, ...(await sandboxLinkProblems(netnsPath, info.ifname, addresses))];
  }
}
