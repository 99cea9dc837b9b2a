/**
 * The plugin's client of the daemon API: one HTTP/JSON request over the unix
 * socket per call (node:http). A socket that cannot be reached becomes
 * CniDaemonUnreachableError (code 11), an exchange that broke after
 * connecting CniDaemonError with httpStatus 0 (code 11); any answer, 4xx and
 * 5xx included, is returned for the caller to judge.
 */
import { unixHttpRequest, UnixHttpError } from '../../common/io/unix-http.js';
import type { ApiAnswer, DaemonApi } from '../daemon.js';
import { CniDaemonError, CniDaemonUnreachableError } from '../errors.js';
import { CNI_CODE } from '../spec.js';

function parse(status: number, text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new CniDaemonError('read the answer', status, 'ERR_CNI_BAD_RESPONSE', `not JSON: ${text.slice(0, 120)}`);
  }
}

/** A client of the daemon at `socket`; each request gives up after `timeoutMs` (default 60 s). */
export function createDaemonClient(socket: string, timeoutMs = 60_000): DaemonApi {
  return {
    socket,
    async request(method, path, body): Promise<ApiAnswer> {
      let answer;
      try {
        answer = await unixHttpRequest(socket, method, path, body, timeoutMs);
      } catch (err) {
        // Unreachable or silent: the runtime may try again later (code 11). A broken exchange (a reset after
        // connecting: the daemon went away mid-request) is transient too (code 11, httpStatus 0: DEL defers it).
        if (err instanceof UnixHttpError && err.kind !== 'failed') throw new CniDaemonUnreachableError(socket, err.reason, err.cause);
        const e = err as UnixHttpError;
        throw new CniDaemonError(`${method} ${path}`, 0, e.code ?? 'ERR_CNI_DAEMON', `the exchange broke: ${e.message}`, CNI_CODE.TRY_AGAIN_LATER);
      }
      return { status: answer.status, body: parse(answer.status, answer.text) };
    },
  };
}
