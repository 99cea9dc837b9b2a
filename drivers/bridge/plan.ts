/**
 * Bridge plans (pure; G3, G10): each driver operation as an ordered list of
 * link operations. The vocabulary (LinkOp) is explicit so that any executor
 * can apply it: io/links.ts renders it as `ip -batch` lines (toIpBatch), an
 * rtnetlink executor maps each op to one netlink request. Tests run every
 * plan against the real kernel, not only compare it as text.
 *
 * | op             | effect                                                            | host / sandbox |
 * |----------------|-------------------------------------------------------------------|----------------|
 * | bridge-add     | create a bridge `name` (optional `mtu`), down                      | host           |
 * | veth-add       | create veth `name` (host) + `peer` moved into `peerNetns` (`mtu`)  | host           |
 * | link-master    | enslave `dev` to bridge `master` and set it up                     | host           |
 * | link-hairpin   | hairpin mode on a bridge port (a container reaching itself)        | host           |
 * | link-rename    | rename `dev` to `name`                                             | sandbox        |
 * | link-mac       | set `dev`'s MAC address                                            | sandbox        |
 * | addr-add       | add `cidr` to `dev` (`nodad`: no IPv6 duplicate detection)         | both           |
 * | link-up        | set `dev` up                                                       | both           |
 * | link-del       | delete `dev` (a veth pair dies with either end)                    | host           |
 * | route-default  | replace the default route of `family` via `via` on `dev`           | sandbox        |
 */
import type { DriverJoin, DriverNetwork } from '../driver.js';
import { bridgeNameFor, hostVethName, peerVethName, type BridgeOptions } from './options.js';

/** One link operation (see the table above). */
export type LinkOp =
  | { readonly op: 'bridge-add'; readonly name: string; readonly mtu?: number | undefined }
  | { readonly op: 'veth-add'; readonly name: string; readonly peer: string; readonly peerNetns: string; readonly mtu?: number | undefined }
  | { readonly op: 'link-master'; readonly dev: string; readonly master: string }
  | { readonly op: 'link-hairpin'; readonly dev: string }
  | { readonly op: 'link-rename'; readonly dev: string; readonly name: string }
  | { readonly op: 'link-mac'; readonly dev: string; readonly mac: string }
  | { readonly op: 'addr-add'; readonly dev: string; readonly cidr: string; readonly nodad?: boolean }
  | { readonly op: 'link-up'; readonly dev: string }
  | { readonly op: 'link-del'; readonly dev: string }
  | { readonly op: 'route-default'; readonly dev: string; readonly via: string; readonly family: 4 | 6 };

function prefixOf(cidr: string): string {
  return cidr.slice(cidr.indexOf('/') + 1);
}

/** Host ops that create the network's bridge with its gateway addresses. */
export function planCreateNetwork(net: DriverNetwork, opts: BridgeOptions): LinkOp[] {
  const br = bridgeNameFor(net.id, opts);
  const ops: LinkOp[] = [{ op: 'bridge-add', name: br, mtu: opts.mtu }, { op: 'addr-add', dev: br, cidr: `${net.gateway}/${prefixOf(net.subnet)}` }];
  if (net.subnet6 !== undefined && net.gateway6 !== undefined) {
    ops.push({ op: 'addr-add', dev: br, cidr: `${net.gateway6}/${prefixOf(net.subnet6)}`, nodad: true });
  }
  ops.push({ op: 'link-up', dev: br });
  return ops;
}

/** Host ops that delete the bridge. */
export function planDeleteNetwork(net: DriverNetwork, opts: BridgeOptions): LinkOp[] {
  return [{ op: 'link-del', dev: bridgeNameFor(net.id, opts) }];
}

/** Host ops: the veth pair, its peer moved into the sandbox, the host end on the bridge with hairpin mode. */
export function planJoinHost(join: DriverJoin, opts: BridgeOptions): LinkOp[] {
  const host = hostVethName(join.endpointId);
  return [
    { op: 'veth-add', name: host, peer: peerVethName(join.endpointId), peerNetns: join.netnsPath, mtu: opts.mtu },
    { op: 'link-master', dev: host, master: bridgeNameFor(join.network.id, opts) },
    // br_netfilter is active in new namespaces: DNAT of a container's packet back to itself is bridged out the port it came in on.
    { op: 'link-hairpin', dev: host },
  ];
}

/** Sandbox ops: rename to eth<N>, MAC, addresses, up, default route(s). */
export function planJoinSandbox(join: DriverJoin): LinkOp[] {
  const eth = join.ifname;
  const net = join.network;
  const ops: LinkOp[] = [{ op: 'link-rename', dev: peerVethName(join.endpointId), name: eth }];
  if (join.mac !== undefined) ops.push({ op: 'link-mac', dev: eth, mac: join.mac });
  ops.push({ op: 'addr-add', dev: eth, cidr: `${join.ipv4}/${prefixOf(net.subnet)}` });
  if (join.ipv6 !== undefined && net.subnet6 !== undefined) ops.push({ op: 'addr-add', dev: eth, cidr: `${join.ipv6}/${prefixOf(net.subnet6)}`, nodad: true });
  ops.push({ op: 'link-up', dev: eth });
  if (join.defaultRoute) ops.push(...planDefaultRoute(net, eth));
  return ops;
}

/** Sandbox ops that route the default through `eth`: IPv4, and IPv6 on a dual-stack network (internal: none; L2). */
export function planDefaultRoute(net: DriverNetwork, eth: string): LinkOp[] {
  if (net.internal) return [];
  const ops: LinkOp[] = [{ op: 'route-default', dev: eth, via: net.gateway, family: 4 }];
  if (net.gateway6 !== undefined) ops.push({ op: 'route-default', dev: eth, via: net.gateway6, family: 6 });
  return ops;
}

/** Host ops that re-attach veths to their bridge (restore, after the bridge was made again). */
export function planReattach(devs: readonly string[], bridge: string): LinkOp[] {
  return devs.flatMap((dev): LinkOp[] => [{ op: 'link-master', dev, master: bridge }, { op: 'link-hairpin', dev }]);
}

/**
 * One op as an `ip -batch` line. Batch lines take no global options: the IPv6 default route is `route replace
 * default via <IPv6 gateway>` (the family follows the gateway); `-6 route …` is rejected ("Object "-6" is unknown").
 */
export function toIpBatchLine(op: LinkOp): string {
  const mtu = (m: number | undefined): string => (m === undefined ? '' : ` mtu ${m}`);
  switch (op.op) {
    case 'bridge-add': return `link add ${op.name}${mtu(op.mtu)} type bridge`;
    case 'veth-add': return `link add ${op.name}${mtu(op.mtu)} type veth peer name ${op.peer}${mtu(op.mtu)} netns ${op.peerNetns}`;
    case 'link-master': return `link set ${op.dev} master ${op.master} up`;
    case 'link-hairpin': return `link set dev ${op.dev} type bridge_slave hairpin on`;
    case 'link-rename': return `link set ${op.dev} name ${op.name}`;
    case 'link-mac': return `link set ${op.dev} address ${op.mac}`;
    case 'addr-add': return `addr add ${op.cidr} dev ${op.dev}${op.nodad === true ? ' nodad' : ''}`;
    case 'link-up': return `link set ${op.dev} up`;
    case 'link-del': return `link del ${op.dev}`;
    case 'route-default': return `route replace default via ${op.via} dev ${op.dev}`;
  }
}

/** A plan as `ip -batch` lines. */
export function toIpBatch(ops: readonly LinkOp[]): string[] {
  return ops.map(toIpBatchLine);
}
