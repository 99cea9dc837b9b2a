/**
 * DEL (CNI spec 1.0.0 "DEL"): idempotent, and it succeeds for an unknown
 * container, a vanished namespace and an empty CNI_NETNS (containerd), so a
 * runtime can always remove a container. With the daemon unreachable it
 * leaves a deferred record (pending.ts) and succeeds.
 */
import { apiCode, failed, type DaemonApi } from './daemon.js';
import type { Invocation } from './env.js';
import { sandboxIdOf } from './identity.js';
import { deferredApplied, deferredKey, delRecord, delRequests, type DeferredRecord, type DeferredRequest } from './pending.js';
import { CniDaemonUnreachableError } from './errors.js';

/** Where deferred records live (cni/io/deferred-store.ts on disk; fakes in tests). */
export interface DeferredStore {
  /** Records of one sandbox, with their keys. */
  listFor(sandbox: string): Promise<{ key: string; record: DeferredRecord }[]>;
  write(key: string, record: DeferredRecord): Promise<void>;
  remove(key: string): Promise<void>;
}

/** Send one deferred request; throws the CNI error of an answer that is neither applied nor gone. */
export async function sendDeferred(api: DaemonApi, req: DeferredRequest): Promise<void> {
  const a = await api.request(req.method, req.path, req.body);
  if (!deferredApplied(req, a.status, apiCode(a))) failed(`${req.method} ${req.path}`, a);
}

/** Replay (then remove) the deferred records of a sandbox: a DEL that could not reach the daemon earlier. */
export async function replayDeferred(api: DaemonApi, store: DeferredStore, sandbox: string): Promise<void> {
  for (const { key, record } of await store.listFor(sandbox)) {
    for (const req of record.requests) await sendDeferred(api, req);
    await store.remove(key);
  }
}

/** DEL. Returns 'deferred' when the daemon was unreachable and a record was left. */
export async function del(network: string, inv: Invocation, api: DaemonApi, store: DeferredStore, now: () => Date): Promise<'done' | 'deferred'> {
  const sandbox = sandboxIdOf(inv.containerId);
  try {
    await replayDeferred(api, store, sandbox);
    for (const req of delRequests(sandbox, network)) await sendDeferred(api, req);
    return 'done';
  } catch (err) {
    if (!(err instanceof CniDaemonUnreachableError)) throw err;
    await store.write(deferredKey(sandbox, inv.ifname), delRecord(sandbox, network, inv.ifname, now()));
    return 'deferred';
  }
}
