/**
 * Bridge plans (pure; G3, G10): each driver operation as an ordered list of
 * link operations, in the terms of rtnetlink (rtnetlink(7)): links, bridge
 * ports, addresses and routes by interface name. The io layer executes them
 * over rtnetlink (io/netlink.ts), on the host or inside a sandbox; tests check
 * them without root, and run every plan against the real kernel. renderOp
 * gives each operation's iproute2 equivalent, for logs, errors and by-hand
 * diagnosis (`ip -batch`); it is never executed.
 *
 * | kind           | effect                                                                  | host / sandbox |
 * |----------------|-------------------------------------------------------------------------|----------------|
 * | bridge-add     | create a bridge `name` (optional `mtu`, MAC `address`), down            | host           |
 * | veth-add       | create veth `name` here (on `master`, up) and its `peer` (its MAC) under its final name in `peerNetns` | host |
 * | link-set       | any of master, MTU, MAC address, ifalias, admin state of `dev`           | both           |
 * | port-set       | bridge port options of `dev` (hairpin mode)                              | host           |
 * | link-del       | delete `dev` (a veth pair dies with either end)                          | host           |
 * | addr-add       | add an address to `dev` (`nodad`: no IPv6 duplicate address detection)   | both           |
 * | route-default  | replace the default route of the gateway's family via `gateway` on `dev` | sandbox        |
 * | vxlan-add      | create a VXLAN device (learning off, proxy ARP/ND on), down              | host           |
 * | fdb-set        | replace the forwarding entry MAC → remote VTEP of a VXLAN device          | host           |
 * | fdb-del        | delete that entry                                                        | host           |
 * | neigh-set      | replace the neighbour entry IP → MAC on a device (permanent)              | host           |
 * | neigh-del      | delete that entry                                                        | host           |
 *
 * Adding an operation: a variant here, its line in renderOp, and its handler
 * in io/netlink.ts (the executor's handler table is typed by `kind`, so a
 * missing handler does not compile).
 */
import type { DriverJoin, DriverNetwork } from '../driver.js';
import { bridgeNameFor, hostVethName, type BridgeOptions } from './options.js';

/** One link operation. Interfaces are named; the executor resolves names to indexes in its namespace. */
export type LinkOp =
  /** RTM_NEWLINK kind bridge (create, exclusive). */
  | { readonly kind: 'bridge-add'; readonly name: string; readonly mtu?: number | undefined; readonly address?: string | undefined }
  /**
   * RTM_NEWLINK kind veth: `name` here, its peer `peer` created directly inside the namespace at `peerNetns`. One
   * request does what would take three: the host end is enslaved to `master` (IFLA_MASTER, applied on create by
   * rtnl_newlink) and comes up (`up`: IFF_UP in its ifinfomsg), and the peer gets its MAC `peerAddress` (IFLA_ADDRESS
   * in the peer's attributes). The peer cannot come up in the same request: veth_newlink configures it before the
   * two ends are tied, and opening an untied end fails (ENOTCONN).
   */
  | {
      readonly kind: 'veth-add'; readonly name: string; readonly peer: string; readonly peerNetns: string; readonly mtu?: number | undefined;
      readonly master?: string | undefined; readonly peerAddress?: string | undefined; readonly up?: boolean | undefined;
    }
  /** RTM_SETLINK on an existing link: any of master, MTU, MAC address, ifalias (IFLA_IFALIAS), admin state. */
  | {
      readonly kind: 'link-set'; readonly dev: string; readonly master?: string | undefined; readonly mtu?: number | undefined;
      readonly address?: string | undefined; readonly alias?: string | undefined; readonly up?: boolean | undefined;
    }
  /**
   * RTM_NEWLINK on a bridge port: IFLA_LINKINFO's slave data (IFLA_BRPORT_MODE, linux/if_link.h). Hairpin mode lets
   * a frame leave by the port it came in on: a container's packet DNATed back to itself (its own published port
   * through the host address) is bridged, since br_netfilter is active in new namespaces.
   */
  | { readonly kind: 'port-set'; readonly dev: string; readonly hairpin: boolean }
  /** RTM_DELLINK; a missing link is not an error when `ifExists` (idempotent deletes). */
  | { readonly kind: 'link-del'; readonly dev: string; readonly ifExists?: boolean }
  /** RTM_NEWADDR (create, exclusive); family from the address; `nodad` skips IPv6 duplicate address detection. */
  | { readonly kind: 'addr-add'; readonly dev: string; readonly address: string; readonly prefixLen: number; readonly nodad?: boolean }
  /** RTM_NEWROUTE (create, replace) of the default route in the main table; family from the gateway (IPv4 or IPv6). */
  | { readonly kind: 'route-default'; readonly gateway: string; readonly dev: string }
  /**
   * RTM_NEWLINK kind vxlan (create, exclusive): VNI `vni`, source address `local` (the VTEP), UDP `port`
   * (IANA's 4789, RFC 7348 §5), learning off (IFLA_VXLAN_LEARNING 0: remote MACs come from the store, never from
   * flooded frames) and proxy on (IFLA_VXLAN_PROXY 1: ARP requests and IPv6 neighbour solicitations are answered
   * from the device's neighbour table, so nothing is flooded over the underlay).
   */
  | { readonly kind: 'vxlan-add'; readonly name: string; readonly vni: number; readonly local: string; readonly port: number; readonly mtu?: number | undefined; readonly address?: string | undefined }
  /** RTM_NEWNEIGH AF_BRIDGE, NTF_SELF, NUD_PERMANENT (create, replace): frames to `mac` go to the VTEP `dst`. */
  | { readonly kind: 'fdb-set'; readonly dev: string; readonly mac: string; readonly dst: string }
  /** RTM_DELNEIGH AF_BRIDGE, NTF_SELF; a missing entry is not an error (idempotent). */
  | { readonly kind: 'fdb-del'; readonly dev: string; readonly mac: string; readonly dst: string }
  /** RTM_NEWNEIGH AF_INET/AF_INET6, NUD_PERMANENT (create, replace): `address` is at `mac` on `dev`. */
  | { readonly kind: 'neigh-set'; readonly dev: string; readonly address: string; readonly mac: string }
  /** RTM_DELNEIGH AF_INET/AF_INET6; a missing entry is not an error (idempotent). */
  | { readonly kind: 'neigh-del'; readonly dev: string; readonly address: string };

/** The operation kinds. */
export type LinkOpKind = LinkOp['kind'];

function prefixOf(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

/** The iproute2 line that does what `op` does (diagnostics only; never executed). */
export function renderOp(op: LinkOp): string {
  switch (op.kind) {
    case 'bridge-add':
      return `link add ${op.name}${op.mtu === undefined ? '' : ` mtu ${op.mtu}`}${op.address === undefined ? '' : ` address ${op.address}`} type bridge`;
    case 'veth-add': {
      const mtu = op.mtu === undefined ? '' : ` mtu ${op.mtu}`;
      const up = op.up === true ? ' up' : '';
      const master = op.master === undefined ? '' : ` master ${op.master}`;
      const address = op.peerAddress === undefined ? '' : ` address ${op.peerAddress}`;
      return `link add ${op.name}${mtu}${master}${up} type veth peer name ${op.peer}${mtu}${address} netns ${op.peerNetns}`;
    }
    case 'link-set': {
      const parts = [`link set ${op.dev}`];
      if (op.master !== undefined) parts.push(`master ${op.master}`);
      if (op.mtu !== undefined) parts.push(`mtu ${op.mtu}`);
      if (op.address !== undefined) parts.push(`address ${op.address}`);
      if (op.alias !== undefined) parts.push(`alias ${op.alias}`);
      if (op.up !== undefined) parts.push(op.up ? 'up' : 'down');
      return parts.join(' ');
    }
    case 'port-set':
      return `link set dev ${op.dev} type bridge_slave hairpin ${op.hairpin ? 'on' : 'off'}`;
    case 'link-del':
      return `link del ${op.dev}`;
    case 'addr-add':
      return `addr add ${op.address}/${op.prefixLen} dev ${op.dev}${op.nodad === true ? ' nodad' : ''}`;
    case 'route-default':
      return `${op.gateway.includes(':') ? '-6 ' : ''}route replace default via ${op.gateway} dev ${op.dev}`;
    case 'vxlan-add':
      return `link add ${op.name}${op.mtu === undefined ? '' : ` mtu ${op.mtu}`}${op.address === undefined ? '' : ` address ${op.address}`} type vxlan id ${op.vni} local ${op.local} dstport ${op.port} nolearning proxy`;
    // The `bridge` tool's lines (iproute2 has no `ip` form for a VXLAN device's own forwarding table).
    case 'fdb-set':
      return `bridge fdb replace ${op.mac} dev ${op.dev} dst ${op.dst} self permanent`;
    case 'fdb-del':
      return `bridge fdb del ${op.mac} dev ${op.dev} dst ${op.dst} self`;
    case 'neigh-set':
      return `neigh replace ${op.address} lladdr ${op.mac} dev ${op.dev} nud permanent`;
    case 'neigh-del':
      return `neigh del ${op.address} dev ${op.dev}`;
  }
}

/** The ifalias that marks a bridge as this network's (restore removes only marked ones, L4). */
export function bridgeMark(net: DriverNetwork): string {
  return `sandns:net:${net.id.slice(0, 32)}`;
}

/**
 * The bridge's MAC address, derived from the network id: a locally administered unicast address (IEEE 802 §8.2:
 * first octet 0x02) whose other five octets are the id's first 40 bits. Set in the same RTM_NEWLINK that creates the
 * bridge (the kernel ignores IFLA_IFALIAS on create), it marks the bridge as this network's from its first instant:
 * a crash between the add and the ifalias leaves a bridge restore still recognises (L4). A fixed MAC also keeps the
 * bridge's address from following its lowest port, as Docker gives its bridges a MAC of their own.
 */
export function bridgeMac(net: DriverNetwork): string {
  return ['02', ...(net.id.padEnd(10, '0').slice(0, 10).match(/../g) ?? [])].join(':');
}

/**
 * Host-namespace operations that create the bridge and mark it (its MAC at once, its ifalias next). Run on their
 * own: when the add fails because the name is taken, nothing was made and nothing may be undone (L4).
 */
export function planAddBridge(net: DriverNetwork, opts: BridgeOptions): LinkOp[] {
  const br = bridgeNameFor(net.id, opts);
  return [{ kind: 'bridge-add', name: br, mtu: opts.mtu, address: bridgeMac(net) }, { kind: 'link-set', dev: br, alias: bridgeMark(net) }];
}

/** Host-namespace operations that finish the new (marked) bridge: its gateway addresses, up. */
export function planCreateNetwork(net: DriverNetwork, opts: BridgeOptions): LinkOp[] {
  const br = bridgeNameFor(net.id, opts);
  const ops: LinkOp[] = [];
  ops.push({ kind: 'addr-add', dev: br, address: net.gateway, prefixLen: prefixOf(net.subnet) });
  if (net.subnet6 !== undefined && net.gateway6 !== undefined) {
    ops.push({ kind: 'addr-add', dev: br, address: net.gateway6, prefixLen: prefixOf(net.subnet6), nodad: true });
  }
  ops.push({ kind: 'link-set', dev: br, up: true });
  return ops;
}

/** Host-namespace operations that delete the bridge (its veths' host ends go with their own pairs). */
export function planDeleteNetwork(net: DriverNetwork, opts: BridgeOptions): LinkOp[] {
  return [{ kind: 'link-del', dev: bridgeNameFor(net.id, opts), ifExists: true }];
}

/** Host ops that put `dev` on `bridge`, up, with hairpin mode (a port can be set only once it is one). */
function planPort(dev: string, bridge: string): LinkOp[] {
  return [{ kind: 'link-set', dev, master: bridge, up: true }, { kind: 'port-set', dev, hairpin: true }];
}

/**
 * The host operation that creates the veth pair, run alone (see planAddBridge): its host end up on the bridge, its
 * peer inside the sandbox as eth<N> with the endpoint's MAC (if given).
 */
export function planAddVeth(join: DriverJoin, opts: BridgeOptions): LinkOp[] {
  return [{
    kind: 'veth-add', name: hostVethName(join.endpointId), peer: join.ifname, peerNetns: join.netnsPath, mtu: opts.mtu,
    master: bridgeNameFor(join.network.id, opts), peerAddress: join.mac, up: true,
  }];
}

/** Host-namespace operations once the pair exists (on the bridge and up since its creation): hairpin mode. */
export function planJoinHost(join: DriverJoin): LinkOp[] {
  return [{ kind: 'port-set', dev: hostVethName(join.endpointId), hairpin: true }];
}

/** Sandbox-namespace operations once the peer exists (its MAC set since its creation): addresses, up, default route(s). */
export function planJoinSandbox(join: DriverJoin): LinkOp[] {
  const eth = join.ifname;
  const net = join.network;
  const ops: LinkOp[] = [];
  ops.push({ kind: 'addr-add', dev: eth, address: join.ipv4, prefixLen: prefixOf(net.subnet) });
  if (join.ipv6 !== undefined && net.subnet6 !== undefined) {
    ops.push({ kind: 'addr-add', dev: eth, address: join.ipv6, prefixLen: prefixOf(net.subnet6), nodad: true });
  }
  ops.push({ kind: 'link-set', dev: eth, up: true });
  if (join.defaultRoute) ops.push(...planDefaultRoute(net, eth));
  return ops;
}

/** Sandbox-namespace operations that route the default through `eth`: IPv4, and IPv6 on a dual-stack network (internal: none; L2). */
export function planDefaultRoute(net: DriverNetwork, eth: string): LinkOp[] {
  if (net.internal) return [];
  const ops: LinkOp[] = [{ kind: 'route-default', gateway: net.gateway, dev: eth }];
  if (net.gateway6 !== undefined) ops.push({ kind: 'route-default', gateway: net.gateway6, dev: eth });
  return ops;
}

/** Host-namespace operations that put kept veths back on their (re-made) bridge, with hairpin mode (L3 restore). */
export function planReattach(bridge: string, hostIfnames: readonly string[]): LinkOp[] {
  return hostIfnames.flatMap((dev) => planPort(dev, bridge));
}
