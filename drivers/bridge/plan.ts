/**
 * Bridge plans (pure; G3, G10): the `ip -batch` lines for each operation.
 * The io layer runs them; tests check them without root.
 */
import type { DriverJoin, DriverNetwork } from '../driver.js';
import { bridgeNameFor, hostVethName, peerVethName, type BridgeOptions } from './options.js';

function prefixOf(cidr: string): string {
  return cidr.slice(cidr.indexOf('/') + 1);
}

/** The ifalias that marks a bridge as this network's (restore removes only marked ones, L4). */
export function bridgeMark(net: DriverNetwork): string {
  return `sandns:net:${net.id.slice(0, 32)}`;
}

/**
 * The lines that create the bridge and mark it, in one `ip -batch` (which stops at the first failure): a name that
 * exists fails before anything else happens, and no crash can fall between the add and the mark.
 */
export function planAddBridge(net: DriverNetwork, opts: BridgeOptions): string[] {
  const br = bridgeNameFor(net.id, opts);
  return [`link add ${br} type bridge`, `link set ${br} alias ${bridgeMark(net)}`];
}

/** Host-namespace lines that finish the new bridge: MTU, gateway addresses, up. */
export function planCreateNetwork(net: DriverNetwork, opts: BridgeOptions): string[] {
  const br = bridgeNameFor(net.id, opts);
  const lines: string[] = [];
  if (opts.mtu !== undefined) lines.push(`link set ${br} mtu ${opts.mtu}`);
  lines.push(`addr add ${net.gateway}/${prefixOf(net.subnet)} dev ${br}`);
  if (net.subnet6 !== undefined && net.gateway6 !== undefined) {
    lines.push(`addr add ${net.gateway6}/${prefixOf(net.subnet6)} dev ${br} nodad`);
  }
  lines.push(`link set ${br} up`);
  return lines;
}

/** Host-namespace lines that delete the bridge. */
export function planDeleteNetwork(net: DriverNetwork, opts: BridgeOptions): string[] {
  return [`link del ${bridgeNameFor(net.id, opts)}`];
}

/** The line that creates the veth pair, its peer straight in the sandbox: run alone (see planAddBridge). */
export function planAddVeth(join: DriverJoin, opts: BridgeOptions): string[] {
  const host = hostVethName(join.endpointId);
  const peer = peerVethName(join.endpointId);
  const mtu = opts.mtu === undefined ? '' : ` mtu ${opts.mtu}`;
  return [`link add ${host}${mtu} type veth peer name ${peer}${mtu} netns ${join.netnsPath}`];
}

/** Host-namespace lines after the pair exists: the host end on the bridge, up. */
export function planJoinHost(join: DriverJoin, opts: BridgeOptions): string[] {
  return [`link set ${hostVethName(join.endpointId)} master ${bridgeNameFor(join.network.id, opts)} up`];
}

/** Sandbox-namespace lines: rename to eth<N>, addresses, up, default route. */
export function planJoinSandbox(join: DriverJoin): string[] {
  const peer = peerVethName(join.endpointId);
  const eth = join.ifname;
  const net = join.network;
  const lines = [`link set ${peer} name ${eth}`];
  if (join.mac !== undefined) lines.push(`link set ${eth} address ${join.mac}`);
  lines.push(`addr add ${join.ipv4}/${prefixOf(net.subnet)} dev ${eth}`);
  if (join.ipv6 !== undefined && net.subnet6 !== undefined) {
    lines.push(`addr add ${join.ipv6}/${prefixOf(net.subnet6)} dev ${eth} nodad`);
  }
  lines.push(`link set ${eth} up`);
  if (join.defaultRoute) lines.push(...planDefaultRoute(net, eth));
  return lines;
}

/** Sandbox-namespace lines that route the default through `eth` (internal networks get none; L2). */
export function planDefaultRoute(net: DriverNetwork, eth: string): string[] {
  if (net.internal) return [];
  const lines = [`route replace default via ${net.gateway} dev ${eth}`];
  if (net.gateway6 !== undefined) lines.push(`-6 route replace default via ${net.gateway6} dev ${eth}`);
  return lines;
}
