/**
 * The model as the store saves it (L3): Network, Endpoint and Sandbox mapped
 * to the store's plain persisted records. IPAM state is not saved: restore
 * derives it from the endpoints' addresses. The store never sees the model's
 * classes; this file is the only place that knows both shapes.
 */
import { metaOf } from './options.js';
import { epKey, netKey, type JournalRecord, type PersistedEndpoint, type PersistedJoin, type PersistedKey, type PersistedNetwork, type PersistedSandbox, type PersistedState, type RecordKey } from '../store/index.js';
import type { Network } from './network.js';
import type { Endpoint } from './endpoint.js';
import type { Sandbox, SandboxConfig } from './sandbox.js';

/** A sandbox being created: what newSandbox knows before its namespace exists. */
export interface SandboxDraft {
  readonly config: SandboxConfig;
  readonly resolvConfHashPath: string;
  readonly ownedDirs: readonly string[];
  readonly originals: Readonly<Record<string, string>>;
}

/** A network's record; phase 'creating' while its bridge is being made. */
export function networkRecord(n: Network, phase: PersistedNetwork['phase']): PersistedNetwork {
  const d = n.driverNetwork;
  return {
    id: n.id, name: n.name, driver: n.driver, subnet: d.subnet, gateway: d.gateway,
    ...(d.subnet6 !== undefined ? { subnet6: d.subnet6 } : {}), ...(d.gateway6 !== undefined ? { gateway6: d.gateway6 } : {}),
    internal: n.internal, ttl: n.ttl, ...(n.dns.length > 0 ? { dns: [...n.dns] } : {}),
    ...(n.pool4.ipRange !== undefined ? { ipRange: n.pool4.ipRange } : {}), driverOptions: { ...n.driverOptions }, phase,
    ...(n.scope === 'global' ? { scope: 'global' as const } : {}),
    ...metaOf(n),
  };
}

function joinRecord(ep: Endpoint): PersistedJoin | undefined {
  if (ep.sandbox === undefined) return undefined;
  // A join is done when the driver answered and the join returned; a claim without plumbing waits for a key.
  const phase = ep.joining !== undefined ? 'joining' : ep.joinInfo !== undefined ? 'joined' : 'deferred';
  const info = ep.joinInfo === undefined ? {} : { info: { ...ep.joinInfo } };
  const asked = ep.attachment?.ifname;
  const resumed = phase === 'joining' && ep.attachment?.resumed === true ? { resumed: true } : {};
  return { sandbox: ep.sandbox.id, phase, priority: ep.priority, gateway: ep.gateway, ...info, ...(asked === undefined ? {} : { ifname: asked }), ...resumed };
}

/** An endpoint's record. */
export function endpointRecord(ep: Endpoint): PersistedEndpoint {
  const join = joinRecord(ep);
  return {
    id: ep.id, name: ep.name, network: ep.network.id, aliases: [...ep.aliases], ipv4: ep.ipv4,
    ...(ep.ipv6 !== undefined ? { ipv6: ep.ipv6 } : {}),
    ports: ep.ports.map((p) => ({ ...p })), links: Object.fromEntries(ep.links), disableResolution: ep.disableResolution,
    ...(ep.portMappings.length > 0 ? { publish: ep.portMappings.map((m) => ({ ...(m.hostIp === undefined ? {} : { hostIp: m.hostIp }), hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol })) } : {}),
    ...(ep.macAddress !== undefined ? { macAddress: ep.macAddress } : {}),
    ...(ep.joinedOnly ? { joinedOnly: true } : {}), ...(join === undefined ? {} : { join }),
  };
}

function keyOf(config: SandboxConfig, ownsNetns: boolean, netnsPath: string): PersistedKey {
  if (ownsNetns) return { kind: 'owned', netnsName: config.netnsName ?? config.id };
  if (config.externalKey !== undefined) return { kind: 'path', path: config.externalKey };
  return netnsPath === '' ? { kind: 'late' } : { kind: 'late', path: netnsPath };
}

function configRecord(c: SandboxConfig): Omit<PersistedSandbox, 'id' | 'phase' | 'key' | 'resolvConfHashPath' | 'ownedDirs' | 'originals' | 'extServers' | 'ndotsSet' | 'ipv6'> {
  return {
    ...(c.hostname !== undefined ? { hostname: c.hostname } : {}), ...(c.domainname !== undefined ? { domainname: c.domainname } : {}),
    dns: [...c.dns], dnsSearch: [...c.dnsSearch], dnsOptions: [...c.dnsOptions], extraHosts: c.extraHosts.map((h) => ({ ...h })),
    disableResolution: c.disableResolution, hostsPath: c.hostsPath, resolvConfPath: c.resolvConfPath,
  };
}

function originalsRecord(o: Readonly<Record<string, string>> | undefined): { originals?: Record<string, string> } {
  return o === undefined || Object.keys(o).length === 0 ? {} : { originals: { ...o } };
}

/** A sandbox's record; phase 'deleting' while its namespace and files are being removed. */
export function sandboxRecord(sb: Sandbox, phase: PersistedSandbox['phase']): PersistedSandbox {
  const dns = sb.dnsState;
  return {
    id: sb.id, phase, key: keyOf(sb.config, sb.keyMode === 'owned', sb.netnsPath), ...configRecord(sb.config),
    resolvConfHashPath: dns.resolvConfHashPath, ownedDirs: [...dns.ownedDirs], ...originalsRecord(dns.originals),
    extServers: dns.extServers.map((s) => ({ address: s.address, origin: s.origin })), ndotsSet: dns.ndotsSet, ipv6: dns.ipv6,
  };
}

/** A sandbox being created, saved in phase 'creating' before its namespace exists. */
export function draftRecord(d: SandboxDraft): PersistedSandbox {
  const owned = d.config.netnsName !== undefined;
  return {
    id: d.config.id, phase: 'creating', key: keyOf(d.config, owned, d.config.externalKey ?? ''), ...configRecord(d.config),
    resolvConfHashPath: d.resolvConfHashPath, ownedDirs: [...d.ownedDirs], ...originalsRecord(d.originals), extServers: [], ndotsSet: false,
  };
}

/** The live model as plain persisted data (pure). */
export function snapshotModel(networks: readonly Network[], sandboxes: readonly Sandbox[]): PersistedState {
  return {
    // A global network with no endpoint here is the cluster's, not this host's: the mirror brings it back (M6).
    networks: networks.filter((n) => n.scope === 'local' || n.endpoints.size > 0).map((n) => networkRecord(n, 'live')),
    endpoints: networks.flatMap((n) => [...n.endpoints.values()].map(endpointRecord)),
    sandboxes: sandboxes.map((s) => sandboxRecord(s, 'live')),
  };
}

/** Where the live objects are, by id (the controller's maps). */
export interface ModelIndex {
  network(id: string): Network | undefined;
  sandbox(id: string): Sandbox | undefined;
  networks(): Iterable<Network>;
}

/** The live record a journal key names, or undefined when the object is gone (the store's RecordOf). */
export function recordOf(model: ModelIndex, key: RecordKey): JournalRecord | undefined {
  const id = key.slice(key.indexOf(':') + 1);
  if (key.startsWith('net:')) {
    const n = model.network(id);
    // As in snapshotModel: a global network is this host's record only while it has endpoints here.
    return n === undefined || (n.scope === 'global' && n.endpoints.size === 0) ? undefined : networkRecord(n, 'live');
  }
  if (key.startsWith('sb:')) {
    const sb = model.sandbox(id);
    return sb === undefined ? undefined : sandboxRecord(sb, 'live');
  }
  for (const n of model.networks()) {
    const ep = n.endpoints.get(id);
    if (ep !== undefined) return endpointRecord(ep);
  }
  return undefined;
}

/**
 * The journal keys a change of `ep` touches: its own record, and for a global network the network's record too,
 * which is persisted on this host only while the network has endpoints here (snapshotModel), so it comes and goes
 * with them.
 */
export function endpointKeys(ep: Endpoint): RecordKey[] {
  return ep.network.scope === 'global' ? [epKey(ep.id), netKey(ep.network.id)] : [epKey(ep.id)];
}
