/**
 * The transactions of the cluster store (docs/cluster.md M3–M5), each one
 * round trip with a deadline:
 * - network create: guarded by the netlock key's revision, so the overlap check
 *   (done on a list read after the lock) holds when the put commits;
 * - address claim: put only if the key does not exist (compare-and-set);
 * - reclaim after a gap: put if absent, or if the holder is still this endpoint.
 */
import type { Etcd3 } from 'etcd3';
import { decodeClaim, decodeNetwork, type KeySpace, type NetworkSpec } from '../keys.js';
import type { OwnedEntry } from '../own.js';
import { withDeadline } from './etcd-calls.js';

/** What each operation needs. */
export interface Session {
  readonly client: Etcd3;
  readonly keys: KeySpace;
  readonly timeoutMs: number;
  /** The current lease id (decimal string). */
  readonly lease: string;
  readonly member: string;
}

/** Result of one guarded network create attempt. */
export type CreateAttempt = { ok: true; spec: NetworkSpec } | { ok: false };

/** One attempt: read the lock and the networks, build the spec (throws on overlap/exists), commit if nothing moved. */
export async function tryCreateNetwork(s: Session, build: (existing: readonly NetworkSpec[]) => NetworkSpec): Promise<CreateAttempt> {
  const lock = await withDeadline(s.timeoutMs, (o) => s.client.get(s.keys.netlock()).options(o).exec());
  const lockRev = lock.kvs[0]?.mod_revision ?? '0';
  const list = await withDeadline(s.timeoutMs, (o) => s.client.getAll().prefix(s.keys.networks()).options(o).exec());
  const existing = list.kvs.map((kv) => decodeNetwork(kv.value.toString())).filter((n): n is NetworkSpec => n !== undefined);
  const spec = build(existing);
  const res = await withDeadline(s.timeoutMs, (o) => s.client
    .if(s.keys.netlock(), 'Mod', '==', Number(lockRev))
    .and(s.keys.network(spec.name), 'Create', '==', 0)
    .then(s.client.put(s.keys.network(spec.name)).value(JSON.stringify(spec)), s.client.put(s.keys.netlock()).value(s.member))
    .options(o)
    .commit());
  return res.succeeded ? { ok: true, spec } : { ok: false };
}

/** Delete a network, its leftover address claims, and bump the lock. */
export async function deleteNetworkKeys(s: Session, name: string): Promise<void> {
  await withDeadline(s.timeoutMs, (o) => s.client
    .if(s.keys.network(name), 'Create', '>', 0)
    .then(s.client.delete().key(s.keys.network(name)), s.client.delete().prefix(s.keys.addresses(name)), s.client.put(s.keys.netlock()).value(s.member))
    .options(o)
    .commit());
}

/** Claim an address: true when it was free and is now ours (under the lease). */
export async function claimKey(s: Session, entry: Extract<OwnedEntry, { kind: 'claim' }>): Promise<boolean> {
  const res = await withDeadline(s.timeoutMs, (o) => s.client
    .if(entry.key, 'Create', '==', 0)
    .then(s.client.put(entry.key).value(entry.value).lease(s.lease))
    .options(o)
    .commit());
  return res.succeeded;
}

/** Re-assert a claim after a gap: 'held' when absent or still this endpoint's (now under the current lease), 'lost' otherwise. */
export async function reassertClaim(s: Session, entry: Extract<OwnedEntry, { kind: 'claim' }>): Promise<{ result: 'held' } | { result: 'lost'; holder: string }> {
  const res = await withDeadline(s.timeoutMs, (o) => s.client
    .if(entry.key, 'Create', '==', 0)
    .then(s.client.put(entry.key).value(entry.value).lease(s.lease))
    .else(s.client.get(entry.key))
    .options(o)
    .commit());
  if (res.succeeded) return { result: 'held' };
  const kv = res.responses[0]?.response_range?.kvs[0];
  const holder = kv === undefined ? undefined : decodeClaim(kv.value.toString());
  if (holder === undefined || holder.endpoint !== entry.claim.endpoint) return { result: 'lost', holder: holder?.member ?? 'unknown' };
  const again = await withDeadline(s.timeoutMs, (o) => s.client
    .if(entry.key, 'Mod', '==', Number(kv!.mod_revision))
    .then(s.client.put(entry.key).value(entry.value).lease(s.lease))
    .options(o)
    .commit());
  return again.succeeded ? { result: 'held' } : reassertClaim(s, entry);
}

/** Release a claim if it is still ours. */
export async function releaseKey(s: Session, key: string, value: string): Promise<void> {
  await withDeadline(s.timeoutMs, (o) => s.client.if(key, 'Value', '==', value).then(s.client.delete().key(key)).options(o).commit());
}

/** Put a value under the lease. */
export async function putLeased(s: Session, key: string, value: string): Promise<void> {
  await withDeadline(s.timeoutMs, (o) => s.client.put(key).value(value).lease(s.lease).options(o).exec());
}

/** Delete one key. */
export async function deleteKey(s: Session, key: string): Promise<void> {
  await withDeadline(s.timeoutMs, (o) => s.client.delete().key(key).options(o).exec());
}
