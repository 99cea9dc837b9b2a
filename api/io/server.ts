/**
 * The API over HTTP on a unix socket (L1): node:http, mode 0600 (root only),
 * a body size limit, JSON in and out. Routing and error mapping are the pure
 * routes' job; this file only turns bytes into an ApiRequest and an
 * ApiResponse back into bytes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import type { Logger } from '../../common/log.js';
import { armCrashPoints } from '../../common/crash.js';
import { ApiBadRequestError, ApiBodyTooLargeError } from '../errors.js';
import { prepareSocketPath } from './socket-path.js';
import { errorResponse } from '../routes.js';
import { ControllerClosedError } from '../../controller/index.js';
import { parseTarget } from '../path.js';
import type { ApiRequest, ApiResponse } from '../types.js';

/** Options of startApiServer. */
export interface ApiServerOptions {
  /** Path of the unix socket. Its directory is created (0755) when missing; an existing one must be root's and not group/other-writable. */
  readonly socketPath: string;
  /** Serves one parsed request (routes' createApi). */
  readonly handle: (req: ApiRequest) => Promise<ApiResponse>;
  readonly logger: Logger;
  /** Largest accepted request body, bytes; default 1 MiB. */
  readonly bodyLimit?: number;
}

/** A listening API server. */
export interface ApiServer {
  readonly socketPath: string;
  /**
   * Shut down: stop accepting connections; a request arriving on an open
   * connection from now on is 503 ERR_CONTROLLER_CLOSED; wait for the handlers
   * already running (at most `graceMs`, default 30 s; those still running
   * then are logged), close the connections and remove the socket file. Once
   * it resolves, no handler started by this server is still running (unless
   * the bound was hit), so the controller can be closed under none.
   */
  close(graceMs?: number): Promise<void>;
}

function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      const wasOver = size > limit;
      size += c.length;
      if (size <= limit) chunks.push(c);
      else if (!wasOver) {
        // Over the limit: answer 413 now, keep draining (discarding) so the client can read it.
        chunks.length = 0;
        reject(new ApiBodyTooLargeError(limit));
      }
    });
    req.once('error', reject);
    req.once('end', () => {
      if (size > limit) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new ApiBadRequestError(`the body is not valid JSON (${(err as Error).message})`));
      }
    });
  });
}

function send(res: ServerResponse, out: ApiResponse, close = false): void {
  const text = out.text !== undefined;
  const payload = text ? out.text! : out.body === undefined ? '' : `${JSON.stringify(out.body)}\n`;
  // A 204 has no content, so no Content-Length either (RFC 9110 §8.6). For HEAD, node:http sends the fields of the GET answer without its body.
  res.writeHead(out.status, {
    ...(out.status === 204 ? {} : {
      'content-type': text ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
    }),
    ...out.headers,
    ...(out.status === 413 || close ? { connection: 'close' } : {}),
  });
  res.end(out.status === 204 ? undefined : payload);
}

async function serve(req: IncomingMessage, res: ServerResponse, opts: ApiServerOptions): Promise<void> {
  const started = process.hrtime.bigint();
  let out: ApiResponse;
  try {
    // Fault injection of the kill -9 tests (common/crash.ts): honoured only by a daemon started with SANDNS_CRASH_POINTS=1.
    const crashAt = req.headers['x-sandns-crash-at'];
    if (typeof crashAt === 'string') armCrashPoints(crashAt, req.headers['x-sandns-crash-signal'] === 'SIGSTOP' ? 'SIGSTOP' : 'SIGKILL');
    // The path as sent: new URL() would drop dot segments and read a leading // as a host (M1).
    const { path, query } = parseTarget(req.url ?? '/');
    const body = await readBody(req, opts.bodyLimit ?? 1 << 20);
    const apiReq: ApiRequest = { method: req.method ?? 'GET', path, query, body };
    out = await opts.handle(apiReq);
  } catch (err) {
    out = errorResponse(err, opts.logger);
  }
  if (!res.destroyed) send(res, out);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  opts.logger.debug({ method: req.method, url: req.url, status: out.status, ms: Math.round(ms * 10) / 10 }, 'api request');
}

/** Wait for `handlers` to settle, at most `ms`; those still running then are logged (they may fail under a closed controller). */
async function settleWithin(handlers: readonly Promise<void>[], ms: number, logger: Logger): Promise<void> {
  if (handlers.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const left = await Promise.race([
    Promise.allSettled(handlers).then(() => 0),
    new Promise<number>((resolve) => (timer = setTimeout(() => resolve(handlers.length), ms))),
  ]);
  clearTimeout(timer);
  if (left > 0) logger.warn({ graceMs: ms }, 'API requests still running at shutdown after the grace period: closing under them');
}

/**
 * A request node:http cannot parse (a raw non-ASCII byte in the path, a bad
 * method or header) is still the client's error: 400 with a code, as every
 * other (L8), then the connection is closed.
 */
function answerUnparsable(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const body = `${JSON.stringify(new ApiBadRequestError(`the request cannot be parsed as HTTP/1.1 (${err.code ?? 'parse error'})`).toJSON())}\n`;
  socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/**
 * Listen on the unix socket. The path is made ready by prepareSocketPath: a
 * stale socket is replaced; a live one, anything that is not a socket, or a
 * directory others could write is refused (ERR_API_SOCKET_IN_USE,
 * ERR_API_SOCKET_PATH, ERR_API_SOCKET_DIR_UNSAFE). The socket is created
 * under umask 0177 and then chmod 0600, so only root can talk to the daemon.
 */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const path = opts.socketPath;
  await prepareSocketPath(path);
  const running = new Set<Promise<void>>();
  let closing = false;
  const server: Server = createServer((req, res) => {
    if (closing) {
      // Shutting down: nothing new may start under a controller about to close (M6).
      send(res, errorResponse(new ControllerClosedError(), opts.logger), true);
      return;
    }
    const p = serve(req, res, opts);
    running.add(p);
    void p.finally(() => running.delete(p));
  });
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerUnparsable(err, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The umask is the process's: it is narrowed only around listen(), which binds a unix path synchronously (the
    // callback comes later), so no other code of this process runs, and creates a file, under it.
    const oldMask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(oldMask);
    }
  });
  await chmod(path, 0o600);
  server.on('error', (err) => opts.logger.error({ err }, 'API server error'));
  opts.logger.info({ socket: path }, 'API listening');
  return {
    socketPath: path,
    async close(graceMs = 30_000) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await settleWithin([...running], graceMs, opts.logger);
      // Every answer is written; a second for the last bytes to leave, then whatever is still open is cut.
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 1_000);
      await closed;
      clearTimeout(timer);
      await rm(path, { force: true });
    },
  };
}
