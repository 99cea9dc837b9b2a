/**
 * The CLI's client of the daemon API: one HTTP/JSON request over the unix
 * socket per call (node:http). Connection failures become
 * DaemonUnreachableError; an API error body becomes ApiCallError.
 */
import { request } from 'node:http';
import { ApiCallError, BadResponseError, DaemonUnreachableError } from './errors.js';

/** Where the daemon listens unless told otherwise. */
export const DEFAULT_SOCKET = '/run/sandns/sandns.sock';

/** The socket path: --socket, else $SANDNS_SOCKET, else the default. */
export function socketPathFrom(option: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  if (option !== undefined && option !== '') return option;
  const fromEnv = env.SANDNS_SOCKET;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_SOCKET;
}

/** A client of the daemon API. */
export interface ApiClient {
  readonly socketPath: string;
  /** Send a request; resolve with the parsed JSON body of a 2xx answer, throw ApiCallError otherwise. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** GET a plain-text resource (/metrics). */
  text(path: string): Promise<string>;
}

interface Raw {
  status: number;
  text: string;
}

function unreachableReason(code: string | undefined): string {
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

function send(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<Raw> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath, method, path, timeout: timeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.once('timeout', () => req.destroy(new BadResponseError(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof BadResponseError) return reject(err);
      const connectFailure = err.syscall === 'connect' || ['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM'].includes(err.code ?? '');
      reject(connectFailure ? new DaemonUnreachableError(socketPath, unreachableReason(err.code), err) : new BadResponseError(err.message));
    });
    req.end(payload);
  });
}

function parseJson(raw: Raw): unknown {
  if (raw.text.trim() === '') return undefined;
  try {
    return JSON.parse(raw.text);
  } catch {
    throw new BadResponseError(`status ${raw.status} with a body that is not JSON: ${raw.text.slice(0, 120)}`);
  }
}

function toError(raw: Raw): ApiCallError {
  const body = parseJson(raw) as { code?: unknown; message?: unknown } | undefined;
  const code = typeof body?.code === 'string' && body.code.startsWith('ERR_') ? (body.code as `ERR_${string}`) : 'ERR_API_INTERNAL';
  const message = typeof body?.message === 'string' ? body.message : `the daemon answered HTTP ${raw.status}`;
  return new ApiCallError(code, message, raw.status);
}

/** A client for the daemon at `socketPath`. */
export function createClient(socketPath: string, options: { timeoutMs?: number } = {}): ApiClient {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return {
    socketPath,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const raw = await send(socketPath, method, path, body, timeoutMs);
      if (raw.status < 200 || raw.status > 299) throw toError(raw);
      return parseJson(raw) as T;
    },
    async text(path: string): Promise<string> {
      const raw = await send(socketPath, 'GET', path, undefined, timeoutMs);
      if (raw.status < 200 || raw.status > 299) throw toError(raw);
      return raw.text;
    },
  };
}
