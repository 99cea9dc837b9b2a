/**
 * The local mirror of the cluster's keys (docs/cluster.md M6): what this
 * host last saw in etcd, kept current by the watch and rebuilt by a full
 * list after a gap. Pure: fed key/values, it answers with the changes, so the
 * controller can apply them to its record tables in one synchronous step (G11).
 * During a partition it is what keeps remote names resolving.
 */
import {
  decodeClaim, decodeMember, decodeNetwork, decodeRecord, KeySpace,
  type AddressClaim, type MemberInfo, type NetworkSpec, type RemoteRecord,
} from './keys.js';
import { parseIp } from '../../common/ip.js';

/** One key/value as etcd gives it. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** One watch event. */
export interface MirrorEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The new value (put). */
  readonly value?: string | undefined;
}

/** A change of the mirror, as listeners apply it. */
export type MirrorChange =
  | { kind: 'network'; op: 'put' | 'delete'; spec: NetworkSpec }
  | { kind: 'record'; op: 'put' | 'delete'; network: string; record: RemoteRecord }
  | { kind: 'address'; op: 'put' | 'delete'; network: string; address: string; claim: AddressClaim }
  | { kind: 'member'; op: 'put' | 'delete'; member: MemberInfo }
  /** A value that did not decode; `dropped` is the delete of the value it replaced, which is not kept either. */
  | { kind: 'malformed'; key: string; dropped?: MirrorChange | undefined };

/** Current state of the mirrored prefix. */
export class Mirror {
  readonly keys: KeySpace;
  readonly networks = new Map<string, NetworkSpec>();
  /** network → `<member>/<endpoint>` → record. */
  readonly records = new Map<string, Map<string, RemoteRecord>>();
  /** network → address → claim. */
  readonly claims = new Map<string, Map<string, AddressClaim>>();
  readonly members = new Map<string, MemberInfo>();
  /** The etcd revision the mirror is current to (0: never listed). */
  revision = 0;

  constructor(keys: KeySpace) {
    this.keys = keys;
  }

  /** Number of records published by members other than `self`. */
  remoteRecordCount(self: string): number {
    let n = 0;
    for (const m of this.records.values()) for (const r of m.values()) if (r.member !== self) n++;
    return n;
  }

  /** Replace everything with a full listing at `revision`; returns the difference as changes, then the malformed values skipped. */
  load(kvs: readonly KeyValue[], revision: number): MirrorChange[] {
    const next = new Mirror(this.keys);
    const malformed: MirrorChange[] = [];
    for (const kv of kvs) {
      const c = next.#set(kv.key, kv.value);
      if (c?.kind === 'malformed') malformed.push(c);
    }
    const changes = [...diffMirrors(this, next), ...malformed];
    this.networks.clear();
    this.records.clear();
    this.claims.clear();
    this.members.clear();
    for (const [k, v] of next.networks) this.networks.set(k, v);
    for (const [k, v] of next.records) this.records.set(k, v);
    for (const [k, v] of next.claims) this.claims.set(k, v);
    for (const [k, v] of next.members) this.members.set(k, v);
    this.revision = revision;
    return changes;
  }

  /**
   * Apply one watch event at `revision`; returns its change (none for keys sandns does not own). A malformed value
   * replaces the key's old value as a delete would: what the key held is no longer what etcd holds.
   */
  apply(event: MirrorEvent, revision: number): MirrorChange | undefined {
    if (revision > this.revision) this.revision = revision;
    if (event.type === 'delete') return this.#delete(event.key);
    const c = this.#set(event.key, event.value ?? '');
    return c?.kind === 'malformed' ? { ...c, dropped: this.#delete(event.key) } : c;
  }

  /** Apply a watch response's events in order; returns their changes (after a malformed value, the delete it made). */
  applyAll(events: readonly (MirrorEvent & { readonly revision: number })[]): MirrorChange[] {
    const out: MirrorChange[] = [];
    for (const e of events) {
      const c = this.apply(e, e.revision);
      if (c !== undefined) out.push(c);
      if (c?.kind === 'malformed' && c.dropped !== undefined) out.push(c.dropped);
    }
    return out;
  }

  #set(key: string, value: string): MirrorChange | undefined {
    const k = this.keys.parse(key);
    if (k === undefined || k.kind === 'netlock') return undefined;
    if (k.kind === 'network') {
      const spec = decodeNetwork(value);
      if (spec === undefined || spec.name !== k.network) return { kind: 'malformed', key };
      this.networks.set(k.network, spec);
      return { kind: 'network', op: 'put', spec };
    }
    if (k.kind === 'member') {
      const member = decodeMember(value);
      if (member === undefined || member.id !== k.member) return { kind: 'malformed', key };
      this.members.set(k.member, member);
      return { kind: 'member', op: 'put', member };
    }
    if (k.kind === 'address') {
      const claim = decodeClaim(value);
      if (claim === undefined || parseIp(k.address) === undefined) return { kind: 'malformed', key };
      inner(this.claims, k.network).set(k.address, claim);
      return { kind: 'address', op: 'put', network: k.network, address: k.address, claim };
    }
    const record = decodeRecord(value);
    if (record === undefined || record.member !== k.member || record.id !== k.endpoint) return { kind: 'malformed', key };
    inner(this.records, k.network).set(`${k.member}/${k.endpoint}`, record);
    return { kind: 'record', op: 'put', network: k.network, record };
  }

  #delete(key: string): MirrorChange | undefined {
    const k = this.keys.parse(key);
    if (k === undefined || k.kind === 'netlock') return undefined;
    if (k.kind === 'network') {
      const spec = this.networks.get(k.network);
      this.networks.delete(k.network);
      return spec && { kind: 'network', op: 'delete', spec };
    }
    if (k.kind === 'member') {
      const member = this.members.get(k.member);
      this.members.delete(k.member);
      return member && { kind: 'member', op: 'delete', member };
    }
    if (k.kind === 'address') {
      const claim = this.claims.get(k.network)?.get(k.address);
      dropInner(this.claims, k.network, k.address);
      return claim && { kind: 'address', op: 'delete', network: k.network, address: k.address, claim };
    }
    const id = `${k.member}/${k.endpoint}`;
    const record = this.records.get(k.network)?.get(id);
    dropInner(this.records, k.network, id);
    return record && { kind: 'record', op: 'delete', network: k.network, record };
  }
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let m = outer.get(key);
  if (m === undefined) outer.set(key, (m = new Map()));
  return m;
}

function dropInner<V>(outer: Map<string, Map<string, V>>, key: string, innerKey: string): void {
  const m = outer.get(key);
  if (m === undefined) return;
  m.delete(innerKey);
  if (m.size === 0) outer.delete(key);
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The changes that turn `a` into `b`: deletions first (records before networks), then puts (networks first). */
export function diffMirrors(a: Mirror, b: Mirror): MirrorChange[] {
  const dels: MirrorChange[] = [];
  const puts: MirrorChange[] = [];
  for (const [net, m] of a.records) for (const [id, record] of m) if (!b.records.get(net)?.has(id)) dels.push({ kind: 'record', op: 'delete', network: net, record });
  for (const [net, m] of a.claims) for (const [address, claim] of m) if (!b.claims.get(net)?.has(address)) dels.push({ kind: 'address', op: 'delete', network: net, address, claim });
  for (const [id, member] of a.members) if (!b.members.has(id)) dels.push({ kind: 'member', op: 'delete', member });
  for (const [name, spec] of a.networks) if (!b.networks.has(name)) dels.push({ kind: 'network', op: 'delete', spec });
  for (const [name, spec] of b.networks) if (!same(a.networks.get(name), spec)) puts.push({ kind: 'network', op: 'put', spec });
  for (const [id, member] of b.members) if (!same(a.members.get(id), member)) puts.push({ kind: 'member', op: 'put', member });
  for (const [net, m] of b.claims) for (const [address, claim] of m) if (!same(a.claims.get(net)?.get(address), claim)) puts.push({ kind: 'address', op: 'put', network: net, address, claim });
  for (const [net, m] of b.records) for (const [id, record] of m) if (!same(a.records.get(net)?.get(id), record)) puts.push({ kind: 'record', op: 'put', network: net, record });
  return [...dels, ...puts];
}
