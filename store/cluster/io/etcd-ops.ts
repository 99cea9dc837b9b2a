/**
 * The transactions of the cluster store (docs/cluster.md M3–M5), each one
 * round trip with a deadline:
 * - network create: guarded by the netlock key's revision, so the overlap check
 *   (done on a list read after the lock) holds when the put commits;
 * - network delete: refused while another member holds claims or records of
 *   it, guarded by a compare over those key ranges;
 * - address claim: put only if the key does not exist (compare-and-set);
 * - reclaim after a gap: put if absent, or if the holder is still this endpoint.
 */
import type { Etcd3 } from 'etcd3';
import { ClusterConflictError } from '../errors.js';
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

/** Result of one guarded network delete attempt: done (or gone already), refused (claims and records of other members), or to try again. */
export type DeleteAttempt = { ok: true } | { ok: false; inUse: number } | { ok: false; moved: true };

/** The key right after every key that starts with `prefix` (etcd's range end of a prefix). */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  b[b.length - 1]! += 1;
  return b;
}

/**
 * One attempt at deleting a network (M3, M4): read its address claims and its records; another member holding any
 * has endpoints on it, perhaps not joined yet (a connect claims before it publishes): refused. Else delete the
 * network and its leftover claims (this member's, stale) and bump the lock, committed only if no claim or record of
 * it was written since those reads (a compare over each key range, etcd ≥ 3.3): a connect on another host that
 * races the delete either lands first and refuses it, or finds the network gone.
 */
export async function tryDeleteNetwork(s: Session, name: string): Promise<DeleteAttempt> {
  const claims = await withDeadline(s.timeoutMs, (o) => s.client.getAll().prefix(s.keys.addresses(name)).options(o).exec());
  const records = await withDeadline(s.timeoutMs, (o) => s.client.getAll().prefix(s.keys.records(name)).options(o).exec());
  // Endpoints of other members, each counted once (a joined one has a claim per address and a record).
  const others = new Set<string>();
  for (const kv of claims.kvs) {
    const c = decodeClaim(kv.value.toString());
    if (c !== undefined && c.member !== s.member) others.add(`${c.member}/${c.endpoint}`);
  }
  for (const kv of records.kvs) {
    const k = s.keys.parse(kv.key.toString());
    if (k?.kind === 'record' && k.member !== s.member) others.add(`${k.member}/${k.endpoint}`);
  }
  if (others.size > 0) return { ok: false, inUse: others.size };
  const key = Buffer.from(s.keys.network(name));
  const unchanged = (prefix: string, revision: string): object => ({
    key: Buffer.from(prefix), range_end: prefixEnd(prefix), target: 'Mod', result: 'Less', mod_revision: Number(revision) + 1,
  });
  const res = await withDeadline(s.timeoutMs, (o) => s.client.kv.txn({
    compare: [
      { key, target: 'Create', result: 'Greater', create_revision: 0 },
      unchanged(s.keys.addresses(name), claims.header.revision), unchanged(s.keys.records(name), records.header.revision),
    ],
    success: [
      { request_delete_range: { key } },
      { request_delete_range: { key: Buffer.from(s.keys.addresses(name)), range_end: prefixEnd(s.keys.addresses(name)) } },
      { request_put: { key: Buffer.from(s.keys.netlock()), value: Buffer.from(s.member) } },
    ],
    failure: [{ request_range: { key } }],
  }, o));
  if (res.succeeded) return { ok: true };
  const still = res.responses[0]?.response_range?.kvs?.length ?? 0;
  return still === 0 ? { ok: true } : { ok: false, moved: true };
}

/** Delete a network (tryDeleteNetwork, again while something moves); `inUse` > 0 when refused. Throws ERR_CLUSTER_CONFLICT. */
export async function deleteNetwork(s: Session, name: string): Promise<{ inUse: number }> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const r = await tryDeleteNetwork(s, name);
    if (r.ok) return { inUse: 0 };
    if ('inUse' in r) return { inUse: r.inUse };
  }
  throw new ClusterConflictError('network delete');
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

/**
 * A write whose answer did not come in time may still have committed (etcd applies what it received): after
 * `afterMs`, when nothing has answered or retried it, `entry`'s key is deleted if it still holds the value written and
 * `owned()` says the caller has not taken it again. Best effort: a failure is left to the next reconcile.
 */
export function releaseIfCommitted(s: Session, entry: OwnedEntry, afterMs: number, owned: () => boolean): void {
  setTimeout(() => {
    if (!owned()) void releaseKey(s, entry.key, entry.value).catch(() => undefined);
  }, afterMs).unref();
}

/** Put a value under the lease. */
export async function putLeased(s: Session, key: string, value: string): Promise<void> {
  await withDeadline(s.timeoutMs, (o) => s.client.put(key).value(value).lease(s.lease).options(o).exec());
}

/** Delete one key. */
export async function deleteKey(s: Session, key: string): Promise<void> {
  await withDeadline(s.timeoutMs, (o) => s.client.delete().key(key).options(o).exec());
}
