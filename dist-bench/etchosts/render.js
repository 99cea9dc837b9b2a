/**
 * A whole hosts file: defaults, extra hosts, own lines (spec H1, H2; Docker H2, H9).
 */
import { formatHostsLine, isIpv6, validateHostsRecords } from './entries.js';
/** Default lines of every hosts file (Docker H2). */
const DEFAULT_V4 = [{ ip: '127.0.0.1', hosts: 'localhost' }];
/** Default IPv6 lines, written only when the sandbox has IPv6 (Docker H2, H11). */
const DEFAULT_V6 = [
    { ip: '::1', hosts: 'localhost ip6-localhost ip6-loopback' },
    { ip: 'fe00::', hosts: 'ip6-localnet' },
    { ip: 'ff00::', hosts: 'ip6-mcastprefix' },
    { ip: 'ff02::1', hosts: 'ip6-allnodes' },
    { ip: 'ff02::2', hosts: 'ip6-allrouters' },
];
/**
 * Render a hosts file: defaults, then extra hosts, then own lines (H1, H2).
 * Every record is validated first; IPv6 records are dropped without IPv6.
 */
export function renderHosts(opts) {
    const extra = validateHostsRecords(opts.extra);
    const own = validateHostsRecords(opts.own);
    const records = opts.ipv6
        ? [...DEFAULT_V4, ...DEFAULT_V6, ...extra, ...own]
        : [...DEFAULT_V4, ...extra, ...own].filter((rec) => !isIpv6(rec.ip));
    return records.map(formatHostsLine).join('');
}
//# sourceMappingURL=render.js.map