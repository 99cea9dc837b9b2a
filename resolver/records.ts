/**
 * RecordTable: one network's DNS records (the record table of
 * docs/behaviour.md's model). Shared by every sandbox on the network; every lookup is a
 * Map hit, every mutation synchronous so all resolvers see it at once (R15).
 */
import { canonicalIp, parseIp } from '../common/ip.js';
import { InvalidRecordError } from './errors.js';

/** An exposed port of an endpoint (R7). */
export interface EndpointPort {
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
}

/** What an endpoint registers on its network's table. */
export interface EndpointRecord {
  readonly endpointId: string;
  /** Container name, aliases, short id, hostname, in that order: the first gets PTR. */
  readonly names: readonly string[];
  readonly ipv4?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly ports?: readonly EndpointPort[] | undefined;
}

/** One (endpoint, name) pair, for listings (`sandns records`). */
export interface RecordEntry {
  readonly name: string;
  readonly endpointId: string;
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/** The de-duplicated addresses of a name, with their wire bytes precomputed for answers. */
export interface AddressSet {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  /** v4.length × 4 bytes, in v4 order. */
  readonly v4Wire: Buffer;
  /** v6.length × 16 bytes, in v6 order. */
  readonly v6Wire: Buffer;
}

/** One SRV target: an endpoint exposing the asked port (R7). */
export interface ServiceTarget {
  /** `name.network` of the endpoint's first name (no trailing dot). */
  readonly target: string;
  readonly port: number;
  /** The target endpoint's own addresses (for the Additional section). */
  readonly addresses: AddressSet;
}

interface StoredEndpoint {
  readonly id: string;
  readonly names: readonly string[];
  readonly keys: readonly string[];
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  readonly ports: readonly EndpointPort[];
  readonly own: AddressSet;
}

interface NameEntry {
  owners: StoredEndpoint[];
  set: AddressSet;
}

/** Per-network record table: lowercased name → addresses, address → PTR name, SRV. */
export class RecordTable {
  readonly networkName: string;
  readonly #byName = new Map<string, NameEntry>();
  readonly #byEndpoint = new Map<string, StoredEndpoint>();
  readonly #byAddress = new Map<string, StoredEndpoint[]>();

  constructor(networkName: string) {
    this.networkName = networkName;
  }

  /** Number of distinct names in the table. */
  get size(): number {
    return this.#byName.size;
  }

  /** Register an endpoint's names; an endpoint already present is replaced (alias change, R15). */
  addEndpoint(rec: EndpointRecord): void {
    const ep = storeEndpoint(rec);
    this.removeEndpoint(ep.id);
    this.#byEndpoint.set(ep.id, ep);
    for (const key of ep.keys) {
      const entry = this.#byName.get(key);
      if (entry === undefined) this.#byName.set(key, { owners: [ep], set: ep.own });
      else {
        entry.owners.push(ep);
        entry.set = mergeAddresses(entry.owners);
      }
    }
    if (ep.names.length === 0) return;
    for (const ip of [ep.ipv4, ep.ipv6]) {
      if (ip === undefined) continue;
      const list = this.#byAddress.get(ip);
      if (list === undefined) this.#byAddress.set(ip, [ep]);
      else list.push(ep);
    }
  }

  /** Remove every name and reverse entry of an endpoint; unknown ids are ignored. */
  removeEndpoint(endpointId: string): void {
    const ep = this.#byEndpoint.get(endpointId);
    if (ep === undefined) return;
    this.#byEndpoint.delete(endpointId);
    for (const key of ep.keys) {
      const entry = this.#byName.get(key);
      if (entry === undefined) continue;
      entry.owners = entry.owners.filter((o) => o !== ep);
      if (entry.owners.length === 0) this.#byName.delete(key);
      else entry.set = mergeAddresses(entry.owners);
    }
    for (const ip of [ep.ipv4, ep.ipv6]) {
      if (ip === undefined) continue;
      const list = this.#byAddress.get(ip)?.filter((o) => o !== ep);
      if (list === undefined || list.length === 0) this.#byAddress.delete(ip);
      else this.#byAddress.set(ip, list);
    }
  }

  /** Addresses of a name (`lname`: lowercased, no trailing dot); undefined when the name is unknown. */
  lookup(lname: string): AddressSet | undefined {
    return this.#byName.get(lname)?.set;
  }

  /**
   * PTR target `name.network` (no trailing dot) of an address, case as registered:
   * the first name of the first endpoint registered with that address.
   */
  lookupReverse(ip: string): string | undefined {
    const key = canonicalIp(ip);
    const ep = key === undefined ? undefined : this.#byAddress.get(key)?.[0];
    return ep === undefined ? undefined : `${ep.names[0]}.${this.networkName}`;
  }

  /**
   * SRV targets for `_port._proto.name` (R7). Undefined when the name is not of
   * that form or `name` is unknown; empty when `name` is known but exposes no
   * such port (the caller answers NODATA then, R6).
   */
  lookupService(lname: string): readonly ServiceTarget[] | undefined {
    if (lname.charCodeAt(0) !== 95 /* _ */) return undefined;
    const dot1 = lname.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : lname.indexOf('.', dot1 + 1);
    if (dot2 < 0 || lname.charCodeAt(dot1 + 1) !== 95) return undefined;
    const entry = this.#byName.get(lname.slice(dot2 + 1));
    if (entry === undefined) return undefined;
    const portText = lname.slice(1, dot1);
    const proto = lname.slice(dot1 + 2, dot2);
    const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : -1;
    const out: ServiceTarget[] = [];
    for (const ep of entry.owners) {
      if (!ep.ports.some((p) => p.port === port && p.proto === proto)) continue;
      if (ep.names.length === 0) continue;
      out.push({ target: `${ep.names[0]}.${this.networkName}`, port, addresses: ep.own });
    }
    return out;
  }

  /** Every (endpoint, name) pair, in registration order. */
  entries(): RecordEntry[] {
    const out: RecordEntry[] = [];
    for (const ep of this.#byEndpoint.values()) {
      for (const name of ep.names) {
        out.push({ name, endpointId: ep.id, v4: ep.own.v4, v6: ep.own.v6 });
      }
    }
    return out;
  }
}

function storeEndpoint(rec: EndpointRecord): StoredEndpoint {
  if (typeof rec.endpointId !== 'string' || rec.endpointId === '') {
    throw new InvalidRecordError('endpointId', 'must be a non-empty string');
  }
  const names: string[] = [];
  const keys: string[] = [];
  for (const raw of rec.names) {
    const name = typeof raw === 'string' && raw.endsWith('.') ? raw.slice(0, -1) : raw;
    if (typeof name !== 'string' || name === '') {
      throw new InvalidRecordError('names', `must hold non-empty strings (got ${JSON.stringify(raw)})`);
    }
    const key = name.toLowerCase();
    if (keys.includes(key)) continue; // de-duplicated, first spelling kept
    names.push(name);
    keys.push(key);
  }
  const v4 = parseAddress(rec.ipv4, 'ipv4');
  const v6 = parseAddress(rec.ipv6, 'ipv6');
  const ports = (rec.ports ?? []).map((p) => checkPort(p));
  const own = freezeSet(
    v4 === undefined ? [] : [v4.text],
    v6 === undefined ? [] : [v6.text],
    Buffer.from(v4?.bytes ?? []),
    Buffer.from(v6?.bytes ?? []),
  );
  const ipv4 = v4?.text;
  const ipv6 = v6?.text;
  return { id: rec.endpointId, names, keys, ipv4, ipv6, ports, own };
}

// One parse per address: canonical text and wire bytes.
function parseAddress(ip: string | undefined, field: 'ipv4' | 'ipv6'): { text: string; bytes: readonly number[] } | undefined {
  if (ip === undefined) return undefined;
  const a = typeof ip === 'string' ? parseIp(ip) : undefined;
  if (a !== undefined && a.family === (field === 'ipv4' ? 4 : 6)) return { text: a.text, bytes: a.bytes };
  throw new InvalidRecordError(field, `is not a plain ${field} address: ${JSON.stringify(ip)}`);
}

function checkPort(p: EndpointPort): EndpointPort {
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535 || (p.proto !== 'tcp' && p.proto !== 'udp')) {
    throw new InvalidRecordError('ports', `must be 1-65535 with proto tcp or udp (got ${JSON.stringify(p)})`);
  }
  return { port: p.port, proto: p.proto };
}

function mergeAddresses(owners: readonly StoredEndpoint[]): AddressSet {
  // Each address once, in registration order; wire bytes copied, not re-parsed.
  const seen4 = new Set<string>();
  const seen6 = new Set<string>();
  const v4Parts: Buffer[] = [];
  const v6Parts: Buffer[] = [];
  for (const o of owners) {
    if (o.ipv4 !== undefined && !seen4.has(o.ipv4)) {
      seen4.add(o.ipv4);
      v4Parts.push(o.own.v4Wire);
    }
    if (o.ipv6 !== undefined && !seen6.has(o.ipv6)) {
      seen6.add(o.ipv6);
      v6Parts.push(o.own.v6Wire);
    }
  }
  return freezeSet([...seen4], [...seen6], Buffer.concat(v4Parts), Buffer.concat(v6Parts));
}

function freezeSet(v4: string[], v6: string[], v4Wire: Buffer, v6Wire: Buffer): AddressSet {
  return Object.freeze({ v4: Object.freeze(v4), v6: Object.freeze(v6), v4Wire, v6Wire });
}
