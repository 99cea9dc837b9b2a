/**
 * BridgeDriver (L2): one Linux bridge per network holding the gateway
 * address(es); one veth pair per endpoint, the inner end created inside the
 * sandbox as eth<N>, addresses and the default route set there, the host end
 * a hairpin port of the bridge. Plans are pure (plan.ts); io/netlink.ts runs
 * them over rtnetlink, in-process. With a firewall (drivers/firewall): egress
 * NAT, isolation between networks and published ports, as libnetwork's
 * bridge driver does with iptables.
 */
import type { Driver, DriverJoin, DriverJoinInfo, DriverNetwork, DriverRestoredEndpoint } from '../driver.js';
import type { Firewall, FirewallNetwork, PortMapping, PublishSpec } from '../firewall/index.js';
import { PortsUnavailableError } from './errors.js';
import { bridgeNameFor, hostVethName, normalizeBridgeOptions, type BridgeOptions } from './options.js';
import { bridgeMac, bridgeMark, planAddBridge, planAddVeth, planCreateNetwork, planDefaultRoute, planDeleteNetwork, planJoinHost, planJoinSandbox, planReattach } from './plan.js';
import { swapDirection, type LinkCounters } from './stats.js';
import { applyOps, deleteLinkIfExists, hostLinkCounters, hostLinks, linkExists, linkMarks, macString } from './io/netlink.js';
import { watchDeletedLinks, type LinkWatch } from './io/monitor.js';
import { newLinksGetIpv6 } from './io/ipv6.js';
import { sandboxLinkProblems } from '../io/sandbox-link.js';
import { HostIpv6DisabledError, LinkExistsError, NetworkFullError } from '../errors.js';
import { crashPoint } from '../../common/crash.js';
import { leftBehind } from '../../common/errors.js';
import { netlinkErrno } from '../../common/io/rtnetlink.js';
import { silentLogger, type Logger } from '../../common/log.js';

export { normalizeBridgeOptions } from './options.js';
export type { BridgeOptions } from './options.js';
export type { LinkOp } from './plan.js';
export type { LinkCounters } from './stats.js';
export { BRIDGE_ERROR_CODES } from './errors.js';
export * as bridgePlan from './plan.js';

function opts(net: DriverNetwork): BridgeOptions {
  return net.options as BridgeOptions;
}

/** True when the link `br` carries this network's mark: its ifalias, or the MAC set in the same request that made it (L4). */
async function markedOurs(net: DriverNetwork, br: string): Promise<boolean> {
  const marks = await linkMarks(br);
  return marks !== undefined && (marks.alias === bridgeMark(net) || marks.mac === bridgeMac(net));
}

function firewallNetwork(net: DriverNetwork): FirewallNetwork {
  return { id: net.id, bridge: bridgeNameFor(net.id, opts(net)), internal: net.internal, subnet: net.subnet, subnet6: net.subnet6 };
}

/** Options of the bridge driver. */
export interface BridgeDriverOptions {
  /** The firewall (egress, isolation, published ports); without one, networks are bridges only (Docker's `--iptables=false`). */
  readonly firewall?: Firewall | undefined;
  /** Where a veth deletion that failed after its link was already gone is reported (default: nowhere). */
  readonly logger?: Logger | undefined;
}

/** The bridge driver. */
export class BridgeDriver implements Driver {
  readonly name = 'bridge';
  readonly #firewall: Firewall | undefined;
  /** The host-link dump in flight for restore's checks, shared by every network asking meanwhile. */
  #restoreDump: Promise<{ ifname: string; master?: string }[]> | undefined;
  readonly #logger: Logger;
  /** Deletions of left endpoints' veths whose links are gone but whose requests have not returned (leave). */
  readonly #deleting = new Set<Promise<void>>();
  /** Link names a leave waits to see deleted (RTM_DELLINK), with what to call then. */
  readonly #awaitedDeletions = new Map<string, Set<() => void>>();
  /** The controller's watches of vanished endpoint links (watchEndpoints). */
  readonly #endpointWatches = new Set<{ readonly onGone: (hostIfname: string) => void; readonly onError: (err: Error) => void }>();
  /** The driver's one subscription to link deletions, serving both (made at first use, closed by close()). */
  #deletedLinks: LinkWatch | undefined;

  constructor(options: BridgeDriverOptions = {}) {
    this.#firewall = options.firewall;
    this.#logger = options.logger ?? silentLogger();
  }

  /** Subscribe to link deletions once (throws when the socket cannot be made); each event goes to whoever waits for it. */
  #watchDeletions(): void {
    this.#deletedLinks ??= watchDeletedLinks(
      (ifname) => {
        this.#awaitedDeletions.get(ifname)?.forEach((heard) => heard());
        // hostVethName's prefix: the controller matches the exact name.
        if (ifname.startsWith('sv')) for (const w of this.#endpointWatches) w.onGone(ifname);
      },
      (err) => {
        this.#logger.debug({ err }, 'link deletion events may have been lost: a leave then waits for its request');
        for (const w of this.#endpointWatches) w.onError(err);
      },
    );
  }

  /**
   * Resolves when the link `name` is reported deleted (RTM_DELLINK), never when the link watch cannot run: the
   * caller races it with its own request. Subscribed before it returns, so a deletion asked for next is heard.
   */
  #deletionHeard(name: string): { heard: Promise<void>; cancel(): void } {
    try {
      this.#watchDeletions();
    } catch (err) {
      this.#logger.debug({ err }, 'cannot watch link deletions: a leave waits for its request');
      return { heard: new Promise(() => undefined), cancel: () => undefined };
    }
    const waiting = this.#awaitedDeletions.get(name) ?? new Set<() => void>();
    this.#awaitedDeletions.set(name, waiting);
    let resolveHeard = (): void => undefined;
    const heard = new Promise<void>((resolve) => waiting.add((resolveHeard = resolve)));
    return {
      heard,
      cancel: () => {
        waiting.delete(resolveHeard);
        if (waiting.size === 0 && this.#awaitedDeletions.get(name) === waiting) this.#awaitedDeletions.delete(name);
      },
    };
  }

  validateOptions(raw: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    return normalizeBridgeOptions(raw) as Readonly<Record<string, unknown>>;
  }

  async checkNetworkFree(net: DriverNetwork): Promise<void> {
    const br = bridgeNameFor(net.id, opts(net));
    if (await linkExists(br)) throw new LinkExistsError('bridge', br);
    if (net.subnet6 !== undefined && !(await newLinksGetIpv6())) throw new HostIpv6DisabledError(net.name);
  }

  async createNetwork(net: DriverNetwork): Promise<void> {
    const br = bridgeNameFor(net.id, opts(net));
    // Again here: a global network's bridge is made at its first connect on this host, which checkNetworkFree never saw.
    if (net.subnet6 !== undefined && !(await newLinksGetIpv6())) throw new HostIpv6DisabledError(net.name);
    // When the add (or its mark) fails, a link carrying our mark is ours and goes; any other is not ours (L4).
    // A cleanup that fails too leaves the bridge: the error is marked, so the network's write-ahead record stays for restore.
    try {
      await applyOps(null, planAddBridge(net, opts(net)));
    } catch (err) {
      if (await markedOurs(net, br)) await deleteLinkIfExists(br).catch(() => void leftBehind(err));
      else if (await linkExists(br)) throw new LinkExistsError('bridge', br, err);
      throw err;
    }
    try {
      await applyOps(null, planCreateNetwork(net, opts(net)));
      await this.#firewall?.addNetwork(firewallNetwork(net));
    } catch (err) {
      await this.#firewall?.removeNetwork(net.id, true).catch(() => undefined);
      await deleteLinkIfExists(br).catch(() => void leftBehind(err));
      throw err;
    }
  }

  async discardNetwork(net: DriverNetwork): Promise<boolean> {
    const br = bridgeNameFor(net.id, opts(net));
    if (!(await markedOurs(net, br))) return false;
    await deleteLinkIfExists(br);
    return true;
  }

  async deleteNetwork(net: DriverNetwork): Promise<void> {
    await this.#firewall?.removeNetwork(net.id);
    try {
      await applyOps(null, planDeleteNetwork(net, opts(net)));
    } catch (err) {
      // The bridge stays, and the network with it (the controller keeps it): so do its NAT, isolation and ports.
      await this.#firewall?.addNetwork(firewallNetwork(net)).catch((e: unknown) => this.#logger.warn({ err: e, network: net.name }, 'the bridge stays but its firewall elements could not be put back'));
      throw err;
    }
  }

  async join(join: DriverJoin): Promise<DriverJoinInfo> {
    const o = opts(join.network);
    const hostIfname = hostVethName(join.endpointId);
    try {
      await applyOps(null, planAddVeth(join, o));
    } catch (err) {
      // Nothing was made: a taken name is a typed 409, and nothing is undone (L4). A full bridge (EXFULL) undid the veth itself.
      if (netlinkErrno(err).startsWith('EXFULL')) throw new NetworkFullError(bridgeNameFor(join.network.id, o), err);
      if (await linkExists(hostIfname)) throw new LinkExistsError('veth', hostIfname, err);
      // The peer is created in the sandbox's namespace under its final name: a link of that name there refuses the pair.
      if (netlinkErrno(err) === 'EEXIST' && (await linkExists(join.ifname, join.netnsPath))) throw new LinkExistsError('sandbox', join.ifname, err);
      throw err;
    }
    try {
      // The host end's hairpin mode and the sandbox side are independent: both requests are in flight at once.
      const [host, sandbox] = await Promise.allSettled([
        applyOps(null, planJoinHost(join)),
        // The MAC is the one the peer was created with, if given; else the kernel's choice, read back.
        applyOps(join.netnsPath, planJoinSandbox(join), async (link) => join.mac ?? macString((await link(join.ifname)).attrs.address), true),
      ]);
      if (host.status === 'rejected') throw host.reason;
      if (sandbox.status === 'rejected') throw sandbox.reason;
      const mac = sandbox.value;
      const mappings = join.portMappings ?? [];
      if (mappings.length > 0) {
        await this.#firewall?.publish({ endpointId: join.endpointId, networkId: join.network.id, ipv4: join.ipv4, ipv6: join.ipv6, mappings });
      }
      return { hostIfname, ifname: join.ifname, mac: mac ?? '', endpointId: join.endpointId };
    } catch (err) {
      // Deleting the host end deletes the pair, wherever the peer is (G10).
      await deleteLinkIfExists(hostIfname);
      throw err;
    }
  }

  /**
   * Delete the endpoint's veth pair (deleting the host end deletes its peer, wherever it is), and resolve as soon as
   * the kernel reports it deleted (RTM_DELLINK) rather than when the request returns. The kernel unlists both ends,
   * their addresses and the bridge port before it sends that event; the request then still waits for RCU grace
   * periods and for the last references (netdev_run_todo), 15–40 ms on a small VM and most of a disconnect. That
   * wait finishes on the request's own sender thread (common/io/rtnetlink.ts); close() waits for it. Without the
   * event (the link watch cannot run, or dropped it in a burst) leave waits for the request. Throws
   * ERR_NETLINK_FAILED when the deletion fails first; a link already gone is not an error.
   */
  async leave(_net: DriverNetwork, info: DriverJoinInfo): Promise<void> {
    if (info.endpointId !== undefined) await this.#firewall?.unpublish(info.endpointId);
    const event = this.#deletionHeard(info.hostIfname);
    const deletion = deleteLinkIfExists(info.hostIfname);
    let answered = false; // a failure before the answer is this leave's error, not a log line
    const tracked = deletion.catch((err: unknown) => {
      if (answered) this.#logger.warn({ err, link: info.hostIfname }, 'a veth deletion failed after its link was gone');
    });
    this.#deleting.add(tracked);
    void tracked.finally(() => this.#deleting.delete(tracked));
    try {
      await Promise.race([event.heard, deletion]);
      answered = true;
    } finally {
      event.cancel();
    }
    crashPoint('kernel-changed'); // the link is gone: the kernel change a crash from here on must find done
  }

  async setDefaultRoute(net: DriverNetwork, info: DriverJoinInfo, netnsPath: string): Promise<void> {
    await applyOps(netnsPath, planDefaultRoute(net, info.ifname));
  }

  async networkExists(net: DriverNetwork): Promise<boolean> {
    const br = bridgeNameFor(net.id, opts(net));
    if (await markedOurs(net, br)) return true;
    // Every bridge this driver makes carries the mark from the request that made it (its MAC): a same-named bridge
    // without it is another's (a bridge_name the host's own configuration made after a reboot, say). Adopted, it
    // would get our addresses and firewall rules and be deleted with the network.
    if (await linkExists(br)) throw new LinkExistsError('bridge', br);
    return false;
  }

  /**
   * One dump of the host's links for restore's per-network checks made at the same time (restore asks for every
   * network at once): with a thousand veths a dump costs tens of milliseconds to parse, once instead of per network.
   * Only restore uses it, whose checks of one phase need no change made by another network's check of that phase.
   */
  #sharedHostLinks(): Promise<{ ifname: string; master?: string }[]> {
    this.#restoreDump ??= hostLinks().finally(() => {
      this.#restoreDump = undefined;
    });
    return this.#restoreDump;
  }

  async endpointsPresent(_net: DriverNetwork, infos: readonly DriverJoinInfo[]): Promise<boolean[]> {
    if (infos.length === 0) return [];
    const names = new Set((await this.#sharedHostLinks()).map((l) => l.ifname));
    return infos.map((i) => names.has(i.hostIfname));
  }

  async releaseEndpoint(_net: DriverNetwork, endpointId: string): Promise<void> {
    await this.#firewall?.unpublish(endpointId);
    // The pair dies with its host end, wherever the peer went (G10).
    await deleteLinkIfExists(hostVethName(endpointId));
  }

  watchEndpoints(onGone: (hostIfname: string) => void, onError: (err: Error) => void): { close(): void } {
    this.#watchDeletions(); // the same subscription that tells a leave its veth is gone
    const watch = { onGone, onError };
    this.#endpointWatches.add(watch);
    return { close: () => this.#endpointWatches.delete(watch) };
  }

  async reconcileEndpoints(net: DriverNetwork, keep: readonly DriverJoinInfo[]): Promise<{ removed: string[]; reattached: string[] }> {
    const br = bridgeNameFor(net.id, opts(net));
    const kept = new Set(keep.map((i) => i.hostIfname));
    const links = await this.#sharedHostLinks();
    // Only veths of our naming on this network's own bridge are swept: provably ours, whoever else uses sv* names.
    const removed = links.filter((l) => l.master === br && l.ifname.startsWith('sv') && !kept.has(l.ifname)).map((l) => l.ifname);
    const reattached = links.filter((l) => kept.has(l.ifname) && l.master !== br).map((l) => l.ifname);
    for (const name of removed) await deleteLinkIfExists(name);
    await applyOps(null, planReattach(br, reattached));
    return { removed, reattached };
  }

  async reservePorts(net: DriverNetwork, endpointId: string, specs: readonly PublishSpec[]): Promise<PortMapping[]> {
    if (specs.length === 0) return [];
    if (this.#firewall === undefined) throw new PortsUnavailableError('the daemon runs without its firewall (--no-firewall)');
    if (net.internal) throw new PortsUnavailableError(`network ${net.name} is internal: nothing from outside reaches it`);
    return this.#firewall.reserve(endpointId, specs);
  }

  async releasePorts(endpointId: string): Promise<void> {
    await this.#firewall?.release(endpointId);
  }

  async interfaceStats(infos: readonly DriverJoinInfo[]): Promise<(LinkCounters | undefined)[]> {
    if (infos.length === 0) return [];
    const counters = await hostLinkCounters();
    return infos.map((i) => {
      const c = counters.get(i.hostIfname);
      return c === undefined ? undefined : swapDirection(c);
    });
  }

  async restoreExternalConnectivity(networks: readonly DriverNetwork[], endpoints: readonly DriverRestoredEndpoint[]): Promise<void> {
    if (this.#firewall === undefined) return;
    const reserved = new Map(endpoints.filter((e) => e.portMappings.length > 0).map((e) => [e.endpointId, e.portMappings] as const));
    const published = endpoints.filter((e) => e.joined && e.portMappings.length > 0).map((e) => ({
      endpointId: e.endpointId, networkId: e.network.id, ipv4: e.ipv4, ipv6: e.ipv6, mappings: e.portMappings,
    }));
    await this.#firewall.restore(networks.map(firewallNetwork), reserved, published);
  }

  describeNetwork(net: DriverNetwork): Readonly<Record<string, unknown>> {
    return { bridge: bridgeNameFor(net.id, opts(net)), mtu: opts(net).mtu ?? 1500 };
  }

  async linkProblems(net: DriverNetwork, info: DriverJoinInfo, netnsPath: string, addresses: readonly string[]): Promise<string[]> {
    const br = bridgeNameFor(net.id, opts(net));
    const host = (await hostLinks()).find((l) => l.ifname === info.hostIfname);
    const out: string[] = [];
    if (host === undefined) out.push(`host veth ${info.hostIfname} is missing`);
    else if (host.master !== br) out.push(`host veth ${info.hostIfname} is not on bridge ${br}`);
    return [...out, ...(await sandboxLinkProblems(netnsPath, info.ifname, addresses))];
  }

  /** Resolves once every left endpoint's veth deletion request has returned (close; the overlay driver's close). */
  async linksSettled(): Promise<void> {
    await Promise.all(this.#deleting);
  }

  async close(): Promise<void> {
    this.#deletedLinks?.close();
    this.#deletedLinks = undefined;
    await this.linksSettled();
    await this.#firewall?.close();
  }
}
