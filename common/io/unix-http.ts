/**
 * One HTTP request with a JSON body over a unix socket (node:http): the
 * daemon API's transport, shared by the CLI and the CNI plugin. Any answer,
 * 4xx and 5xx included, resolves with its status and body text; a request
 * that got none rejects with a UnixHttpError saying why, for each caller to
 * turn into its own typed error.
 */
import { request } from 'node:http';
import { lstatSync, type Stats } from 'node:fs';

/** An answer: the HTTP status and the body as text (UTF-8). */
export interface UnixHttpAnswer {
  readonly status: number;
  readonly text: string;
}

/**
 * No answer. `kind`: 'unreachable' (the socket could not be connected: missing, refused, permission), 'timeout'
 * (no answer within the time given), 'failed' (the exchange broke after connecting). `reason` says it in words.
 */
export class UnixHttpError extends Error {
  constructor(readonly kind: 'unreachable' | 'timeout' | 'failed', readonly reason: string, readonly code?: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'UnixHttpError';
  }
}

/**
 * What is at `path` when it is not a socket ('a regular file', 'a directory' ...), else undefined: connect(2) to such
 * a path says ECONNREFUSED, as a stale socket does, but no daemon will ever listen there.
 */
function notASocket(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    return st.isSocket() ? undefined : fileKind(st);
  } catch {
    return undefined;
  }
}

/** What a file that is not a socket is, in words for a message: 'a regular file', 'a directory', 'a symlink' ... */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  return 'a device';
}

/** Why a connect to a unix socket failed, in words a user can act on. */
function unreachableReason(code: string | undefined, path: string): string {
  const other = code === 'ECONNREFUSED' ? notASocket(path) : undefined;
  if (other !== undefined) return `${path} is ${other}, not a socket: give the daemon's API socket (--socket or SANDNS_SOCKET)`;
  switch (code) {
    case 'ENOENT':
      return 'no such socket (is the daemon running?)';
    case 'ECONNREFUSED':
      return 'connection refused (the daemon is not running; a stale socket file is left)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (the API socket is root-only, mode 0600: run as root)';
    default:
      return code ?? 'unknown error';
  }
}

/**
 * Send `method path` with `body` as JSON (none when undefined) to the server at `socketPath`. `timeoutMs` is a
 * deadline for the whole exchange (connect, request, every byte of the answer), not an idle timeout: a server that
 * trickles its answer is cut off at it all the same ('timeout').
 */
export function unixHttpRequest(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<UnixHttpAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (done: () => void): void => {
      if (timer === undefined) return; // settled already (the deadline, an answer or an error came first)
      clearTimeout(timer);
      timer = undefined;
      done();
    };
    const req = request(
      {
        socketPath, method, path,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: NodeJS.ErrnoException) => settle(() => reject(new UnixHttpError('failed', err.message, err.code, { cause: err }))));
        res.once('end', () => settle(() => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })));
      },
    );
    timer = setTimeout(() => {
      settle(() => reject(new UnixHttpError('timeout', `no answer within ${timeoutMs} ms`)));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => settle(() => {
      const connect = err.syscall === 'connect' || ['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM'].includes(err.code ?? '');
      reject(connect ? new UnixHttpError('unreachable', unreachableReason(err.code, socketPath), err.code, { cause: err }) : new UnixHttpError('failed', err.message, err.code, { cause: err }));
    }));
    req.end(payload);
  });
}
