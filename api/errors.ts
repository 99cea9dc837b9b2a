/**
 * Errors of the API layer, with their HTTP statuses (G7). Controller errors
 * keep theirs; these cover what only the API can get wrong.
 */
import { SandnsError } from '../common/errors.js';

/** Codes of the API layer (for the README error table test). */
export const API_ERROR_CODES = [
  'ERR_API_BAD_REQUEST',
  'ERR_API_NOT_FOUND',
  'ERR_API_METHOD_NOT_ALLOWED',
  'ERR_API_BODY_TOO_LARGE',
  'ERR_API_INTERNAL',
  'ERR_API_UNSUPPORTED',
  'ERR_API_SOCKET_IN_USE',
  'ERR_API_SOCKET_PATH',
  'ERR_API_SOCKET_DIR_UNSAFE',
  'ERR_API_BAD_PATH',
] as const;

/** The request cannot be understood (bad JSON, not an object) (400). */
export class ApiBadRequestError extends SandnsError {
  constructor(problem: string) {
    super('ERR_API_BAD_REQUEST', `bad request: ${problem}`, 400);
    this.name = 'ApiBadRequestError';
  }
}

/** No such route (404). */
export class ApiNotFoundError extends SandnsError {
  constructor(method: string, path: string) {
    super('ERR_API_NOT_FOUND', `no API route ${method} ${path}`, 404, { details: { method, path } });
    this.name = 'ApiNotFoundError';
  }
}

/** The path exists but not with this method (405). */
export class ApiMethodNotAllowedError extends SandnsError {
  constructor(method: string, path: string, allowed: readonly string[]) {
    super('ERR_API_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`, 405, {
      details: { allowed },
    });
    this.name = 'ApiMethodNotAllowedError';
  }
}

/** The request body is over the limit (413). */
export class ApiBodyTooLargeError extends SandnsError {
  constructor(limit: number) {
    super('ERR_API_BODY_TOO_LARGE', `request body larger than ${limit} bytes`, 413, { details: { limit } });
    this.name = 'ApiBodyTooLargeError';
  }
}

/** This daemon was started without the needed part (no probe, no explain) (501). */
export class ApiUnsupportedError extends SandnsError {
  constructor(what: string) {
    super('ERR_API_UNSUPPORTED', `${what} is not available in this daemon`, 501);
    this.name = 'ApiUnsupportedError';
  }
}

/** Another daemon already listens on the socket. */
export class ApiSocketInUseError extends SandnsError {
  constructor(path: string) {
    super('ERR_API_SOCKET_IN_USE', `a sandns daemon is already listening on ${path} (stop it first, or give another --socket)`, 409, {
      details: { socket: path },
    });
    this.name = 'ApiSocketInUseError';
  }
}

/**
 * The `--socket` path holds something the daemon must not replace: a file that
 * is not a socket (a regular file, a directory, a symlink ...; sandns never
 * removes it), or a socket it cannot tell is stale (a connect error other than
 * ECONNREFUSED). The daemon refuses to start (409).
 */
export class ApiSocketPathError extends SandnsError {
  constructor(path: string, problem: string) {
    super('ERR_API_SOCKET_PATH', `--socket ${path}: ${problem}`, 409, { details: { socket: path } });
    this.name = 'ApiSocketPathError';
  }
}

/**
 * The socket's directory could let another user replace the socket, and so
 * pose as the daemon to the root CLI and the OCI hook: it is not owned by root
 * (or the daemon's own user), or it is group- or other-writable. The daemon
 * refuses to start (409).
 */
export class ApiSocketDirUnsafeError extends SandnsError {
  constructor(dir: string, problem: string) {
    super('ERR_API_SOCKET_DIR_UNSAFE', `the socket directory ${dir} ${problem}: another user could replace the socket; fix its owner or mode (chown root, chmod go-w), or give a --socket in a root-only directory`, 409, {
      details: { dir },
    });
    this.name = 'ApiSocketDirUnsafeError';
  }
}

/**
 * The request path has an empty segment (`//`, a trailing `/`), a dot segment
 * (`.`, `..`, `%2e`), or is not a path at all (400). Paths are never
 * normalised: `/sandboxes/./key` is refused, not read as `/sandboxes/key`.
 */
export class ApiBadPathError extends SandnsError {
  constructor(path: string, problem: string) {
    super('ERR_API_BAD_PATH', `the request path ${JSON.stringify(path.slice(0, 200))} ${problem}: write each object name as one whole segment`, 400, {
      details: { path: path.slice(0, 200) },
    });
    this.name = 'ApiBadPathError';
  }
}
