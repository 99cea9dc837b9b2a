/**
 * Typed errors with stable codes (STYLE G7, L1).
 *
 * Every failure a caller can act on is a `SandnsError` subclass carrying a
 * stable `code` (`ERR_<AREA>_<WHAT>`), an optional HTTP `status` class for the
 * API, and the standard `cause`. Tests assert on `code`, never on message text.
 */

/** A stable error code: `ERR_<AREA>_<WHAT>`. Released codes never change. */
export type ErrorCode = `ERR_${string}`;

/** Options accepted by every SandnsError constructor. */
export interface SandnsErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Extra machine-readable details (e.g. the offending field or name). */
  details?: Readonly<Record<string, unknown>>;
}

/** Base class of every error sandns throws on purpose. */
export class SandnsError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** HTTP status class for the API (400, 403, 404, 409, 500...). */
  readonly status: number;
  /** Extra machine-readable details. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, status = 500, options: SandnsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SandnsError';
    this.code = code;
    this.status = status;
    this.details = options.details;
  }

  /** A plain JSON view, as the API sends it. */
  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** An option or argument failed validation; the message names the field and the fix. */
export class InvalidOptionError extends SandnsError {
  constructor(field: string, problem: string, options: SandnsErrorOptions = {}) {
    super('ERR_INVALID_OPTION', `invalid option "${field}": ${problem}`, 400, {
      ...options,
      details: { field, ...options.details },
    });
    this.name = 'InvalidOptionError';
  }
}

/** A name is not a valid DNS/host name (H5). */
export class InvalidNameError extends SandnsError {
  constructor(name: string, problem: string, options: SandnsErrorOptions = {}) {
    super('ERR_INVALID_NAME', `invalid name ${JSON.stringify(name)}: ${problem}`, 400, {
      ...options,
      details: { name, ...options.details },
    });
    this.name = 'InvalidNameError';
  }
}

/** An external command (ip, nsenter...) failed. */
export class ExecError extends SandnsError {
  constructor(argv: readonly string[], stderr: string, options: SandnsErrorOptions = {}) {
    const text = stderr.trim() === '' ? 'no error output' : stderr.trim();
    super('ERR_EXEC_FAILED', `command failed: ${argv.join(' ')}: ${text}`, 500, {
      ...options,
      details: { argv, stderr: text, ...options.details },
    });
    this.name = 'ExecError';
  }
}

/**
 * A path sandns would write as root is not safe to use (L7): a symlink
 * (ERR_FILE_SYMLINK, 409: sandns never follows one), something other than a
 * regular file or directory (ERR_FILE_NOT_REGULAR, 409), or a path that is
 * relative or leaves the allowed root (ERR_FILE_PATH, 400).
 */
export class UnsafeFileError extends SandnsError {
  constructor(code: 'ERR_FILE_SYMLINK' | 'ERR_FILE_NOT_REGULAR' | 'ERR_FILE_PATH', path: string, problem: string, options: SandnsErrorOptions = {}) {
    super(code, `${JSON.stringify(path)}: ${problem}`, code === 'ERR_FILE_PATH' ? 400 : 409, { ...options, details: { path, ...options.details } });
    this.name = 'UnsafeFileError';
  }
}

/** True when `err` is a SandnsError, optionally with the given code. */
export function isSandnsError(err: unknown, code?: ErrorCode): err is SandnsError {
  return err instanceof SandnsError && (code === undefined || err.code === code);
}

/**
 * The HTTP class of a managed file's read or write that failed with `errno`,
 * and what the user can do: a full file system (ENOSPC, EDQUOT) is 507
 * Insufficient Storage, as the state store's; a read-only one (EROFS) or
 * one that refuses us (EACCES, EPERM: permissions, an immutable file) is
 * 409, the path's owner's to fix; anything else stays 500 (ours, or not
 * known to be the environment's).
 */
export function fileFailureClass(errno: unknown): { status: number; fix: string } {
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return { status: 507, fix: ': the file system is full; free some space' };
    case 'EROFS':
      return { status: 409, fix: ': the file system is read-only; give a path on a writable one' };
    case 'EACCES':
    case 'EPERM':
      return { status: 409, fix: ': not permitted (permissions, or an immutable file); fix them or give another path' };
    // What a path that is not a regular file answers to a read, a truncate or a write (a /proc or /sys file, a
    // device, a pipe, a directory, a symlink loop): the path the caller gave is wrong, not sandns.
    case 'ESPIPE':
    case 'EINVAL':
    case 'EISDIR':
    case 'ENOTDIR':
    case 'ENXIO':
    case 'ENODEV':
    case 'ELOOP':
    case 'ENAMETOOLONG':
    case 'ETXTBSY':
      return { status: 409, fix: ': not a regular file sandns can rewrite in place (a /proc or /sys file, a device, a pipe or a directory); give the path of a regular file' };
    default:
      return { status: 500, fix: '' };
  }
}

/** A host limit that sandns ran into: which one, and the knob that raises it. */
export interface HostLimit {
  /** The errno the kernel answered with (EMFILE, ENFILE, or ENOSPC from unshare(CLONE_NEWNET)). */
  readonly errno: 'EMFILE' | 'ENFILE' | 'ENOSPC';
  /** The limit's standard name: RLIMIT_NOFILE, fs.file-max, user.max_net_namespaces. */
  readonly limit: 'RLIMIT_NOFILE' | 'fs.file-max' | 'user.max_net_namespaces';
}

const LIMIT_FIX: Record<HostLimit['limit'], string> = {
  RLIMIT_NOFILE: "the daemon has as many open files as its RLIMIT_NOFILE allows: raise the daemon's limit (ulimit -n, or the service manager's LimitNOFILE) or remove unused sandboxes",
  'fs.file-max': 'the host has as many open files as fs.file-max allows: raise the sysctl fs.file-max or stop other processes',
  'user.max_net_namespaces': 'the host has as many network namespaces as the sysctl user.max_net_namespaces allows: raise it or remove unused sandboxes and containers',
};

/**
 * A request failed because the host ran out of something it counts per
 * process or per user (503: the request is fine and can succeed once the
 * limit is raised or something is freed). What the operation had done is
 * undone as for any failure (G10), but for the later steps of a leave that
 * has happened (see plumbLeave). `details.during` is the code the step would
 * have failed with otherwise, `details.step` that error's message.
 */
export class HostLimitError extends SandnsError {
  constructor(limit: HostLimit, during: string, cause?: unknown) {
    const step = cause instanceof Error ? cause.message.slice(0, 500) : undefined;
    super('ERR_HOST_LIMIT', `${LIMIT_FIX[limit.limit]} (${limit.errno})`, 503, { cause, details: { limit: limit.limit, errno: limit.errno, during, ...(step === undefined ? {} : { step }) } });
    this.name = 'HostLimitError';
  }
}

/** errno numbers of the limits (asm-generic/errno-base.h), as native helpers and "Unknown system error -N" report them. */
const LIMIT_ERRNO: Record<number, 'EMFILE' | 'ENFILE'> = { 24: 'EMFILE', 23: 'ENFILE' };

/**
 * The file-descriptor limit behind `err`, if any: EMFILE (the process's
 * RLIMIT_NOFILE) or ENFILE (the host's fs.file-max), found as `code`,
 * `errno` (±N) or in the message of `err` or any error in its `cause`
 * chain (at most 8 deep). ENOSPC is not read here: it is a full disk
 * everywhere but unshare, whose caller maps it itself.
 */
export function fileLimitOf(err: unknown): HostLimit | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    const { code, errno, message } = e as { code?: unknown; errno?: unknown; message?: unknown };
    const name = (typeof code === 'string' && (code === 'EMFILE' || code === 'ENFILE') ? code : undefined)
      ?? (typeof errno === 'number' ? LIMIT_ERRNO[Math.abs(errno)] : undefined)
      ?? (typeof errno === 'string' && (errno === 'EMFILE' || errno === 'ENFILE') ? errno : undefined)
      ?? /\b(EMFILE|ENFILE)\b|Too many open files( in system)?/.exec(String(message ?? ''))?.[0];
    if (name !== undefined) {
      const system = name === 'ENFILE' || name === 'Too many open files in system';
      return system ? { errno: 'ENFILE', limit: 'fs.file-max' } : { errno: 'EMFILE', limit: 'RLIMIT_NOFILE' };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const LEFT_BEHIND = Symbol.for('sandns.leftBehind');

/**
 * Mark `err` (returned): the operation it ends failed and so did its undo, leaving kernel objects or files behind.
 * The write-ahead record that covers the operation (controller Journal.around) then stays on disk, so the next restore
 * finishes the undo instead of the leak being forgotten (L3). A thrown value that is not an object cannot be marked.
 */
export function leftBehind<E>(err: E): E {
  if (typeof err === 'object' && err !== null) Object.defineProperty(err, LEFT_BEHIND, { value: true, configurable: true });
  return err;
}

/** True when `err` was marked by leftBehind. */
export function isLeftBehind(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[LEFT_BEHIND] === true;
}
