/**
 * The CLI's client of the daemon API: one HTTP/JSON request over the unix
 * socket per call (node:http). Connection failures become
 * DaemonUnreachableError; an API error body becomes ApiCallError.
 */
import { unixHttpRequest, UnixHttpError, type UnixHttpAnswer } from '../../common/io/unix-http.js';
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

type Raw = UnixHttpAnswer;

async function send(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<Raw> {
  try {
    return await unixHttpRequest(socketPath, method, path, body, timeoutMs);
  } catch (err) {
    if (err instanceof UnixHttpError && err.kind === 'unreachable') throw new DaemonUnreachableError(socketPath, err.reason, err.cause);
    throw new BadResponseError(err instanceof Error ? err.message : String(err));
  }
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
