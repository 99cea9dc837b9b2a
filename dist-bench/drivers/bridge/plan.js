import { bridgeNameFor, hostVethName, peerVethName } from './options.js';
function prefixOf(cidr) {
    return cidr.slice(cidr.indexOf('/') + 1);
}
/** Host-namespace lines that create the network's bridge with its gateway addresses. */
export function planCreateNetwork(net, opts) {
    const br = bridgeNameFor(net.id, opts);
    const lines = [`link add ${br} type bridge`];
    if (opts.mtu !== undefined)
        lines.push(`link set ${br} mtu ${opts.mtu}`);
    lines.push(`addr add ${net.gateway}/${prefixOf(net.subnet)} dev ${br}`);
    if (net.subnet6 !== undefined && net.gateway6 !== undefined) {
        lines.push(`addr add ${net.gateway6}/${prefixOf(net.subnet6)} dev ${br} nodad`);
    }
    lines.push(`link set ${br} up`);
    return lines;
}
/** Host-namespace lines that delete the bridge. */
export function planDeleteNetwork(net, opts) {
    return [`link del ${bridgeNameFor(net.id, opts)}`];
}
/** Host-namespace lines: the veth pair, its peer moved into the sandbox, the host end on the bridge. */
export function planJoinHost(join, opts) {
    const host = hostVethName(join.endpointId);
    const peer = peerVethName(join.endpointId);
    const mtu = opts.mtu === undefined ? '' : ` mtu ${opts.mtu}`;
    return [
        `link add ${host}${mtu} type veth peer name ${peer}${mtu} netns ${join.netnsPath}`,
        `link set ${host} master ${bridgeNameFor(join.network.id, opts)} up`,
    ];
}
/** Sandbox-namespace lines: rename to eth<N>, addresses, up, default route. */
export function planJoinSandbox(join) {
    const peer = peerVethName(join.endpointId);
    const eth = join.ifname;
    const net = join.network;
    const lines = [`link set ${peer} name ${eth}`];
    if (join.mac !== undefined)
        lines.push(`link set ${eth} address ${join.mac}`);
    lines.push(`addr add ${join.ipv4}/${prefixOf(net.subnet)} dev ${eth}`);
    if (join.ipv6 !== undefined && net.subnet6 !== undefined) {
        lines.push(`addr add ${join.ipv6}/${prefixOf(net.subnet6)} dev ${eth} nodad`);
    }
    lines.push(`link set ${eth} up`);
    if (join.defaultRoute)
        lines.push(...planDefaultRoute(net, eth));
    return lines;
}
/** Sandbox-namespace lines that route the default through `eth` (internal networks get none; L2). */
export function planDefaultRoute(net, eth) {
    if (net.internal)
        return [];
    const lines = [`route replace default via ${net.gateway} dev ${eth}`];
    if (net.gateway6 !== undefined)
        lines.push(`-6 route replace default via ${net.gateway6} dev ${eth}`);
    return lines;
}
//# sourceMappingURL=plan.js.map