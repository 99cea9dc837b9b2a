/**
 * Deferred requests (the CNI plugin's DEL while the daemon was down): at
 * start, after the state is restored and before the API socket opens, every
 * record in `deferred/` beside the socket is replayed through the API in
 * process, in the order written; an applied record is removed, one that
 * still fails stays for the next start and is logged.
 */
import { parseTarget, type ApiRequest, type ApiResponse } from '../../api/index.js';
import { deferredApplied, deferredStoreFor, readDeferredDir } from '../../cni/index.js';
import type { Logger } from '../../common/log.js';

/** What the replay did. */
export interface DeferredReport {
  applied: string[];
  failed: string[];
}

function requestOf(method: string, target: string, body: unknown): ApiRequest {
  // Read as the socket server reads a request target: never normalised (M1).
  const { path, query } = parseTarget(target);
  return { method, path, query, body };
}

/** Replay the deferred records beside `socketPath` through `api`. */
export async function replayDeferred(socketPath: string, api: (req: ApiRequest) => Promise<ApiResponse>, logger: Logger): Promise<DeferredReport> {
  const store = deferredStoreFor(socketPath);
  const report: DeferredReport = { applied: [], failed: [] };
  for (const { key, record } of await readDeferredDir(store.dir)) {
    let ok = true;
    for (const req of record.requests) {
      const res = await api(requestOf(req.method, req.path, req.body));
      const code = (res.body as { code?: unknown } | undefined)?.code;
      if (!deferredApplied(req, res.status, typeof code === 'string' ? code : undefined)) {
        logger.warn({ record: key, request: `${req.method} ${req.path}`, status: res.status, answer: res.body }, 'deferred request failed: kept for the next start');
        ok = false;
        break;
      }
    }
    if (ok) {
      await store.remove(key);
      logger.info({ record: key, reason: record.reason, writtenAt: record.writtenAt }, 'deferred requests applied');
      report.applied.push(key);
    } else {
      report.failed.push(key);
    }
  }
  return report;
}
