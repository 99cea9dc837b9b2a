/**
 * The key layout of the cluster store and its value codecs (docs/cluster.md
 * M2). Every value is JSON, checked on decode: a malformed value written by
 * anyone is skipped (and logged by the caller), never trusted.
 *
 *   <p>/netlock                              bumped by every network create/delete (guard of M3)
 *   <p>/networks/<name>                      NetworkSpec
 *   <p>/ipam/<network>/<address>             AddressClaim, under the owner's lease (M4)
 *   <p>/endpoints/<network>/<member>/<id>    RemoteRecord, under the owner's lease (M5)
 *   <p>/members/<member>                     MemberInfo, under the member's lease
 */

import { isValidHostname } from '../../common/dns-name.js';
import { parseCidr, parseIp, type IpFamily } from '../../common/ip.js';

/** A global network as stored (every host builds its Network from this). */
export interface NetworkSpec {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly subnet6?: string | undefined;
  readonly gateway6?: string | undefined;
  /** The IPv4 allocation range inside `subnet` (`--ip-range`), when given. */
  readonly ipRange?: string | undefined;
  readonly internal: boolean;
  readonly ttl: number;
  readonly dns: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** VXLAN id of overlay networks. */
  readonly vni?: number | undefined;
  /** User labels and creation time, as the creating host wrote them: checked by each host before use (controller savedMeta). */
  readonly labels?: unknown;
  readonly created?: unknown;
}

/** Who holds an address of a global network. */
export interface AddressClaim {
  readonly member: string;
  readonly endpoint: string;
}

/** An endpoint of a global network as its host publishes it (names in R4 order, ports for SRV). */
export interface RemoteRecord {
  readonly id: string;
  readonly member: string;
  readonly names: readonly string[];
  readonly ipv4: string;
  readonly ipv6?: string | undefined;
  readonly ports: readonly { readonly port: number; readonly proto: 'tcp' | 'udp' }[];
  /** MAC of the endpoint's interface (overlay neighbour entries). */
  readonly mac?: string | undefined;
}

/** A member (host) of the cluster. */
export interface MemberInfo {
  readonly id: string;
  readonly advertise: string;
  readonly hostname: string;
  /** ms since the epoch when this member first published. */
  readonly since: number;
}

/** A decoded key. */
export type ParsedKey =
  | { kind: 'netlock' }
  | { kind: 'network'; network: string }
  | { kind: 'address'; network: string; address: string }
  | { kind: 'record'; network: string; member: string; endpoint: string }
  | { kind: 'member'; member: string };

/** Builds and parses keys under one prefix. */
export class KeySpace {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = `${prefix}/`;
  }

  netlock(): string {
    return `${this.prefix}netlock`;
  }
  network(name: string): string {
    return `${this.prefix}networks/${name}`;
  }
  networks(): string {
    return `${this.prefix}networks/`;
  }
  address(network: string, address: string): string {
    return `${this.prefix}ipam/${network}/${address}`;
  }
  addresses(network: string): string {
    return `${this.prefix}ipam/${network}/`;
  }
  /** Every member's records of one network (a prefix). */
  records(network: string): string {
    return `${this.prefix}endpoints/${network}/`;
  }
  record(network: string, member: string, endpoint: string): string {
    return `${this.prefix}endpoints/${network}/${member}/${endpoint}`;
  }
  member(id: string): string {
    return `${this.prefix}members/${id}`;
  }

  /** The parts of a key, or undefined for a key sandns does not own. */
  parse(key: string): ParsedKey | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    const parts = key.slice(this.prefix.length).split('/');
    const [head, a, b, c] = parts;
    if (parts.length === 1 && head === 'netlock') return { kind: 'netlock' };
    if (parts.length === 2 && head === 'networks' && a) return { kind: 'network', network: a };
    if (parts.length === 2 && head === 'members' && a) return { kind: 'member', member: a };
    if (parts.length === 3 && head === 'ipam' && a && b) return { kind: 'address', network: a, address: b };
    if (parts.length === 4 && head === 'endpoints' && a && b && c) return { kind: 'record', network: a, member: b, endpoint: c };
    return undefined;
  }
}

type Json = Record<string, unknown>;

function object(text: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isStrs = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
/** An address (of `family` when given), in any spelling parseIp takes. */
const isIp = (v: unknown, family?: IpFamily): v is string => {
  const ip = typeof v === 'string' ? parseIp(v) : undefined;
  return ip !== undefined && (family === undefined || ip.family === family);
};
const isCidr = (v: unknown, family: IpFamily): v is string => typeof v === 'string' && parseCidr(v)?.family === family;
const isPort = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
/** A MAC as `ip link` prints it (six hex pairs); '' is "none" (docs/overlay.md O3: such a record gets no entries). */
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * Decode a NetworkSpec, or undefined when malformed: every field checked as the API checks it when the network is
 * made here (a subnet and gateway of one family each, addresses, a TTL in seconds, a VNI ≥ 1), because another
 * host's value, or anyone's, must never reach the model unchecked (docs/cluster.md M2).
 */
export function decodeNetwork(text: string): NetworkSpec | undefined {
  const o = object(text);
  if (o === undefined || !isStr(o.id) || !isStr(o.name) || !isStr(o.driver) || !isCidr(o.subnet, 4) || !isIp(o.gateway, 4)) return undefined;
  if (o.subnet6 !== undefined && !isCidr(o.subnet6, 6)) return undefined;
  if (o.gateway6 !== undefined && (o.subnet6 === undefined || !isIp(o.gateway6, 6))) return undefined;
  if (o.ipRange !== undefined && !isCidr(o.ipRange, 4)) return undefined;
  if (typeof o.internal !== 'boolean' || !Number.isInteger(o.ttl) || (o.ttl as number) < 0) return undefined;
  if (!Array.isArray(o.dns ?? []) || !((o.dns ?? []) as unknown[]).every((a) => isIp(a))) return undefined;
  if (o.options !== undefined && (o.options === null || typeof o.options !== 'object' || Array.isArray(o.options))) return undefined;
  if (o.vni !== undefined && (!Number.isInteger(o.vni) || (o.vni as number) < 1)) return undefined;
  return { ...(o as unknown as NetworkSpec), dns: (o.dns ?? []) as string[], options: (o.options ?? {}) as Record<string, unknown> };
}

/** Decode an AddressClaim. */
export function decodeClaim(text: string): AddressClaim | undefined {
  const o = object(text);
  return o !== undefined && isStr(o.member) && isStr(o.endpoint) ? { member: o.member, endpoint: o.endpoint } : undefined;
}

/** Decode a RemoteRecord: names are host names (RFC 1123), addresses of their family, ports 1-65535, a MAC or ''. */
export function decodeRecord(text: string): RemoteRecord | undefined {
  const o = object(text);
  if (o === undefined || !isStr(o.id) || !isStr(o.member) || !isStrs(o.names) || !o.names.every(isValidHostname) || !isIp(o.ipv4, 4)) return undefined;
  if (o.ipv6 !== undefined && !isIp(o.ipv6, 6)) return undefined;
  if (o.mac !== undefined && (typeof o.mac !== 'string' || (o.mac !== '' && !MAC.test(o.mac)))) return undefined;
  const ports = o.ports ?? [];
  if (!Array.isArray(ports) || !ports.every((p: unknown) => {
    const q = p as Json | null;
    return q !== null && typeof q === 'object' && isPort(q.port) && (q.proto === 'tcp' || q.proto === 'udp');
  })) return undefined;
  return { ...(o as unknown as RemoteRecord), ports: ports as RemoteRecord['ports'] };
}

/** Decode a MemberInfo (its advertise address is the overlay's VTEP: an address). */
export function decodeMember(text: string): MemberInfo | undefined {
  const o = object(text);
  return o !== undefined && isStr(o.id) && isIp(o.advertise) && typeof o.hostname === 'string' && typeof o.since === 'number'
    ? (o as unknown as MemberInfo) : undefined;
}
