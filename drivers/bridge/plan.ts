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
 * | bridge-add     | create a bridge `name` (optional `mtu`), down                           | host           |
 * | veth-add       | create veth `name` here and its `peer`, under its final name, in `peerNetns` | host      |
 * | link-set       | any of master, MTU, MAC address, ifalias, admin state of `dev`           | both           |
 * | port-set       | bridge port options of `dev` (hairpin mode)                              | host           |
 * | link-del       | delete `dev` (a veth pair dies with either end)                          | host           |
 * | addr-add       | add an address to `dev` (`nodad`: no IPv6 duplicate address detection)   | both           |
 * | route-default  | replace the default route of the gateway's family via `gateway` on `dev` | sandbox        |
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
  | { readonly kind: 'bridge-add'; readonly name: string; readonly mtu?: number | undefined }
  /** RTM_NEWLINK kind veth: `name` here, its peer `peer` created directly inside the namespace at `peerNetns`. */
  | { readonly kind: 'veth-add'; readonly name: string; readonly peer: string; readonly peerNetns: string; readonly mtu?: number | undefined }
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
  | { readonly kind: 'route-default'; readonly gateway: string; readonly dev: string };

/** The operation kinds. */
export type LinkOpKind = LinkOp['kind'];

function prefixOf(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

/** The iproute2 line that does what `op` does (diagnostics only; never executed). */
export function renderOp(op: LinkOp): string {
  switch (op.kind) {
    case 'bridge-add':
      return `link add ${op.name}${op.mtu === undefined ? '' : ` mtu ${op.mtu}`} type bridge`;
    case 'veth-add': {
      const mtu = op.mtu === undefined ? '' : ` mtu ${op.mtu}`;
      return `link add ${op.name}${mtu} type veth peer name ${op.peer}${mtu} netns ${op.peerNetns}`;
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
  }
}

/** The ifalias that marks a bridge as this network's (restore removes only marked ones, L4). */
export function bridgeMark(net: DriverNetwork): string {
  return `sandns:net:${net.id.slice(0, 32)}`;
}

/**
 * Host-namespace operations that create the bridge and mark it. Run on their own: when the add fails because the
 * name is taken, nothing was made and nothing may be undone (L4); a crash between the two leaves an unmarked
 * bridge, which restore treats as not ours.
 */
export function planAddBridge(net: DriverNetwork, opts: BridgeOptions): LinkOp[] {
  const br = bridgeNameFor(net.id, opts);
  return [{ kind: 'bridge-add', name: br, mtu: opts.mtu }, { kind: 'link-set', dev: br, alias: bridgeMark(net) }];
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

/** The host operation that creates the veth pair, its peer created inside the sandbox as eth<N>: run alone (see planAddBridge). */
export function planAddVeth(join: DriverJoin, opts: BridgeOptions): LinkOp[] {
  return [{ kind: 'veth-add', name: hostVethName(join.endpointId), peer: join.ifname, peerNetns: join.netnsPath, mtu: opts.mtu }];
}

/** Host-namespace operations once the pair exists: the host end on the bridge, up, with hairpin mode. */
export function planJoinHost(join: DriverJoin, opts: BridgeOptions): LinkOp[] {
  return planPort(hostVethName(join.endpointId), bridgeNameFor(join.network.id, opts));
}

/** Sandbox-namespace operations: MAC (if given), addresses, up, default route(s). */
export function planJoinSandbox(join: DriverJoin): LinkOp[] {
  const eth = join.ifname;
  const net = join.network;
  const ops: LinkOp[] = [];
  if (join.mac !== undefined) ops.push({ kind: 'link-set', dev: eth, address: join.mac });
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
