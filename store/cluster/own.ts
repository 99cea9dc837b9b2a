/**
 * What this host holds in the cluster (docs/cluster.md M4, M5): its address
 * claims and published records, kept as desired state. etcd is told on every
 * change; after a gap (partition, lost lease, restart) reconcilePlan() says
 * how to make etcd match again, and which claims were lost to another host.
 */
import type { AddressClaim, KeySpace, RemoteRecord } from './keys.js';
import type { Mirror } from './mirror.js';

/** One owned key with its value and what it is. */
export type OwnedEntry =
  | { kind: 'claim'; key: string; value: string; network: string; address: string; claim: AddressClaim }
  | { kind: 'record'; key: string; value: string; network: string; record: RemoteRecord };

/** What reconciliation must do. */
export interface ReconcilePlan {
  /** Claims to (re)assert: put when absent or still ours, else lost. */
  readonly claims: readonly Extract<OwnedEntry, { kind: 'claim' }>[];
  /** Records to (re)put under the current lease. */
  readonly records: readonly Extract<OwnedEntry, { kind: 'record' }>[];
  /** Keys etcd holds for this member that it no longer owns (a leave during a partition). */
  readonly stale: readonly string[];
  /**
   * Owned entries of networks etcd no longer has, or has under another id (another host deleted the network, perhaps
   * made it again, while this one could not reach it and its claims had expired with its lease): never put back;
   * their endpoints are lost with their network.
   */
  readonly orphaned: readonly OwnedEntry[];
}

/** The desired owned keys of one member. */
export class OwnedKeys {
  readonly #keys: KeySpace;
  readonly #entries = new Map<string, OwnedEntry>();

  constructor(keys: KeySpace) {
    this.#keys = keys;
  }

  /** Own an address; returns its entry. */
  claim(network: string, address: string, claim: AddressClaim): Extract<OwnedEntry, { kind: 'claim' }> {
    const key = this.#keys.address(network, address);
    const e = { kind: 'claim' as const, key, value: JSON.stringify(claim), network, address, claim };
    this.#entries.set(key, e);
    return e;
  }

  /** Own a record; returns its entry. */
  record(network: string, record: RemoteRecord): Extract<OwnedEntry, { kind: 'record' }> {
    const key = this.#keys.record(network, record.member, record.id);
    const e = { kind: 'record' as const, key, value: JSON.stringify(record), network, record };
    this.#entries.set(key, e);
    return e;
  }

  /** Stop owning a key; returns what it was. */
  drop(key: string): OwnedEntry | undefined {
    const e = this.#entries.get(key);
    this.#entries.delete(key);
    return e;
  }

  /** The owned entry at `key`. */
  get(key: string): OwnedEntry | undefined {
    return this.#entries.get(key);
  }

  /** Every owned entry. */
  entries(): OwnedEntry[] {
    return [...this.#entries.values()];
  }

  /** Re-own everything under a new member id (a member whose lease expired comes back as a new one, M7). */
  rename(member: string): void {
    for (const e of this.entries()) {
      this.#entries.delete(e.key);
      if (e.kind === 'claim') this.claim(e.network, e.address, { ...e.claim, member });
      else this.record(e.network, { ...e.record, member });
    }
  }
}

/** How to make etcd (as `mirror` shows it) hold exactly `own` for `member`, and `formerMembers`' keys gone. */
export function reconcilePlan(own: OwnedKeys, mirror: Mirror, member: string, formerMembers: readonly string[] = [], idOf: (network: string) => string | undefined = () => undefined): ReconcilePlan {
  const entries = own.entries();
  const mine = new Set([member, ...formerMembers]);
  const stale: string[] = [];
  for (const [net, records] of mirror.records) {
    for (const r of records.values()) {
      const key = mirror.keys.record(net, r.member, r.id);
      if (mine.has(r.member) && own.get(key) === undefined) stale.push(key);
    }
  }
  for (const [net, claims] of mirror.claims) {
    for (const [address, c] of claims) {
      const key = mirror.keys.address(net, address);
      if (mine.has(c.member) && own.get(key) === undefined) stale.push(key);
    }
  }
  // Gone, or deleted and made again under the same name (another id): either way not the network these keys were of.
  const current = (name: string): boolean => {
    const spec = mirror.networks.get(name);
    const id = idOf(name);
    return spec !== undefined && (id === undefined || spec.id === id);
  };
  const live = entries.filter((e) => current(e.network));
  return {
    claims: live.filter((e): e is Extract<OwnedEntry, { kind: 'claim' }> => e.kind === 'claim'),
    records: live.filter((e): e is Extract<OwnedEntry, { kind: 'record' }> => e.kind === 'record'),
    stale,
    orphaned: entries.filter((e) => !current(e.network)),
  };
}
