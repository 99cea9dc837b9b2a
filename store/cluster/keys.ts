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

/** A global network as stored (every host builds its Network from this). */
export interface NetworkSpec {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly subnet6?: string | undefined;
  readonly gateway6?: string | undefined;
  readonly internal: boolean;
  readonly ttl: number;
  readonly dns: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** VXLAN id of overlay networks. */
  readonly vni?: number | undefined;
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

/** Decode a NetworkSpec, or undefined when malformed. */
export function decodeNetwork(text: string): NetworkSpec | undefined {
  const o = object(text);
  if (o === undefined || !isStr(o.id) || !isStr(o.name) || !isStr(o.driver) || !isStr(o.subnet) || !isStr(o.gateway)) return undefined;
  if (typeof o.internal !== 'boolean' || typeof o.ttl !== 'number' || !isStrs(o.dns ?? [])) return undefined;
  if (o.vni !== undefined && (!Number.isInteger(o.vni) || (o.vni as number) < 1)) return undefined;
  return o as unknown as NetworkSpec;
}

/** Decode an AddressClaim. */
export function decodeClaim(text: string): AddressClaim | undefined {
  const o = object(text);
  return o !== undefined && isStr(o.member) && isStr(o.endpoint) ? { member: o.member, endpoint: o.endpoint } : undefined;
}

/** Decode a RemoteRecord. */
export function decodeRecord(text: string): RemoteRecord | undefined {
  const o = object(text);
  if (o === undefined || !isStr(o.id) || !isStr(o.member) || !isStrs(o.names) || !isStr(o.ipv4)) return undefined;
  if (o.ipv6 !== undefined && !isStr(o.ipv6)) return undefined;
  const ports = o.ports ?? [];
  if (!Array.isArray(ports) || !ports.every((p: unknown) => {
    const q = p as Json | null;
    return q !== null && typeof q === 'object' && Number.isInteger(q.port) && (q.proto === 'tcp' || q.proto === 'udp');
  })) return undefined;
  return { ...(o as unknown as RemoteRecord), ports: ports as RemoteRecord['ports'] };
}

/** Decode a MemberInfo. */
export function decodeMember(text: string): MemberInfo | undefined {
  const o = object(text);
  return o !== undefined && isStr(o.id) && isStr(o.advertise) && typeof o.hostname === 'string' && typeof o.since === 'number'
    ? (o as unknown as MemberInfo) : undefined;
}
