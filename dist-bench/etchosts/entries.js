/**
 * Hosts records: the names rule (Docker H10), validation (spec H5) and the
 * line format `IP<TAB>names` with the canonical address (Docker H1).
 */
import { Address4, Address6 } from 'ip-address';
import { hostnameProblem } from '../common/dns-name.js';
import { InvalidHostsIpError, InvalidHostsNameError } from './errors.js';
const V4_MAPPED = new Address6('::ffff:0:0/96');
/**
 * The canonical text of a plain IP address (as Go's netip prints it: `fe00::`,
 * `::ffff:1.2.3.4`), or undefined when `text` is not one. Prefixes and zones
 * are refused: glibc's hosts parser does not take a scope id.
 */
export function canonicalHostsIp(text) {
    if (text.includes('/') || text.includes('%'))
        return undefined;
    if (Address4.isValid(text))
        return new Address4(text).correctForm();
    if (!Address6.isValid(text))
        return undefined;
    const addr = new Address6(text);
    if (addr.isInSubnet(V4_MAPPED))
        return `::ffff:${addr.to4().correctForm()}`;
    return addr.correctForm();
}
/** True when a canonical address is IPv6 (v4-mapped included, as netip's Is6). */
export function isIpv6(canonicalIp) {
    return canonicalIp.includes(':');
}
/** Throws InvalidHostsNameError unless `name` is one valid host name (H5). */
function checkName(name, hosts) {
    const problem = name === '' ? 'empty name (leading, trailing or doubled space)' : hostnameProblem(name);
    if (problem !== undefined)
        throw new InvalidHostsNameError(name, hosts, problem);
}
/**
 * The names of a sandbox's own lines (Docker H10): `fqdn` plus its first label
 * when the fqdn has a dot. Throws ERR_HOSTS_INVALID_NAME for a bad part (H5),
 * so a space inside a hostname can never turn into two names.
 */
export function hostsNamesFor(hostname, domainname) {
    checkName(hostname, hostname);
    if (domainname !== undefined && domainname !== '')
        checkName(domainname, domainname);
    const fqdn = domainname === undefined || domainname === '' ? hostname : `${hostname}.${domainname}`;
    const dot = fqdn.indexOf('.');
    return dot > 0 ? `${fqdn} ${fqdn.slice(0, dot)}` : fqdn;
}
/**
 * Check a record before it is written (H5) and return it with the address in
 * canonical form. Throws ERR_HOSTS_INVALID_IP or ERR_HOSTS_INVALID_NAME (400).
 */
export function validateHostsRecord(rec) {
    const ip = canonicalHostsIp(rec.ip);
    if (ip === undefined)
        throw new InvalidHostsIpError(rec.ip, 'not a plain IPv4 or IPv6 address');
    if (rec.hosts === '')
        throw new InvalidHostsNameError('', rec.hosts, 'a record needs at least one name');
    for (const name of rec.hosts.split(' '))
        checkName(name, rec.hosts);
    return { ip, hosts: rec.hosts };
}
/** Validate every record first, so nothing is written when one is bad (H5). */
export function validateHostsRecords(recs) {
    return recs.map(validateHostsRecord);
}
/** One hosts line, `IP<TAB>names\n`, for an already validated record (Docker H1). */
export function formatHostsLine(rec) {
    return `${rec.ip}\t${rec.hosts}\n`;
}
//# sourceMappingURL=entries.js.map