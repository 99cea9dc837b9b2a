/**
 * Reconciliation after a gap (docs/cluster.md M5, M7): make etcd hold what
 * this member owns, under its current lease. Claims are re-asserted by
 * compare-and-set: a claim whose address another host holds now is lost (its
 * endpoint is disconnected by the caller); records are re-put; keys of this
 * member that it no longer owns (a leave while unreachable) are deleted. The
 * owned keys of a network deleted meanwhile are dropped, never put back: their
 * endpoints are lost as a claim held by another host is.
 */
import type { Logger } from '../../../common/log.js';
import type { Mirror } from '../mirror.js';
import { reconcilePlan, type OwnedEntry, type OwnedKeys } from '../own.js';
import type { LostClaim } from '../store.js';
import * as ops from './etcd-ops.js';

/** What reconcile needs. */
export interface ReconcileContext {
  readonly session: ops.Session;
  readonly own: OwnedKeys;
  readonly mirror: Mirror;
  readonly formerMembers: readonly string[];
  readonly logger: Logger;
  readonly hostname: string;
  readonly advertise: string;
  readonly countWrite: () => void;
  /** The id of the local network of that name (ClusterListener.networkId). */
  readonly networkId?: (name: string) => string | undefined;
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Reconcile; returns the claims lost to other hosts. */
export async function reconcile(ctx: ReconcileContext): Promise<LostClaim[]> {
  const { session: s, own } = ctx;
  const since = ctx.mirror.members.get(s.member)?.since ?? Date.now();
  await ops.putLeased(s, s.keys.member(s.member), JSON.stringify({ id: s.member, advertise: ctx.advertise, hostname: ctx.hostname, since }));
  ctx.countWrite();
  const plan = reconcilePlan(own, ctx.mirror, s.member, ctx.formerMembers, ctx.networkId);
  const lost: LostClaim[] = [];
  const lostEndpoints = new Set<string>();
  // Claims of a network deleted meanwhile are not put back (that would resurrect its keys): their endpoints go.
  for (const e of plan.orphaned) {
    own.drop(e.key);
    if (e.kind === 'claim') lost.push({ network: e.network, endpoint: e.claim.endpoint, address: e.address, holder: 'none', networkDeleted: true });
  }
  // A disconnect while this runs drops its owned entries and writes nothing (the store is not available yet): an
  // entry dropped before its turn is not written, and one dropped after it was written is released at the end.
  const current = (e: OwnedEntry): boolean => own.get(e.key) === e;
  await inBatches(plan.claims, 32, async (e) => {
    if (!current(e)) return;
    ctx.countWrite();
    const r = await ops.reassertClaim(s, e);
    if (r.result === 'held') return;
    own.drop(e.key);
    lostEndpoints.add(e.claim.endpoint);
    lost.push({ network: e.network, endpoint: e.claim.endpoint, address: e.address, holder: r.holder });
  });
  await inBatches(plan.records.filter((e) => !lostEndpoints.has(e.record.id)), 32, async (e) => {
    if (!current(e)) return;
    ctx.countWrite();
    await ops.putLeased(s, e.key, e.value);
  });
  // Written, then dropped by a disconnect meanwhile: released now (only while it still holds what was written).
  const dropped = [...plan.claims, ...plan.records].filter((e) => !current(e) && !lostEndpoints.has(e.kind === 'claim' ? e.claim.endpoint : e.record.id));
  await inBatches(dropped, 32, async (e) => {
    ctx.countWrite();
    await ops.releaseKey(s, e.key, e.value);
  });
  await inBatches(plan.stale, 32, async (key) => {
    ctx.countWrite();
    await ops.deleteKey(s, key);
  });
  if (lost.length > 0 || plan.stale.length > 0) ctx.logger.info({ lost: lost.length, stale: plan.stale.length, orphaned: plan.orphaned.length }, 'cluster store reconciled');
  return lost;
}
