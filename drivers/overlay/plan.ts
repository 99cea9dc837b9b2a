/**
 * Overlay plans (pure; G3): the VXLAN id a new network gets, the MTU of its
 * links, the operations that make and remove its VXLAN device, and the
 * forwarding and neighbour entries that make remote endpoints reachable
 * without flooding, as the difference between what the kernel has and what
 * the cluster store says. Executed by the bridge driver's rtnetlink executor
 * (LinkOp kinds vxlan-add, fdb-set/del, neigh-set/del).
 *
 * Entries (docs/overlay.md O3), per remote endpoint with a MAC, on the VXLAN
 * device of its network:
 * - forwarding (FDB, AF_BRIDGE, NTF_SELF): MAC → the VTEP of its host, so a
 *   frame for it is sent to that host only (no all-zeros flood entry exists);
 * - neighbour (ARP / IPv6 ND): IPv4 (and IPv6) → MAC, answered by the device
 *   itself (proxy), so address resolution never leaves the host.
 */
import type { LinkOp } from '../bridge/index.js';
import type { DriverPeer } from '../driver.js';
import { VniExhaustedError, VniInUseError } from './errors.js';
import { VNI_FIRST, VNI_LAST } from './options.js';

/** VXLAN encapsulation overhead on an IPv4 underlay: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 (RFC 7348 §5). */
export const VXLAN_OVERHEAD = 50;
/** The same on an IPv6 underlay (outer IPv6 header 40). */
export const VXLAN_OVERHEAD6 = 70;
/** IANA's VXLAN UDP port (RFC 7348 §5). */
export const VXLAN_PORT = 4789;

/** A VNI another network holds. */
export interface UsedVni {
  readonly vni: number;
  readonly network: string;
}

/**
 * The VNI of a new overlay network: `requested` when free, else the lowest free one from VNI_FIRST. Run inside the
 * cluster's create transaction (docs/cluster.md M3), whose `used` is the cluster's networks at the guarded revision,
 * so two hosts never allocate the same id. Throws ERR_OVERLAY_VNI_IN_USE, ERR_OVERLAY_VNI_EXHAUSTED.
 */
export function allocateVni(used: readonly UsedVni[], requested?: number): number {
  const taken = new Map(used.map((u) => [u.vni, u.network]));
  if (requested !== undefined) {
    const holder = taken.get(requested);
    if (holder !== undefined) throw new VniInUseError(requested, holder);
    return requested;
  }
  for (let v = VNI_FIRST; v <= VNI_LAST; v++) if (!taken.has(v)) return v;
  throw new VniExhaustedError(VNI_FIRST, VNI_LAST);
}

/** The MTU of an overlay's links on one host: the underlay's minus the encapsulation (of an IPv6 underlay with `ipv6`), or the asked one when lower. */
export function overlayMtu(underlayMtu: number, asked?: number, ipv6 = false): number {
  const most = underlayMtu - (ipv6 ? VXLAN_OVERHEAD6 : VXLAN_OVERHEAD);
  return asked === undefined ? most : Math.min(asked, most);
}

/** The ifalias that marks a VXLAN device as this network's (restore and the sweep remove only marked ones, L4). */
export function vxlanMark(networkId: string): string {
  return `sandns:ov:${networkId.slice(0, 32)}`;
}

/**
 * The VXLAN device's MAC: locally administered unicast (first octet 0x06) with the network id's first 40 bits, set in
 * the RTM_NEWLINK that creates it (the kernel ignores IFLA_IFALIAS on create), so a crash before its ifalias still
 * leaves a device restore recognises (L4), as the bridge's MAC does.
 */
export function vxlanMac(networkId: string): string {
  return ['06', ...(networkId.padEnd(10, '0').slice(0, 10).match(/../g) ?? [])].join(':');
}

/** The network id prefix a mark names, or undefined for a link that is not an overlay device of sandns. */
export function markedNetwork(alias: string | undefined): string | undefined {
  return alias?.startsWith('sandns:ov:') === true ? alias.slice('sandns:ov:'.length) : undefined;
}

/**
 * Host operations that make the VXLAN device, mark it, and put it on the network's bridge, up. Run after the bridge
 * exists; a taken name fails the add before anything is made.
 */
export function planAddVxlan(p: { networkId: string; vxlan: string; bridge: string; vni: number; local: string; mtu: number }): LinkOp[] {
  return [
    { kind: 'vxlan-add', name: p.vxlan, vni: p.vni, local: p.local, port: VXLAN_PORT, mtu: p.mtu, address: vxlanMac(p.networkId) },
    { kind: 'link-set', dev: p.vxlan, alias: vxlanMark(p.networkId) },
    { kind: 'link-set', dev: p.vxlan, master: p.bridge, up: true },
  ];
}

/** A remote endpoint as the cluster store publishes it, with the VTEP of its host. */
export type OverlayPeer = DriverPeer;

/** Forwarding and neighbour entries of one VXLAN device. */
export interface OverlayEntries {
  readonly fdb: readonly { readonly mac: string; readonly dst: string }[];
  readonly neigh: readonly { readonly address: string; readonly mac: string }[];
}

/**
 * The entries `peers` need: one forwarding entry per MAC, one neighbour entry per address. Deterministic for
 * conflicting records (a MAC or address claimed by two peers, which only a malformed or stale store holds): the
 * peer whose VTEP sorts first wins, so every host programs the same thing.
 */
export function desiredEntries(peers: readonly OverlayPeer[]): OverlayEntries {
  const fdb = new Map<string, string>();
  const neigh = new Map<string, string>();
  const sorted = [...peers].sort((a, b) => (a.vtep < b.vtep ? -1 : a.vtep > b.vtep ? 1 : 0));
  for (const p of sorted) {
    const mac = p.mac.toLowerCase();
    if (!fdb.has(mac)) fdb.set(mac, p.vtep);
    for (const address of [p.ipv4, p.ipv6]) if (address !== undefined && !neigh.has(address)) neigh.set(address, mac);
  }
  return {
    fdb: [...fdb].map(([mac, dst]) => ({ mac, dst })),
    neigh: [...neigh].map(([address, mac]) => ({ address, mac })),
  };
}

/**
 * The operations that turn `current` (the kernel's entries of `dev`) into `desired`: stale entries deleted first
 * (a MAC never points at two VTEPs at once: a second remote of one MAC is deleted too), then missing or changed ones
 * set (replace: idempotent). Applied to its own result it gives nothing: entries end equal to `desired`, each once.
 */
export function diffEntries(dev: string, current: OverlayEntries, desired: OverlayEntries): LinkOp[] {
  const wantFdb = new Map(desired.fdb.map((e) => [e.mac.toLowerCase(), e.dst]));
  const wantNeigh = new Map(desired.neigh.map((e) => [e.address, e.mac.toLowerCase()]));
  const dels: LinkOp[] = [];
  const sets: LinkOp[] = [];
  const haveFdb = new Set<string>();
  for (const e of current.fdb) {
    const mac = e.mac.toLowerCase();
    if (wantFdb.get(mac) !== e.dst) dels.push({ kind: 'fdb-del', dev, mac, dst: e.dst });
    else haveFdb.add(`${mac} ${e.dst}`);
  }
  const haveNeigh = new Map<string, string>();
  for (const e of current.neigh) {
    const mac = e.mac.toLowerCase();
    if (!wantNeigh.has(e.address)) dels.push({ kind: 'neigh-del', dev, address: e.address });
    else haveNeigh.set(e.address, mac);
  }
  for (const [mac, dst] of wantFdb) if (!haveFdb.has(`${mac} ${dst}`)) sets.push({ kind: 'fdb-set', dev, mac, dst });
  for (const [address, mac] of wantNeigh) if (haveNeigh.get(address) !== mac) sets.push({ kind: 'neigh-set', dev, address, mac });
  return [...dels, ...sets];
}
