/**
 * OverlayDriver (docs/overlay.md): one network across hosts over VXLAN
 * (RFC 7348), as libnetwork's overlay driver and flannel's vxlan backend.
 * On each host with an endpoint of the network: a bridge holding the gateway
 * address (every host answers for it: egress leaves through the local host)
 * and a VXLAN device on it (learning off, proxy ARP/ND), both in the host's
 * namespace (subnets of global networks never overlap, so no per-network
 * namespace is needed); veths as the bridge driver makes them. Remote
 * endpoints are reached through forwarding (MAC → VTEP) and neighbour
 * (IP → MAC) entries programmed from the cluster store (setPeers), never by
 * flooding. Bridge, veths, firewall (egress, isolation) are the bridge
 * driver's, run on the overlay's names and MTU.
 */
import { silentLogger, type Logger } from '../../common/log.js';
import type { Driver, DriverJoin, DriverJoinInfo, DriverNetwork, DriverPeer, DriverRestoredEndpoint } from '../driver.js';
import type { Firewall, PortMapping, PublishSpec } from '../firewall/index.js';
import { BridgeDriver, type LinkCounters } from '../bridge/index.js';
import { applyOps, deleteLinkIfExists, hostLinks, linkExists, linkMarks, mtuOfAddress, vxlanEntries } from '../bridge/io/netlink.js';
import { LinkExistsError } from '../errors.js';
import { VniInUseError } from './errors.js';
import { netlinkErrno } from '../../common/io/rtnetlink.js';
import { normalizeOverlayOptions, overlayBridgeName, vxlanName, type OverlayOptions } from './options.js';
import { desiredEntries, diffEntries, markedNetwork, overlayMtu, planAddVxlan, VXLAN_PORT, vxlanMac, vxlanMark, type OverlayEntries } from './plan.js';

export { normalizeOverlayOptions, overlayBridgeName, vxlanName, VNI_FIRST, VNI_LAST, type OverlayOptions } from './options.js';
export { allocateVni, desiredEntries, diffEntries, overlayMtu, VXLAN_OVERHEAD, VXLAN_OVERHEAD6, VXLAN_PORT, type OverlayEntries, type OverlayPeer, type UsedVni } from './plan.js';
export { NotAttachableError, OVERLAY_ERROR_CODES, VniExhaustedError, VniInUseError } from './errors.js';

/** Options of the overlay driver. */
export interface OverlayDriverOptions {
  /** The firewall shared with the bridge driver (one table: isolation holds between bridge and overlay networks). */
  readonly firewall?: Firewall | undefined;
  /** This host's VTEP address (`--cluster-advertise`); without it no overlay network can be made here. */
  readonly advertise?: string | undefined;
  readonly logger?: Logger;
}

/** Underlay MTU assumed when no link holds the advertise address (behind NAT): Ethernet's. */
const DEFAULT_UNDERLAY_MTU = 1500;
/** Retry delay of a failed entry sync. */
const RETRY_MS = 1_000;

function opts(net: DriverNetwork): OverlayOptions {
  return net.options as OverlayOptions;
}

/** Per network: the entries the store asks for and the one sync running. */
interface PeerState {
  desired: OverlayEntries;
  dirty: boolean;
  running: Promise<void> | undefined;
  retry: NodeJS.Timeout | undefined;
}

/** The overlay driver. */
export class OverlayDriver implements Driver {
  readonly name = 'overlay';
  readonly dataScope = 'global' as const;
  readonly #bridge: BridgeDriver;
  readonly #advertise: string | undefined;
  readonly #log: Logger;
  #underlay: Promise<number> | undefined;
  /** The MTU the links of this host get, once known. */
  #underlayMtu: number | undefined;
  readonly #peers = new Map<string, PeerState>();
  #closed = false;

  constructor(options: OverlayDriverOptions = {}) {
    this.#bridge = new BridgeDriver({ firewall: options.firewall, logger: options.logger });
    this.#advertise = options.advertise;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'overlay' });
  }

  validateOptions(raw: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    return normalizeOverlayOptions(raw) as Readonly<Record<string, unknown>>;
  }

  /** The underlay's MTU: that of the link holding the VTEP address (read once; 1500 when none holds it). */
  #underlayOf(): Promise<number> {
    this.#underlay ??= (async () => {
      const mtu = this.#advertise === undefined ? undefined : await mtuOfAddress(this.#advertise);
      if (mtu === undefined) this.#log.warn({ advertise: this.#advertise }, `no link holds the advertise address: assuming an underlay MTU of ${DEFAULT_UNDERLAY_MTU}`);
      this.#underlayMtu = mtu ?? DEFAULT_UNDERLAY_MTU;
      return this.#underlayMtu;
    })().catch((err: unknown) => {
      this.#underlay = undefined;
      throw err;
    });
    return this.#underlay;
  }

  /** The network as the bridge driver runs it: the overlay's bridge name and MTU. */
  async #inner(net: DriverNetwork): Promise<DriverNetwork> {
    const mtu = overlayMtu(await this.#underlayOf(), opts(net).mtu, this.#advertise?.includes(':'));
    return { ...net, options: { bridgeName: overlayBridgeName(net.id), mtu } };
  }

  #vni(net: DriverNetwork): number {
    const vni = opts(net).vni;
    if (vni === undefined) throw new Error(`overlay network ${net.name} has no VXLAN id`);
    return vni;
  }

  async checkNetworkFree(net: DriverNetwork): Promise<void> {
    for (const [kind, name] of [['bridge', overlayBridgeName(net.id)], ['vxlan', vxlanName(net.id)]] as const) {
      if (await linkExists(name)) throw new LinkExistsError(kind, name);
    }
  }

  async createNetwork(net: DriverNetwork): Promise<void> {
    if (this.#advertise === undefined) throw new Error('overlay networks need --cluster-advertise (the VTEP address)');
    const vni = this.#vni(net);
    // Leftovers of a crash (marked as this network's) go first: the devices are made whole, never half-reused.
    await this.discardNetwork(net);
    const inner = await this.#inner(net);
    const vx = vxlanName(net.id);
    await this.#bridge.createNetwork(inner);
    try {
      await applyOps(null, planAddVxlan({ networkId: net.id, vxlan: vx, bridge: overlayBridgeName(net.id), vni, local: this.#advertise, mtu: Number(inner.options.mtu) }));
    } catch (err) {
      const taken = !(await vxlanIsOurs(vx, net.id)) && (await linkExists(vx));
      if (!taken) await deleteLinkIfExists(vx);
      await this.#bridge.deleteNetwork(inner).catch(() => undefined);
      if (taken) throw new LinkExistsError('vxlan', vx, err);
      // Our name was free, so EEXIST is vxlan_config_validate's: a device of someone else's has this id and port.
      if (netlinkErrno(err) === 'EEXIST') throw new VniInUseError(vni, net.name, { port: VXLAN_PORT, cause: err });
      throw err;
    }
    this.#log.info({ network: net.name, vni, vxlan: vx, mtu: inner.options.mtu, vtep: this.#advertise }, 'overlay devices created');
    this.#kick(net.id);
  }

  async discardNetwork(net: DriverNetwork): Promise<boolean> {
    const vx = vxlanName(net.id);
    let removed = false;
    if (await vxlanIsOurs(vx, net.id)) {
      await deleteLinkIfExists(vx);
      removed = true;
    }
    // The bridge driver knows its own marks (ifalias or MAC).
    if (await this.#bridge.discardNetwork({ ...net, options: { bridgeName: overlayBridgeName(net.id) } })) removed = true;
    return removed;
  }

  async deleteNetwork(net: DriverNetwork): Promise<void> {
    // Entries go with the device; the wanted set is handed over again before the devices are next made (setPeers).
    const st = this.#peers.get(net.id);
    if (st !== undefined && st.running === undefined) {
      clearTimeout(st.retry);
      this.#peers.delete(net.id);
    }
    await deleteLinkIfExists(vxlanName(net.id));
    await this.#bridge.deleteNetwork(await this.#inner(net));
    this.#log.info({ network: net.name }, 'overlay devices removed');
  }

  async join(join: DriverJoin): Promise<DriverJoinInfo> {
    return this.#bridge.join({ ...join, network: await this.#inner(join.network) });
  }

  async leave(net: DriverNetwork, info: DriverJoinInfo): Promise<void> {
    await this.#bridge.leave(await this.#inner(net), info);
  }

  async setDefaultRoute(net: DriverNetwork, info: DriverJoinInfo, netnsPath: string): Promise<void> {
    await this.#bridge.setDefaultRoute(await this.#inner(net), info, netnsPath);
  }

  async networkExists(net: DriverNetwork): Promise<boolean> {
    // The bridge driver checks its mark (a same-named bridge that is not ours throws); the VXLAN device has its own.
    const bridged = await this.#bridge.networkExists({ ...net, options: { bridgeName: overlayBridgeName(net.id) } });
    return bridged && (await vxlanIsOurs(vxlanName(net.id), net.id));
  }

  async endpointsPresent(net: DriverNetwork, infos: readonly DriverJoinInfo[]): Promise<boolean[]> {
    return this.#bridge.endpointsPresent(net, infos);
  }

  async releaseEndpoint(net: DriverNetwork, endpointId: string): Promise<void> {
    await this.#bridge.releaseEndpoint(net, endpointId);
  }

  async reconcileEndpoints(net: DriverNetwork, keep: readonly DriverJoinInfo[]): Promise<{ removed: string[]; reattached: string[] }> {
    // Only veths (sv*) are swept or put back: the VXLAN device is made together with its bridge (createNetwork).
    return this.#bridge.reconcileEndpoints(await this.#inner(net), keep);
  }

  async reservePorts(net: DriverNetwork, endpointId: string, specs: readonly PublishSpec[]): Promise<PortMapping[]> {
    return this.#bridge.reservePorts(net, endpointId, specs);
  }

  async releasePorts(endpointId: string): Promise<void> {
    await this.#bridge.releasePorts(endpointId);
  }

  async interfaceStats(infos: readonly DriverJoinInfo[]): Promise<(LinkCounters | undefined)[]> {
    return this.#bridge.interfaceStats(infos);
  }

  async restoreExternalConnectivity(networks: readonly DriverNetwork[], endpoints: readonly DriverRestoredEndpoint[]): Promise<void> {
    const inner = await Promise.all(networks.map((n) => this.#inner(n)));
    const byId = new Map(inner.map((n) => [n.id, n]));
    await this.#bridge.restoreExternalConnectivity(inner, endpoints.map((e) => ({ ...e, network: byId.get(e.network.id) ?? e.network })));
  }

  describeNetwork(net: DriverNetwork): Readonly<Record<string, unknown>> {
    const mtu = this.#underlayMtu === undefined ? undefined : overlayMtu(this.#underlayMtu, opts(net).mtu, this.#advertise?.includes(':'));
    return {
      bridge: overlayBridgeName(net.id), vxlan: vxlanName(net.id), vni: opts(net).vni, attachable: opts(net).attachable === true,
      ...(mtu === undefined ? {} : { mtu }), ...(this.#advertise === undefined ? {} : { vtep: this.#advertise }),
      peers: this.#peers.get(net.id)?.desired.fdb.length ?? 0,
    };
  }

  async linkProblems(net: DriverNetwork, info: DriverJoinInfo, netnsPath: string, addresses: readonly string[]): Promise<string[]> {
    const out = await this.#bridge.linkProblems(await this.#inner(net), info, netnsPath, addresses);
    const vx = vxlanName(net.id);
    const link = (await hostLinks()).find((l) => l.ifname === vx);
    if (link === undefined) out.unshift(`vxlan device ${vx} is missing`);
    else if (link.master !== overlayBridgeName(net.id)) out.unshift(`vxlan device ${vx} is not on bridge ${overlayBridgeName(net.id)}`);
    return out;
  }

  setPeers(net: DriverNetwork, peers: readonly DriverPeer[]): void {
    let st = this.#peers.get(net.id);
    if (st === undefined) this.#peers.set(net.id, (st = { desired: { fdb: [], neigh: [] }, dirty: false, running: undefined, retry: undefined }));
    st.desired = desiredEntries(peers);
    this.#kick(net.id);
  }

  /** Sync the network's entries with its desired set; one sync at a time, coalescing changes that arrive meanwhile. */
  #kick(id: string): void {
    const st = this.#peers.get(id);
    if (st === undefined || this.#closed) return;
    st.dirty = true;
    if (st.running !== undefined) return;
    st.running = (async () => {
      while (st.dirty && !this.#closed) {
        st.dirty = false;
        try {
          await this.#syncOnce(id, st);
        } catch (err) {
          this.#log.warn({ err, network: id.slice(0, 12) }, `overlay entries not programmed: retrying in ${RETRY_MS} ms`);
          clearTimeout(st.retry);
          st.retry = setTimeout(() => this.#kick(id), RETRY_MS);
          st.retry.unref();
          break;
        }
      }
    })().finally(() => (st.running = undefined));
  }

  async #syncOnce(id: string, st: PeerState): Promise<void> {
    const vx = vxlanName(id);
    const current = await vxlanEntries(vx);
    if (current === undefined) return; // no device here (no local endpoint): made, and synced, at the first join
    const ops = diffEntries(vx, current, st.desired);
    if (ops.length === 0) return;
    await applyOps(null, ops);
    this.#log.debug({ vxlan: vx, changes: ops.length }, 'overlay entries synced');
  }

  async sweepNetworks(keep: readonly DriverNetwork[]): Promise<string[]> {
    const kept = new Set(keep.map((n) => vxlanMark(n.id)));
    const removed: string[] = [];
    for (const l of await hostLinks()) {
      if (!l.ifname.startsWith('vx-')) continue;
      const alias = (await linkMarks(l.ifname))?.alias;
      const id = markedNetwork(alias);
      if (id === undefined || kept.has(alias!)) continue;
      await deleteLinkIfExists(l.ifname);
      removed.push(l.ifname);
      const br = overlayBridgeName(id);
      const brMarks = await linkMarks(br);
      if (brMarks?.alias === `sandns:net:${id}` || brMarks?.mac === vxlanMac(id).replace(/^06/, '02')) {
        await deleteLinkIfExists(br);
        removed.push(br);
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const st of this.#peers.values()) clearTimeout(st.retry);
    await this.#bridge.linksSettled(); // its firewall is the bridge driver's, closed there
  }
}

/** Whether the VXLAN device `vx` is this network's: its ifalias, or the MAC it was created with (L4). */
async function vxlanIsOurs(vx: string, networkId: string): Promise<boolean> {
  const marks = await linkMarks(vx);
  return marks !== undefined && (marks.alias === vxlanMark(networkId) || marks.mac === vxlanMac(networkId));
}
