/**
 * Errors of the managed /etc/hosts (STYLE G7). Codes are stable once released.
 */
import { SandnsError } from '../common/errors.js';
/** Codes defined in this file (for the README error table test). */
export const HOSTS_ERROR_CODES = ['ERR_HOSTS_INVALID_NAME', 'ERR_HOSTS_INVALID_IP', 'ERR_HOSTS_IO'];
/** A name that would be written to a hosts file is not a valid host name (H5). */
export class InvalidHostsNameError extends SandnsError {
    name = 'InvalidHostsNameError';
    constructor(badName, hosts, problem) {
        super('ERR_HOSTS_INVALID_NAME', `invalid hosts name ${JSON.stringify(badName)} in ${JSON.stringify(hosts)}: ${problem}`, 400, { details: { name: badName, hosts } });
    }
}
/** An address that would be written to a hosts file is not a plain IPv4/IPv6 address (H5). */
export class InvalidHostsIpError extends SandnsError {
    name = 'InvalidHostsIpError';
    constructor(ip, problem) {
        super('ERR_HOSTS_INVALID_IP', `invalid hosts address ${JSON.stringify(ip)}: ${problem}`, 400, {
            details: { ip },
        });
    }
}
/** Reading or writing a hosts file failed (missing file, permissions, disk ...). */
export class HostsFileError extends SandnsError {
    name = 'HostsFileError';
    constructor(path, op, options = {}) {
        const errno = options.cause?.code;
        super('ERR_HOSTS_IO', `cannot ${op} hosts file ${path}${typeof errno === 'string' ? ` (${errno})` : ''}`, 500, {
            ...options,
            details: { path, op, ...(typeof errno === 'string' ? { errno } : {}) },
        });
    }
}
//# sourceMappingURL=errors.js.map