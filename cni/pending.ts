/**
 * Deferred DEL (the runtime must always be able to remove a container): when
 * the daemon cannot be reached or fails (5xx, a broken exchange), DEL
 * succeeds and leaves a record of the API requests it would have sent; the
 * daemon replays them at its next start,
 * before its API opens, and the next ADD or DEL of that container that reaches
 * the daemon replays them first. A request that answers 404, or one of its
 * `done` codes, counts as applied (idempotent).
 */

/** One API request to replay. */
export interface DeferredRequest {
  readonly method: 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: Readonly<Record<string, unknown>>;
  /** API error codes that also mean "nothing left to do". */
  readonly done?: readonly string[];
}

/** A deferred-requests record (one file). */
export interface DeferredRecord {
  readonly kind: 'sandns-deferred';
  readonly version: 1;
  /** Why it was written. */
  readonly reason: string;
  /** The sandbox it concerns (replayed before any new ADD/DEL of it). */
  readonly sandbox: string;
  readonly writtenAt: string;
  readonly requests: readonly DeferredRequest[];
}

/** The directory of deferred records: `deferred/` beside the daemon's API socket. */
export function deferredDirOf(socketPath: string): string {
  const slash = socketPath.lastIndexOf('/');
  return `${slash <= 0 ? '' : socketPath.slice(0, slash)}/deferred`;
}

/**
 * The API requests of a CNI DEL of (`network`, `ifname`): leave the network if
 * the sandbox is joined to it as `ifname` (an endpoint joined under another
 * interface name is another attachment: the daemon answers 404, which counts
 * as done), then remove the sandbox unless other networks still hold it.
 */
export function delRequests(sandbox: string, network: string, ifname: string): DeferredRequest[] {
  const s = encodeURIComponent(sandbox);
  return [
    { method: 'POST', path: `/networks/${encodeURIComponent(network)}/disconnect`, body: { sandbox, ifname }, done: ['ERR_NETWORK_NOT_FOUND', 'ERR_SANDBOX_NOT_FOUND', 'ERR_ENDPOINT_NOT_FOUND'] },
    { method: 'DELETE', path: `/sandboxes/${s}?ifEmpty=true`, done: ['ERR_SANDBOX_NOT_FOUND', 'ERR_SANDBOX_IN_USE'] },
  ];
}

/** The record a DEL leaves when the daemon cannot apply it; `why` says what happened (default: unreachable). */
export function delRecord(sandbox: string, network: string, ifname: string, now: Date, why = 'the daemon was unreachable'): DeferredRecord {
  return {
    kind: 'sandns-deferred', version: 1, sandbox, writtenAt: now.toISOString(),
    reason: `CNI DEL of ${ifname} on network ${network}: ${why}`,
    requests: delRequests(sandbox, network, ifname),
  };
}

/** The key (file name without .json) of a sandbox's record for one interface; keys of a sandbox start with `<sandbox>--`. */
export function deferredKey(sandbox: string, ifname: string): string {
  return `${sandbox}--${ifname}`;
}

/** Parse a record file's text; undefined when it is not one (left for a human, never replayed). */
export function parseDeferred(text: string): DeferredRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<DeferredRecord>;
    if (r.kind !== 'sandns-deferred' || r.version !== 1 || typeof r.sandbox !== 'string' || !Array.isArray(r.requests)) return undefined;
    const ok = r.requests.every((q) => (q.method === 'POST' || q.method === 'DELETE') && typeof q.path === 'string' && q.path.startsWith('/'));
    return ok ? (r as DeferredRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** True when an API answer means the request is applied (2xx, 404 or one of its `done` codes). */
export function deferredApplied(req: DeferredRequest, status: number, code: string | undefined): boolean {
  if (status >= 200 && status < 300) return true;
  if (status === 404) return true;
  return code !== undefined && (req.done ?? []).includes(code);
}
