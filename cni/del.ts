/**
 * DEL (CNI spec 1.0.0 "DEL"): idempotent, and it succeeds for an unknown
 * container, a vanished namespace and an empty CNI_NETNS (containerd), so a
 * runtime can always remove a container. With the daemon unreachable or
 * failing (5xx, a broken exchange) it leaves a deferred record (pending.ts)
 * and succeeds.
 */
import { apiCode, failed, type DaemonApi } from './daemon.js';
import type { Invocation } from './env.js';
import { sandboxIdOf } from './identity.js';
import { deferredApplied, deferredKey, delRecord, delRequests, type DeferredRecord, type DeferredRequest } from './pending.js';
import { CniDaemonError, CniDaemonUnreachableError } from './errors.js';

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

/**
 * Why a DEL that failed with `err` is deferred, or undefined when it must
 * fail: the daemon cannot be reached, the exchange broke (httpStatus 0), or it
 * answered 5xx (503 ERR_STORE_DEGRADED or ERR_CONTROLLER_CLOSED, 507
 * ERR_STORE_WRITE_FAILED, ...). A runtime must always be able to remove a
 * container: libcni stops a DEL chain at the first failing plugin, and the
 * plugins before sandns in reverse order would keep their addresses (CNI spec
 * 1.0.0 "DEL": plugins should generally complete a DEL without error). A 4xx
 * (the request itself is wrong) fails: replaying it would fail the same way.
 */
export function deferReason(err: unknown): string | undefined {
  if (err instanceof CniDaemonUnreachableError) return `the daemon was unreachable (${err.message})`;
  if (err instanceof CniDaemonError && !(err.httpStatus >= 400 && err.httpStatus < 500)) {
    return `the daemon failed (${err.httpStatus === 0 ? 'no answer' : `HTTP ${err.httpStatus}`} ${err.apiCode}: ${err.message})`;
  }
  return undefined;
}

/** DEL. Returns `deferred` with the reason when the daemon could not apply it and a record was left (deferReason). */
export async function del(network: string, inv: Invocation, api: DaemonApi, store: DeferredStore, now: () => Date): Promise<{ deferred: false } | { deferred: true; reason: string }> {
  const sandbox = sandboxIdOf(inv.containerId);
  try {
    await replayDeferred(api, store, sandbox);
    for (const req of delRequests(sandbox, network, inv.ifname)) await sendDeferred(api, req);
    return { deferred: false };
  } catch (err) {
    const reason = deferReason(err);
    if (reason === undefined) throw err;
    await store.write(deferredKey(sandbox, inv.ifname), delRecord(sandbox, network, inv.ifname, now(), reason));
    return { deferred: true, reason };
  }
}
