/**
 * The nftables plans (pure): `nft -j` command lists for the table of sandns's
 * own (`inet sandns` by default), never touching any other table.
 *
 * Shape: a fixed skeleton of chains whose rules never change, driven by sets
 * and maps whose elements are the only thing a network or a published port
 * adds. Lookups are hashes, so the per-packet cost and the cost of one change
 * stay flat with 1,000 published ports (Docker's iptables chains grow one rule
 * per port). Every plan is applied as one `nft` transaction (all or nothing).
 *
 * - `bridges` every bridge; `egress` non-internal bridges; `subnets4`/`subnets6`
 *   every network's subnets (hairpin masquerade); `same` bridge.bridge
 *   pairs (intra-network traffic); `from_bridge` bridge → goto from_egress |
 *   from_internal.
 * - `pub4`/`pub6` (host address . protocol . port → container address, and
 *   → container port: `_addr` and `_port` maps) and `pub4any`/`pub6any`
 *   (protocol . port → …) for wildcard host addresses.
 * - prerouting/output: DNAT of local destinations through the maps (no
 *   userland proxy); postrouting: masquerade of egress, of localhost clients
 *   (with route_localnet) and of hairpin traffic; forward: isolation.
 */
import type { FirewallEndpoint, FirewallNetwork, PortMapping } from './types.js';

/** One command of an `nft -j` batch. */
export type NftCommand = Readonly<Record<string, unknown>>;

/** Default table name (family inet). */
export const DEFAULT_TABLE = 'sandns';

type Expr = Readonly<Record<string, unknown>>;
const meta = (key: string): Expr => ({ meta: { key } });
const payload = (protocol: string, field: string): Expr => ({ payload: { protocol, field } });
const match = (left: unknown, right: unknown, op = '=='): Expr => ({ match: { op, left, right } });
const ctStatusDnat = match({ ct: { key: 'status' } }, 'dnat', 'in');
const masquerade: Expr = { masquerade: null };
const accept: Expr = { accept: null };
const drop: Expr = { drop: null };

function obj(table: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { family: 'inet', table, ...extra };
}

function rule(table: string, chain: string, comment: string, expr: readonly Expr[]): NftCommand {
  return { add: { rule: obj(table, { chain, comment, expr }) } };
}

/**
 * The published-port maps. Each is split in an address map and a port map with the same key: nft 1.0.6 crashes
 * parsing JSON for a named map whose data is a concatenation (`… : ipv4_addr . inet_service`); two hash lookups
 * keep the cost flat all the same.
 */
const PUBLISH_MAPS = [
  { name: 'pub4', family: 4, key: ['ipv4_addr', 'inet_proto', 'inet_service'] },
  { name: 'pub4any', family: 4, key: ['inet_proto', 'inet_service'] },
  { name: 'pub6', family: 6, key: ['ipv6_addr', 'inet_proto', 'inet_service'] },
  { name: 'pub6any', family: 6, key: ['inet_proto', 'inet_service'] },
] as const;

function dnatThrough(family: 'ip' | 'ip6', key: readonly Expr[], map: string): Expr {
  const lookup = (data: string): Expr => ({ map: { key: { concat: key }, data: `@${data}` } });
  return { dnat: { family, addr: lookup(`${map}_addr`), port: lookup(`${map}_port`) } };
}

function sets(table: string): NftCommand[] {
  const set = (name: string, type: unknown): NftCommand => ({ add: { set: obj(table, { name, type }) } });
  const map = (name: string, type: unknown, data: unknown): NftCommand => ({ add: { map: obj(table, { name, type, map: data }) } });
  return [
    set('bridges', 'ifname'),
    set('egress', 'ifname'),
    set('same', ['ifname', 'ifname']),
    { add: { set: obj(table, { name: 'subnets4', type: 'ipv4_addr', flags: ['interval'] }) } },
    { add: { set: obj(table, { name: 'subnets6', type: 'ipv6_addr', flags: ['interval'] }) } },
    map('from_bridge', 'ifname', 'verdict'),
    ...PUBLISH_MAPS.flatMap((m) => [map(`${m.name}_addr`, m.key, m.family === 4 ? 'ipv4_addr' : 'ipv6_addr'), map(`${m.name}_port`, m.key, 'inet_service')]),
  ];
}

function chains(table: string): NftCommand[] {
  const chain = (name: string, hook?: { type: string; hook: string; prio: number; policy: string }): NftCommand => ({
    add: { chain: obj(table, { name, ...hook }) },
  });
  return [
    chain('publish'),
    chain('from_egress'),
    chain('from_internal'),
    chain('loopback', { type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' }),
    chain('prerouting', { type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' }),
    chain('output', { type: 'nat', hook: 'output', prio: -100, policy: 'accept' }),
    chain('postrouting', { type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' }),
    chain('forward', { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' }),
  ];
}

function rules(table: string): NftCommand[] {
  const l4 = [meta('l4proto'), payload('th', 'dport')];
  const local = match({ fib: { result: 'type', flags: ['daddr'] } }, 'local');
  const sameBridge = match({ concat: [meta('iifname'), meta('oifname')] }, '@same');
  const toBridge = match(meta('oifname'), '@bridges');
  const notLo = match(meta('iifname'), 'lo', '!=');
  return [
    // route_localnet on the bridges lets 127.0.0.0/8 be routed; before any DNAT (raw priority), a packet to a loopback
    // address from any other interface is dropped: else a port published on 127.0.0.1 is reachable from the LAN
    // (moby#41872) and a container reaches the host's loopback services (CVE-2020-8558).
    rule(table, 'loopback', 'loopback addresses only from the host itself (IPv4)', [notLo, match(payload('ip', 'daddr'), { prefix: { addr: '127.0.0.0', len: 8 } }), drop]),
    rule(table, 'loopback', 'loopback addresses only from the host itself (IPv6)', [notLo, match(payload('ip6', 'daddr'), '::1'), drop]),
    rule(table, 'publish', 'published ports on one host address (IPv4)', [dnatThrough('ip', [payload('ip', 'daddr'), ...l4], 'pub4')]),
    rule(table, 'publish', 'published ports on every host address (IPv4)', [match(meta('nfproto'), 'ipv4'), dnatThrough('ip', l4, 'pub4any')]),
    rule(table, 'publish', 'published ports on one host address (IPv6)', [dnatThrough('ip6', [payload('ip6', 'daddr'), ...l4], 'pub6')]),
    rule(table, 'publish', 'published ports on every host address (IPv6)', [match(meta('nfproto'), 'ipv6'), dnatThrough('ip6', l4, 'pub6any')]),
    rule(table, 'prerouting', 'to a host address: published ports', [local, { jump: { target: 'publish' } }]),
    rule(table, 'output', 'from the host to itself: published ports without a proxy', [local, { jump: { target: 'publish' } }]),
    rule(table, 'postrouting', 'localhost clients of published ports (route_localnet)', [match(payload('ip', 'saddr'), { prefix: { addr: '127.0.0.0', len: 8 } }), toBridge, masquerade]),
    // Not iifname: on the bridged path br_netfilter takes for a DNAT back into the same bridge, postrouting has none.
    rule(table, 'postrouting', 'hairpin: a container through the host address (IPv4)', [ctStatusDnat, match(payload('ip', 'saddr'), '@subnets4'), toBridge, masquerade]),
    rule(table, 'postrouting', 'hairpin: a container through the host address (IPv6)', [ctStatusDnat, match(payload('ip6', 'saddr'), '@subnets6'), toBridge, masquerade]),
    rule(table, 'postrouting', 'egress of non-internal networks', [match(meta('iifname'), '@egress'), match(meta('oifname'), '@bridges', '!='), masquerade]),
    rule(table, 'from_egress', 'within the network', [sameBridge, accept]),
    rule(table, 'from_egress', 'published ports through the host address', [ctStatusDnat, toBridge, accept]),
    rule(table, 'from_egress', 'isolation: never into another network', [toBridge, drop]),
    rule(table, 'from_egress', 'egress', [accept]),
    rule(table, 'from_internal', 'within the network', [sameBridge, accept]),
    rule(table, 'from_internal', 'internal: nothing else', [drop]),
    rule(table, 'forward', 'replies and related', [match({ ct: { key: 'state' } }, ['established', 'related'], 'in'), accept]),
    rule(table, 'forward', 'from a network', [{ vmap: { key: meta('iifname'), data: '@from_bridge' } }]),
    rule(table, 'forward', 'into a network: published ports', [toBridge, ctStatusDnat, accept]),
    rule(table, 'forward', 'into a network: nothing unpublished', [toBridge, drop]),
  ];
}

function element(verb: 'add' | 'delete', table: string, name: string, elem: readonly unknown[]): NftCommand[] {
  return elem.length === 0 ? [] : [{ [verb]: { element: obj(table, { name, elem }) } }];
}

function prefix(cidr: string): Expr {
  const slash = cidr.indexOf('/');
  return { prefix: { addr: cidr.slice(0, slash), len: Number(cidr.slice(slash + 1)) } };
}

/** The set and map elements of one network. */
function networkElements(verb: 'add' | 'delete', table: string, net: FirewallNetwork): NftCommand[] {
  return [
    ...element(verb, table, 'bridges', [net.bridge]),
    ...element(verb, table, 'egress', net.internal ? [] : [net.bridge]),
    ...element(verb, table, 'same', [{ concat: [net.bridge, net.bridge] }]),
    ...element(verb, table, 'subnets4', [prefix(net.subnet)]),
    ...element(verb, table, 'subnets6', net.subnet6 === undefined ? [] : [prefix(net.subnet6)]),
    ...element(verb, table, 'from_bridge', [[net.bridge, { goto: { target: net.internal ? 'from_internal' : 'from_egress' } }]]),
  ];
}

/** The map a mapping's elements go to, keyed by map name. */
function mappingElements(ep: FirewallEndpoint, m: PortMapping): [string, unknown][] {
  const out: [string, unknown][] = [];
  const v4 = m.hostIp === undefined || !m.hostIp.includes(':');
  const v6 = m.hostIp === undefined || m.hostIp.includes(':');
  const both = (map: string, key: unknown, addr: string): void => {
    out.push([`${map}_addr`, [key, addr]], [`${map}_port`, [key, m.containerPort]]);
  };
  if (v4) {
    if (m.hostIp === undefined || m.hostIp === '0.0.0.0') both('pub4any', { concat: [m.protocol, m.hostPort] }, ep.ipv4);
    else both('pub4', { concat: [m.hostIp, m.protocol, m.hostPort] }, ep.ipv4);
  }
  if (v6 && ep.ipv6 !== undefined) {
    if (m.hostIp === undefined || m.hostIp === '::') both('pub6any', { concat: [m.protocol, m.hostPort] }, ep.ipv6);
    else both('pub6', { concat: [m.hostIp, m.protocol, m.hostPort] }, ep.ipv6);
  }
  return out;
}

function endpointElements(verb: 'add' | 'delete', table: string, eps: readonly FirewallEndpoint[]): NftCommand[] {
  const byMap = new Map<string, unknown[]>();
  for (const ep of eps) {
    for (const m of ep.mappings) {
      for (const [map, el] of mappingElements(ep, m)) {
        // Deleting a map element takes its key only.
        byMap.set(map, [...(byMap.get(map) ?? []), verb === 'delete' ? (el as unknown[])[0] : el]);
      }
    }
  }
  return [...byMap.entries()].flatMap(([map, elems]) => element(verb, table, map, elems));
}

/** The whole table from scratch, replacing whatever is there (restore: one transaction, sweeps stale elements). */
export function planRebuild(table: string, networks: readonly FirewallNetwork[], endpoints: readonly FirewallEndpoint[]): NftCommand[] {
  return [
    { add: { table: { family: 'inet', name: table } } },
    { delete: { table: { family: 'inet', name: table } } },
    { add: { table: { family: 'inet', name: table } } },
    ...sets(table),
    ...chains(table),
    ...rules(table),
    ...networks.flatMap((n) => networkElements('add', table, n)),
    ...endpointElements('add', table, endpoints),
  ];
}

/** Remove the table (no network left). */
export function planDropTable(table: string): NftCommand[] {
  return [{ add: { table: { family: 'inet', name: table } } }, { delete: { table: { family: 'inet', name: table } } }];
}

/** Add a network: four elements. */
export function planAddNetwork(table: string, net: FirewallNetwork): NftCommand[] {
  return networkElements('add', table, net);
}

/** Remove a network's elements. */
export function planDeleteNetwork(table: string, net: FirewallNetwork): NftCommand[] {
  return networkElements('delete', table, net);
}

/** Publish an endpoint's mappings: one element per mapping and family. */
export function planPublish(table: string, ep: FirewallEndpoint): NftCommand[] {
  return endpointElements('add', table, [ep]);
}

/** Withdraw an endpoint's mappings. */
export function planUnpublish(table: string, ep: FirewallEndpoint): NftCommand[] {
  return endpointElements('delete', table, [ep]);
}

/** Wrap commands as the `nft -j` input document. */
export function nftDocument(commands: readonly NftCommand[]): { nftables: NftCommand[] } {
  return { nftables: [{ metainfo: { json_schema_version: 1 } }, ...commands] };
}
