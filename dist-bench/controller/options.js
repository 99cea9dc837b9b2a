/**
 * Options of the controller's public operations, normalised once at the edge
 * (G9): every check throws ERR_INVALID_OPTION / ERR_INVALID_NAME naming the
 * field and the fix; inner code trusts the result.
 */
import { InvalidOptionError } from '../common/errors.js';
import { assertValidHostname } from '../common/dns-name.js';
import { canonicalAddress } from '../drivers/index.js';
const OBJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Check a network/sandbox name (Docker's rule, ≤ 64 chars). */
export function checkObjectName(field, value) {
    if (typeof value !== 'string' || !OBJECT_NAME.test(value)) {
        throw new InvalidOptionError(field, 'must be 1-64 characters of letters, digits, "_", "." or "-", starting with a letter or digit');
    }
    return value;
}
/** Check an IP address and return its canonical form. */
export function checkIp(field, value, family) {
    const c = typeof value === 'string' ? canonicalAddress(value) : undefined;
    if (c === undefined || (family === 4 && c.includes(':')) || (family === 6 && !c.includes(':'))) {
        throw new InvalidOptionError(field, `${JSON.stringify(value)} is not a valid IPv${family ?? '4 or IPv6'} address`);
    }
    return c;
}
/** Check a list of strings. */
export function checkStrings(field, value) {
    if (value === undefined)
        return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        throw new InvalidOptionError(field, 'must be a list of strings');
    }
    return [...value];
}
/** Check DNS names (hostname rule, H5). */
export function checkDnsNames(field, value) {
    return checkStrings(field, value).map((n) => assertValidHostname(n, field));
}
/** Check the TTL. */
export function checkTtl(value) {
    if (value === undefined)
        return 600;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
        throw new InvalidOptionError('ttl', 'must be an integer number of seconds between 0 and 2147483647');
    }
    return value;
}
/** Check exposed ports. */
export function checkPorts(value) {
    if (value === undefined)
        return [];
    if (!Array.isArray(value))
        throw new InvalidOptionError('ports', 'must be a list of {port, proto}');
    return value.map((p) => {
        if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
            throw new InvalidOptionError('ports', 'port must be an integer between 1 and 65535');
        }
        if (p.proto !== 'tcp' && p.proto !== 'udp')
            throw new InvalidOptionError('ports', 'proto must be "tcp" or "udp"');
        return { port: p.port, proto: p.proto };
    });
}
/** Check extra hosts. */
export function checkExtraHosts(value) {
    if (value === undefined)
        return [];
    if (!Array.isArray(value))
        throw new InvalidOptionError('extraHosts', 'must be a list of {name, ip}');
    return value.map((h) => ({
        name: assertValidHostname(String(h.name ?? ''), 'extra host name'),
        ip: checkIp('extraHosts', h.ip),
    }));
}
/** newSandbox's options, checked once, as the sandbox's config; files default to <filesRoot>/<netns name or id>/ (G9). */
export function normalizeSandboxOptions(containerId, o, filesRoot) {
    const id = checkObjectName('id', containerId);
    const netnsName = o.netnsPath === undefined && o.external !== true ? checkObjectName('netnsName', o.netnsName ?? id) : undefined;
    const hostname = checkDnsNames('hostname', [o.hostname ?? id.slice(0, 12)])[0];
    const domainname = o.domainname === undefined || o.domainname === '' ? undefined : checkDnsNames('domainname', [o.domainname])[0];
    const dns = checkStrings('dns', o.dns).map((d) => checkIp('dns', d));
    const filesDir = `${filesRoot}/${netnsName ?? id}`;
    return {
        id, hostname, domainname, dns,
        dnsSearch: checkStrings('dnsSearch', o.dnsSearch),
        dnsOptions: checkStrings('dnsOptions', o.dnsOptions),
        extraHosts: checkExtraHosts(o.extraHosts),
        disableResolution: o.disableResolution === true,
        netnsName, externalKey: o.netnsPath,
        hostsPath: o.hostsPath ?? `${filesDir}/hosts`,
        resolvConfPath: o.resolvConfPath ?? `${filesDir}/resolv.conf`,
    };
}
//# sourceMappingURL=options.js.map