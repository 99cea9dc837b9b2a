/**
 * The plugin's client of the daemon API: one HTTP/JSON request over the unix
 * socket per call (node:http). A socket that cannot be reached becomes
 * CniDaemonUnreachableError (code 11); any answer, 4xx and 5xx included, is
 * returned for the caller to judge.
 */
import { request } from 'node:http';
import type { ApiAnswer, DaemonApi } from '../daemon.js';
import { CniDaemonError, CniDaemonUnreachableError } from '../errors.js';

function reason(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such socket (is the daemon running?)';
    case 'ECONNREFUSED':
      return 'connection refused (the daemon is not running; a stale socket file is left)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (the API socket is root-only)';
    default:
      return code ?? 'unknown error';
  }
}

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
    request(method, path, body): Promise<ApiAnswer> {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request({
          socketPath: socket, method, path, timeout: timeoutMs,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('error', reject);
          res.once('end', () => {
            const status = res.statusCode ?? 0;
            try {
              resolve({ status, body: parse(status, Buffer.concat(chunks).toString('utf8')) });
            } catch (err) {
              reject(err);
            }
          });
        });
        req.once('timeout', () => req.destroy(new CniDaemonUnreachableError(socket, `no answer within ${timeoutMs} ms`)));
        req.once('error', (err: NodeJS.ErrnoException) => {
          if (err instanceof CniDaemonUnreachableError) return reject(err);
          const connect = err.syscall === 'connect' || ['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM'].includes(err.code ?? '');
          reject(connect ? new CniDaemonUnreachableError(socket, reason(err.code), err) : new CniDaemonError(`${method} ${path}`, 0, err.code ?? 'ERR_CNI_DAEMON', err.message));
        });
        req.end(payload);
      });
    },
  };
}
