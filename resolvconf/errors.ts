/**
 * Errors of the managed /etc/resolv.conf (STYLE G7). Codes are stable once released.
 */
import { fileFailureClass, SandnsError, type SandnsErrorOptions } from '../common/errors.js';

/** Longest line accepted, in bytes (Go's bufio.MaxScanTokenSize; as Docker). */
export const MAX_LINE_BYTES = 65536;

/** A resolv.conf line is longer than 64 KiB (as Docker). */
export class ResolvConfLineTooLongError extends SandnsError {
  override name = 'ResolvConfLineTooLongError' as const;
  constructor(sourcePath: string, lineNumber: number) {
    super(
      'ERR_RESOLVCONF_LINE_TOO_LONG',
      `failed to parse resolv.conf from ${sourcePath}: line too long (exceeds ${MAX_LINE_BYTES})`,
      400,
      { details: { sourcePath, line: lineNumber } },
    );
  }
}

/** A nameserver given as an override (`dns`) is not an IP address (C1, as Docker). */
export class InvalidNameserverError extends SandnsError {
  override name = 'InvalidNameserverError' as const;
  constructor(nameserver: string) {
    super(
      'ERR_RESOLVCONF_INVALID_NAMESERVER',
      `invalid nameserver ${JSON.stringify(nameserver)}: expected an IPv4 or IPv6 address`,
      400,
      { details: { nameserver } },
    );
  }
}

/** Reading or writing a resolv.conf (or its hash file) failed. */
export class ResolvConfFileError extends SandnsError {
  override name = 'ResolvConfFileError' as const;
  constructor(path: string, op: string, options: SandnsErrorOptions = {}) {
    const errno = (options.cause as { code?: unknown } | undefined)?.code;
    const { status, fix } = fileFailureClass(errno);
    super('ERR_RESOLVCONF_IO', `cannot ${op} ${path}${typeof errno === 'string' ? ` (${errno})` : ''}${fix}`, status, {
      ...options,
      details: { path, op, ...(typeof errno === 'string' ? { errno } : {}) },
    });
  }
}
