/**
 * Errors of the managed /etc/hosts (STYLE G7). Codes are stable once released.
 */
import { fileFailureClass, SandnsError, type SandnsErrorOptions } from '../common/errors.js';

/** A name that would be written to a hosts file is not a valid host name (H5). */
export class InvalidHostsNameError extends SandnsError {
  override name = 'InvalidHostsNameError' as const;
  constructor(badName: string, hosts: string, problem: string) {
    super(
      'ERR_HOSTS_INVALID_NAME',
      `invalid hosts name ${JSON.stringify(badName)} in ${JSON.stringify(hosts)}: ${problem}`,
      400,
      { details: { name: badName, hosts } },
    );
  }
}

/** An address that would be written to a hosts file is not a plain IPv4/IPv6 address (H5). */
export class InvalidHostsIpError extends SandnsError {
  override name = 'InvalidHostsIpError' as const;
  constructor(ip: string, problem: string) {
    super('ERR_HOSTS_INVALID_IP', `invalid hosts address ${JSON.stringify(ip)}: ${problem}`, 400, {
      details: { ip },
    });
  }
}

/** Reading or writing a hosts file failed (missing file, permissions, disk ...). */
export class HostsFileError extends SandnsError {
  override name = 'HostsFileError' as const;
  constructor(path: string, op: string, options: SandnsErrorOptions = {}) {
    const errno = (options.cause as { code?: unknown } | undefined)?.code;
    const { status, fix } = fileFailureClass(errno);
    super('ERR_HOSTS_IO', `cannot ${op} hosts file ${path}${typeof errno === 'string' ? ` (${errno})` : ''}${fix}`, status, {
      ...options,
      details: { path, op, ...(typeof errno === 'string' ? { errno } : {}) },
    });
  }
}
