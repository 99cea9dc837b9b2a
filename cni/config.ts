/**
 * The network configuration on stdin (CNI spec 1.0.0 "Network configuration"
 * and "Plugin configuration objects"), parsed and checked once (G9).
 * sandns keys: `socket`; as the main plugin the network keys `subnet`,
 * `gateway`, `subnet6`, `gateway6`, `internal`, `mtu`, `bridge`, `ttl`;
 * the spec's `dns` dictionary. runtimeConfig keys are used only when the
 * plugin declares them in `capabilities` (CNI conventions), or when the
 * runtime dropped `capabilities` after filtering (libcni).
 */
import { CniConfigError, CniDecodeError, CniUnsupportedError, CniVersionError } from './errors.js';
import { parseDns, parseResult } from './result.js';
import { CNI_CODE, SUPPORTED_VERSIONS, type CniDns, type CniResult, type CniVersion } from './spec.js';

type Json = Record<string, unknown>;

/** Network keys of the main mode; each, when given, must match an existing network (code 7). */
export interface NetworkKeys {
  subnet?: string;
  gateway?: string;
  subnet6?: string;
  gateway6?: string;
  internal?: boolean;
  mtu?: number;
  bridge?: string;
  ttl?: number;
}

/** One runtimeConfig.portMappings entry (CNI conventions "portMappings"). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** What the runtime asked for through runtimeConfig (already filtered by capabilities). */
export interface RuntimeRequests {
  aliases: string[];
  portMappings: PortMapping[];
  /** Requested addresses (capability "ips"), without prefix. */
  ips: string[];
  /** runtimeConfig.dns (capability "dns"): servers, searches, options. */
  dns: CniDns;
}

/** The checked configuration. */
export interface PluginConfig {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  readonly socket: string | undefined;
  readonly network: Readonly<NetworkKeys>;
  readonly dns: CniDns;
  readonly runtime: RuntimeRequests;
  readonly prevResult: CniResult | undefined;
}

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const MAIN_KEYS = ['subnet', 'gateway', 'subnet6', 'gateway6', 'internal', 'mtu', 'bridge', 'ttl'] as const;
/** Keys of the spec and of libcni that every plugin may receive. */
const KNOWN = new Set(['domainName', 'cniVersion', 'name', 'type', 'capabilities', 'runtimeConfig', 'prevResult', 'args', 'dns', 'socket', 'disableCheck', ...MAIN_KEYS]);

/** Parse stdin's text into a JSON object; code 6 otherwise. */
export function decodeStdin(text: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new CniDecodeError((err as Error).message);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CniDecodeError('expected a JSON object');
  return v as Json;
}

/** The cniVersion of a decoded config, checked against SUPPORTED_VERSIONS (code 1). */
export function checkVersion(raw: Json): CniVersion {
  const v = raw.cniVersion;
  if (typeof v !== 'string' || v === '') throw new CniConfigError('cniVersion', 'missing (set it to one of ' + SUPPORTED_VERSIONS.join(', ') + ')');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) throw new CniVersionError(v, SUPPORTED_VERSIONS);
  return v as CniVersion;
}

function typed<T>(raw: Json, key: string, type: 'string' | 'boolean' | 'number'): T | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== type || (type === 'string' && v === '')) throw new CniConfigError(key, `must be a ${type === 'string' ? 'non-empty string' : type}`);
  return v as T;
}

function networkKeys(raw: Json): NetworkKeys {
  const out: NetworkKeys = {};
  for (const k of ['subnet', 'gateway', 'subnet6', 'gateway6', 'bridge'] as const) {
    const v = typed<string>(raw, k, 'string');
    if (v !== undefined) out[k] = v;
  }
  const internal = typed<boolean>(raw, 'internal', 'boolean');
  if (internal !== undefined) out.internal = internal;
  for (const k of ['mtu', 'ttl'] as const) {
    const v = typed<number>(raw, k, 'number');
    if (v !== undefined && !Number.isInteger(v)) throw new CniConfigError(k, 'must be an integer');
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** True when runtimeConfig[key] may be used: declared in capabilities, or capabilities already stripped by the runtime. */
function allowed(raw: Json, key: string): boolean {
  const caps = raw.capabilities;
  if (caps === undefined) return true;
  return typeof caps === 'object' && caps !== null && (caps as Json)[key] === true;
}

function parsePortMappings(v: unknown): PortMapping[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CniConfigError('runtimeConfig.portMappings', 'must be a list');
  return v.map((m: unknown, i) => {
    const p = (typeof m === 'object' && m !== null ? m : {}) as Json;
    const port = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 65535;
    if (!port(p.hostPort) || !port(p.containerPort)) throw new CniConfigError(`runtimeConfig.portMappings[${i}]`, 'hostPort and containerPort must be integers 1-65535');
    const protocol = p.protocol === undefined || p.protocol === '' ? 'tcp' : p.protocol;
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw new CniConfigError(`runtimeConfig.portMappings[${i}].protocol`, 'must be tcp, udp or sctp');
    const out: PortMapping = { hostPort: p.hostPort as number, containerPort: p.containerPort as number, protocol };
    if (typeof p.hostIP === 'string' && p.hostIP !== '') out.hostIP = p.hostIP;
    return out;
  });
}

function stringList(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new CniConfigError(key, 'must be a list of strings');
  return v as string[];
}

function runtimeRequests(raw: Json, network: string): RuntimeRequests {
  const rc = raw.runtimeConfig;
  const out: RuntimeRequests = { aliases: [], portMappings: [], ips: [], dns: {} };
  if (rc === undefined) return out;
  if (typeof rc !== 'object' || rc === null || Array.isArray(rc)) throw new CniConfigError('runtimeConfig', 'must be an object');
  const r = rc as Json;
  if (allowed(raw, 'aliases') && r.aliases !== undefined) {
    if (typeof r.aliases !== 'object' || r.aliases === null) throw new CniConfigError('runtimeConfig.aliases', 'must map network names to lists of names');
    out.aliases = stringList((r.aliases as Json)[network], `runtimeConfig.aliases.${network}`);
  }
  if (allowed(raw, 'portMappings')) out.portMappings = parsePortMappings(r.portMappings);
  if (allowed(raw, 'ips')) out.ips = stringList(r.ips, 'runtimeConfig.ips').map((ip) => ip.split('/')[0]!);
  if (allowed(raw, 'dns') && r.dns !== undefined && typeof r.dns === 'object' && r.dns !== null) {
    const d = r.dns as Json;
    out.dns = { nameservers: stringList(d.servers, 'runtimeConfig.dns.servers'), search: stringList(d.searches, 'runtimeConfig.dns.searches'), options: stringList(d.options, 'runtimeConfig.dns.options') };
  }
  return out;
}

/** Parse the whole configuration of one invocation (not VERSION). */
export function parseConfig(raw: Json): PluginConfig {
  const cniVersion = checkVersion(raw);
  const name = raw.name;
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    throw new CniConfigError('name', 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit (it names the sandns network)');
  }
  const type = typed<string>(raw, 'type', 'string');
  if (type === undefined) throw new CniConfigError('type', 'missing (the plugin binary\'s name)');
  if (raw.ipam !== undefined) {
    throw new CniUnsupportedError('unsupported field "ipam": sandns allocates addresses itself as the main plugin', CNI_CODE.UNSUPPORTED_FIELD,
      'remove "ipam", or put a bridge/macvlan plugin with that ipam before sandns and chain sandns after it');
  }
  const unknown = Object.keys(raw).filter((k) => !KNOWN.has(k) && !k.startsWith('cni.dev/'));
  if (unknown.length > 0) throw new CniConfigError(unknown[0]!, `unknown key for type "${type}" (sandns keys: socket, dns, ${MAIN_KEYS.join(', ')})`);
  const prevResult = raw.prevResult === undefined ? undefined : parseResult(raw.prevResult);
  return {
    cniVersion, name, type,
    socket: typed<string>(raw, 'socket', 'string'),
    network: networkKeys(raw),
    dns: withDomainName(parseDns(raw.dns, 'dns'), typed<string>(raw, 'domainName', 'string')),
    runtime: runtimeRequests(raw, name),
    prevResult,
  };
}

/** dnsname's `domainName` (podman conflists carry it): a search domain, so `web.<domainName>` finds `web`. */
function withDomainName(dns: CniDns, domainName: string | undefined): CniDns {
  if (domainName === undefined) return dns;
  return { ...dns, search: [...new Set([...(dns.search ?? []), domainName])] };
}

/** The main-mode keys present in the config (chained mode refuses them). */
export function mainKeysOf(config: PluginConfig): string[] {
  return Object.keys(config.network);
}
