/**
 * Options of the controller's public operations, normalised once at the edge
 * (G9): every check throws ERR_INVALID_OPTION / ERR_INVALID_NAME naming the
 * field and the fix; inner code trusts the result.
 */
import { InvalidOptionError } from '../common/errors.js';
import { assertValidHostname } from '../common/dns-name.js';
import { canonicalIp } from '../common/ip.js';
import { ifnameProblem } from '../common/ifname.js';
import { isObjectName, OBJECT_NAME_RULE } from '../common/object-name.js';
import type { Logger } from '../common/log.js';
import { normalizePublishSpecs, type Driver, type FirewallOptions, type PublishSpec } from '../drivers/index.js';
import type { ForwardingOptions, SharedCache } from '../resolver/index.js';
import type { ClusterStore } from '../store/index.js';
import type { SandboxConfig } from './sandbox.js';

/** Options of the Controller. */
export interface ControllerOptions {
  logger?: Logger;
  /** The host resolv.conf sandboxes derive theirs from; default /etc/resolv.conf. */
  originResolvConf?: string;
  /** Where default sandbox files go: <filesRoot>/<netns name>/{hosts,resolv.conf}; default /etc/netns. */
  filesRoot?: string;
  /** Runtime files (resolv.conf digests); default /run/sandns. */
  runDir?: string;
  /** Pool default subnets are carved from (/24 each); default 10.213.0.0/16. */
  defaultSubnetPool?: string;
  /** Network drivers; default: bridge, with the firewall unless `firewall` is false. */
  drivers?: readonly Driver[];
  /**
   * The default bridge driver's firewall (nftables: egress NAT, isolation, published ports; forwarding turned on):
   * its options, or false for bridges only (Docker's `--iptables=false`). Default on. It acts on the network
   * namespace the process runs in.
   */
  firewall?: FirewallOptions | false;
  /** Watch the origin resolv.conf and refresh every sandbox live (C5); default true. */
  watchOrigin?: boolean;
  /**
   * Forwarding of names not answered locally (R10–R13): on by default with one
   * cache shared by every sandbox (keyed per upstream set); `{ cache: false }`
   * turns the cache off, `false` turns forwarding off.
   */
  forwarding?: { cache?: SharedCache | false; options?: Partial<ForwardingOptions> } | false;
  /** Embedded state store directory (L3): call restore() once before any change; default: no persistence. */
  stateDir?: string;
  /** The cluster store for global networks (docs/cluster.md M1); without it every network is local. */
  cluster?: ClusterStore;
  /** When set, caller-given hostsPath/resolvConfPath must resolve inside this directory (L7). */
  allowedFilesRoot?: string;
}

/** Options of newNetwork. */
export interface NetworkOptions {
  /** IPv4 subnet (CIDR); default: a free /24 in 10.213.0.0/16. */
  subnet?: string;
  /** IPv4 gateway; default: the subnet's first host address. */
  gateway?: string;
  /** Enable IPv6 with this subnet (CIDR) and optional gateway. */
  subnet6?: string;
  gateway6?: string;
  /** Internal network: no default route, no host-side forwarding (R11). */
  internal?: boolean;
  /** TTL of local answers, seconds (R5); default 600. */
  ttl?: number;
  /** DNS servers for sandboxes on this network that give none of their own; queried from inside the sandbox (R11). */
  dns?: readonly string[];
  /** Dynamic IPv4 addresses come from this CIDR inside the subnet only (Docker's --ip-range). */
  ipRange?: string;
  /** Driver options (bridge: mtu, bridge_name and Docker's com.docker.network.* synonyms). */
  driverOptions?: Record<string, unknown>;
  /** 'global': stored in the cluster store, seen by every host (docs/cluster.md M1); default 'local'. */
  scope?: 'local' | 'global';
  /** User metadata (Docker's network labels): key → value, checked by checkLabels; never read by sandns itself. */
  labels?: Readonly<Record<string, string>>;
}

/** Options of createEndpoint. */
export interface EndpointOptions {
  /** Network-scoped aliases (DNS names after the endpoint name). */
  aliases?: readonly string[];
  /** Requested IPv4 / IPv6 address. */
  ip?: string;
  ip6?: string;
  /** Exposed ports, for SRV (R7). */
  ports?: readonly { port: number; proto: 'tcp' | 'udp' }[];
  /** Legacy link aliases: alias -> target name, visible only to this endpoint's sandbox (R3). */
  links?: Readonly<Record<string, string>>;
  /** This endpoint does not want the embedded resolver. */
  disableResolution?: boolean;
  /** Published ports (libnetwork's CreateOptionPortMapping): host ports are reserved now, or ERR_PORT_ALLOCATED. */
  publish?: readonly PublishSpec[];
  /** MAC address of the sandbox-side interface (libnetwork's CreateOptionMacAddress); default: the kernel's. */
  macAddress?: string;
  /** The endpoint lives only while joined (the API's connect = create + join, disconnect = leave + delete); default false. */
  joinedOnly?: boolean;
  /** Set by Network.connect: the endpoint is provisional until this settles (Endpoint.provisional, L5). */
  provisional?: Promise<void>;
}

/** Options of join. */
export interface JoinOptions {
  /** Gateway priority: higher first in R4 order. Default 0. */
  priority?: number;
  /** Interface name inside the sandbox (a CNI runtime's CNI_IFNAME); default the lowest free eth<N>. */
  ifname?: string;
}

/** Check a requested interface name (common/ifname.ts: what the kernel takes as it is). */
export function checkIfname(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = ifnameProblem(value);
  if (problem !== undefined) {
    throw new InvalidOptionError('ifname', `${JSON.stringify(value)} ${problem}: a Linux interface name is 1-15 bytes without "/", ":", "%" or spaces`);
  }
  return value;
}

/** An interface name read back from the state (a join's `ifname`), as join options: kept when still a valid name (a hand-edited file may say anything). */
export function savedIfname(value: string | undefined): { ifname?: string } {
  try {
    const ifname = checkIfname(value);
    return ifname === undefined ? {} : { ifname };
  } catch {
    return {};
  }
}

/** One --add-host entry. */
export interface ExtraHost {
  name: string;
  ip: string;
}

/** Options of newSandbox. */
export interface SandboxOptions {
  hostname?: string;
  domainname?: string;
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOptions?: readonly string[];
  extraHosts?: readonly ExtraHost[];
  /** No embedded resolver for this sandbox: resolv.conf gets the legacy transform (C3). */
  disableResolution?: boolean;
  /** Name of the namespace to create under /run/netns (default: the sandbox id). */
  netnsName?: string;
  /** An existing namespace to adopt (external key); nothing is created or deleted. */
  netnsPath?: string;
  /** The key comes later (OCI hook): files now, namespace with setSandboxKey; endpoints connected meanwhile join then. */
  external?: boolean;
  /** Where to write the files; default /etc/netns/<netns name>/{hosts,resolv.conf}. */
  hostsPath?: string;
  resolvConfPath?: string;
}

/** Check a network/sandbox name (Docker's rule, ≤ 64 chars; common/object-name.ts). */
export function checkObjectName(field: string, value: unknown): string {
  if (!isObjectName(value)) throw new InvalidOptionError(field, OBJECT_NAME_RULE);
  return value;
}

/** Check an IP address and return its canonical form. */
export function checkIp(field: string, value: unknown, family?: 4 | 6): string {
  const c = typeof value === 'string' ? canonicalIp(value) : undefined;
  if (c === undefined || (family === 4 && c.includes(':')) || (family === 6 && !c.includes(':'))) {
    throw new InvalidOptionError(field, `${JSON.stringify(value)} is not a valid IPv${family ?? '4 or IPv6'} address`);
  }
  return c;
}

/** Check a list of strings. */
export function checkStrings(field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new InvalidOptionError(field, 'must be a list of strings');
  }
  return [...(value as string[])];
}

/** Check DNS names (hostname rule, H5). */
export function checkDnsNames(field: string, value: unknown): string[] {
  return checkStrings(field, value).map((n) => assertValidHostname(n, field));
}

/** The most labels one object carries, and the longest key and value (in UTF-16 code units, as JavaScript counts). */
export const LABEL_LIMITS = { count: 64, key: 256, value: 4096 } as const;

/**
 * What a label may not contain: control characters (U+0000-U+001F, DEL, U+0080-U+009F), and the bidirectional overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069) that make a terminal show text in another order than it is.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const LABEL_REFUSED = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Why one label cannot be kept, or undefined when it can. */
function labelProblem(k: string, v: unknown): string | undefined {
  const key = JSON.stringify(k.slice(0, 40));
  if (k.length === 0 || k.length > LABEL_LIMITS.key || k.includes('=') || LABEL_REFUSED.test(k)) {
    return `key ${key} must be 1-${LABEL_LIMITS.key} characters without "=" or control characters`;
  }
  if (typeof v !== 'string') return `value of ${key} must be a string`;
  if (v.length > LABEL_LIMITS.value || LABEL_REFUSED.test(v)) return `value of ${key} must be at most ${LABEL_LIMITS.value} characters without control characters`;
  return undefined;
}

const byKey = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Check labels (Docker's `--label KEY=VALUE`): an object of string values, at most LABEL_LIMITS.count entries; a key
 * is 1-256 characters without "=" (so `label=KEY=VALUE` filters read one way), a value 0-4096 characters; neither
 * holds control characters or bidirectional overrides (LABEL_REFUSED). Returns a copy with the keys sorted, so
 * listings and records are stable. Throws ERR_INVALID_OPTION naming `field`.
 */
export function checkLabels(field: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError(field, 'must be an object of KEY: VALUE strings');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > LABEL_LIMITS.count) throw new InvalidOptionError(field, `has ${entries.length} labels; at most ${LABEL_LIMITS.count} are kept`);
  for (const [k, v] of entries) {
    const problem = labelProblem(k, v);
    if (problem !== undefined) throw new InvalidOptionError(field, problem);
  }
  return Object.fromEntries((entries as [string, string][]).sort(byKey));
}

/**
 * Labels and creation time read back from a record (the state file, another host's spec in the cluster store), which
 * may have been edited by hand: each label that checkLabels would take is kept on its own (the first
 * LABEL_LIMITS.count by key), and an RFC 3339 date-time is kept, rewritten as toISOString writes it; anything else
 * is dropped and said in `dropped` (the caller reports it). The network is kept either way.
 */
export function savedMeta(labels: unknown, created: unknown): { meta: { labels?: Record<string, string>; created?: string }; dropped: string[] } {
  const dropped: string[] = [];
  const kept: [string, string][] = [];
  if (labels !== undefined) {
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) dropped.push('labels that are not an object');
    else {
      for (const [k, v] of Object.entries(labels as Record<string, unknown>).sort(byKey)) {
        const problem = labelProblem(k, v) ?? (kept.length >= LABEL_LIMITS.count ? `more than ${LABEL_LIMITS.count} labels` : undefined);
        if (problem === undefined) kept.push([k, v as string]);
        else dropped.push(`label ${JSON.stringify(k.slice(0, 40))}: ${problem}`);
      }
    }
  }
  const when = typeof created === 'string' && RFC3339_TIME.test(created) ? Date.parse(created) : Number.NaN;
  if (created !== undefined && Number.isNaN(when)) dropped.push(`creation time ${JSON.stringify(String(created).slice(0, 40))}: not an RFC 3339 time`);
  return {
    meta: { ...(kept.length > 0 ? { labels: Object.fromEntries(kept) } : {}), ...(Number.isNaN(when) ? {} : { created: new Date(when).toISOString() }) },
    dropped,
  };
}

/** A network's labels (when any) and creation time (when known), as its records and the cluster spec keep them. */
export function metaOf(n: { readonly labels: Readonly<Record<string, string>>; readonly created: string | undefined }): { labels?: Record<string, string>; created?: string } {
  return { ...(Object.keys(n.labels).length > 0 ? { labels: { ...n.labels } } : {}), ...(n.created !== undefined ? { created: n.created } : {}) };
}

/** An RFC 3339 date-time (§5.6) with its offset. */
const RFC3339_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Check the TTL. */
export function checkTtl(value: unknown): number {
  if (value === undefined) return 600;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
    throw new InvalidOptionError('ttl', 'must be an integer number of seconds between 0 and 2147483647');
  }
  return value;
}

/**
 * Check a join's priority (Docker's `--priority`/gw-priority: higher first for the default gateway and the order of
 * DNS servers): an integer of 32 bits, as Docker's Go `int` options are on the wire. Anything else is 400: stored, a
 * fraction or 1e20 would be refused by the state's own check at the next start.
 */
export function checkPriority(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -2_147_483_648 || value > 2_147_483_647) {
    throw new InvalidOptionError('priority', 'must be an integer between -2147483648 and 2147483647');
  }
  return value;
}

/** Check exposed ports. */
export function checkPorts(value: unknown): { port: number; proto: 'tcp' | 'udp' }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidOptionError('ports', 'must be a list of {port, proto}');
  return value.map((p: { port?: unknown; proto?: unknown } | null) => {
    if (typeof p !== 'object' || p === null) throw new InvalidOptionError('ports', 'each entry must be an object {port, proto}');
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      throw new InvalidOptionError('ports', 'port must be an integer between 1 and 65535');
    }
    if (p.proto !== 'tcp' && p.proto !== 'udp') throw new InvalidOptionError('ports', 'proto must be "tcp" or "udp"');
    return { port: p.port, proto: p.proto };
  });
}

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** Check a MAC address: six hex octets, unicast (the first octet even), not all zero; returns it lowercased. */
export function checkMac(field: string, value: unknown): string {
  const mac = typeof value === 'string' ? value.toLowerCase().replaceAll('-', ':') : '';
  if (!MAC.test(mac)) throw new InvalidOptionError(field, `${JSON.stringify(value)} is not a MAC address such as 02:42:ac:11:00:02`);
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new InvalidOptionError(field, `${mac} is a multicast address: the first octet must be even`);
  // The kernel refuses it for a device (is_valid_ether_addr: EADDRNOTAVAIL).
  if (mac === '00:00:00:00:00:00') throw new InvalidOptionError(field, '00:00:00:00:00:00 is not a usable address: give a unicast one such as 02:42:ac:11:00:02');
  return mac;
}

/** Exposed ports plus the published container ports, without duplicates (SRV, R7). */
export function withPublished(ports: readonly { port: number; proto: 'tcp' | 'udp' }[], publish: readonly PublishSpec[]): { port: number; proto: 'tcp' | 'udp' }[] {
  const out = [...ports];
  for (const p of publish) if (!out.some((x) => x.port === p.containerPort && x.proto === p.protocol)) out.push({ port: p.containerPort, proto: p.protocol });
  return out;
}

/** Check published ports (the API's and the library's shape). */
export function checkPublish(value: unknown): PublishSpec[] {
  return normalizePublishSpecs(value, 'publish');
}

/** Check extra hosts. */
export function checkExtraHosts(value: unknown): ExtraHost[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidOptionError('extraHosts', 'must be a list of {name, ip}');
  return value.map((h: { name?: unknown; ip?: unknown } | null) => {
    if (typeof h !== 'object' || h === null || typeof h.name !== 'string') throw new InvalidOptionError('extraHosts', 'each entry must be an object {name, ip} with a string name');
    const unknown = Object.keys(h).find((k) => k !== 'name' && k !== 'ip');
    if (unknown !== undefined) throw new InvalidOptionError('extraHosts', `unknown field ${JSON.stringify(unknown.slice(0, 40))} in an entry: each is {name, ip}`);
    return { name: assertValidHostname(h.name, 'extra host name'), ip: checkIp('extraHosts', h.ip) };
  });
}

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * The hostname a sandbox gets when none is given (L9): the name
 * itself when it is one valid host label (RFC 1123 §2.1, '_' tolerated as
 * H5 does), else Docker's short id (the first 12 characters) for a 64-digit
 * hex container id, else none. Never a cut-down name: `proj_web_1` stays
 * `proj_web_1`, and a dotted or 64-character name gets no hostname at all
 * (it is still served under its own name).
 */
export function defaultHostname(name: string): string | undefined {
  if (HOST_LABEL.test(name)) return name;
  if (/^[0-9a-f]{64}$/.test(name)) return name.slice(0, 12);
  return undefined;
}

/** newSandbox's options, checked once, as the sandbox's config; files default to <filesRoot>/<netns name or id>/ (G9). */
export function normalizeSandboxOptions(containerId: string, o: SandboxOptions, filesRoot: string): SandboxConfig {
  const id = checkObjectName('name', containerId);
  const netnsName = o.netnsPath === undefined && o.external !== true ? checkObjectName('netnsName', o.netnsName ?? id) : undefined;
  const hostname = o.hostname === undefined ? defaultHostname(id) : checkDnsNames('hostname', [o.hostname])[0]!;
  const domainname = o.domainname === undefined || o.domainname === '' ? undefined : checkDnsNames('domainname', [o.domainname])[0];
  const dns = checkStrings('dns', o.dns).map((d) => checkIp('dns', d));
  const filesDir = `${filesRoot}/${netnsName ?? id}`;
  return {
    id, hostname, domainname, dns,
    dnsSearch: checkStrings('dnsSearch', o.dnsSearch),
    dnsOptions: checkStrings('dnsOptions', o.dnsOptions),
    extraHosts: checkExtraHosts(o.extraHosts),
    disableResolution: o.disableResolution === true,
    netnsName, externalKey: o.netnsPath,
    hostsPath: o.hostsPath ?? `${filesDir}/hosts`,
    resolvConfPath: o.resolvConfPath ?? `${filesDir}/resolv.conf`,
  };
}

/**
 * createEndpoint's options, checked (G9): the endpoint name and aliases as DNS names, links as alias → target
 * names, published ports (whose container ports are exposed too, as Docker: SRV names them), the MAC and the
 * addresses asked for. Throws ERR_INVALID_OPTION / ERR_INVALID_NAME naming the field.
 */
export function normalizeEndpointOptions(name: string, options: EndpointOptions): {
  epName: string; aliases: string[]; links: Map<string, string>; publish: PublishSpec[]; macAddress: string | undefined;
  ports: { port: number; proto: 'tcp' | 'udp' }[]; ip4: string | undefined; ip6: string | undefined;
} {
  const publish = checkPublish(options.publish);
  return {
    epName: checkDnsNames('name', [name])[0]!,
    aliases: checkDnsNames('aliases', options.aliases),
    links: new Map(Object.entries(options.links ?? {}).map(([a, t]) => [checkDnsNames('links', [a])[0]!, checkDnsNames('links', [t])[0]!])),
    publish,
    macAddress: options.macAddress === undefined ? undefined : checkMac('macAddress', options.macAddress),
    ports: withPublished(checkPorts(options.ports), publish),
    ip4: options.ip === undefined ? undefined : checkIp('ip', options.ip, 4),
    ip6: options.ip6 === undefined ? undefined : checkIp('ip6', options.ip6, 6),
  };
}
