/**
 * Nameserver addresses as Go's netip parses and prints them (Docker C1).
 */
import { Address4, Address6 } from 'ip-address';
const V4_MAPPED = new Address6('::ffff:0:0/96');
const LOOPBACK_V4 = new Address4('127.0.0.0/8');
const ZONE = /^%[A-Za-z0-9_.:@-]+$/;
/** Parse a nameserver address (zone allowed on IPv6, no prefix), or undefined. */
export function parseNameserver(text) {
    if (text.includes('/'))
        return undefined;
    if (Address4.isValid(text)) {
        const addr = new Address4(text);
        return { text: addr.correctForm(), ipv6: false, loopback: addr.isInSubnet(LOOPBACK_V4) };
    }
    if (!Address6.isValid(text))
        return undefined;
    const addr = new Address6(text);
    if (addr.zone !== '' && !ZONE.test(addr.zone))
        return undefined;
    const mapped = addr.isInSubnet(V4_MAPPED);
    const body = mapped ? `::ffff:${addr.to4().correctForm()}` : addr.correctForm();
    return { text: body + addr.zone, ipv6: true, loopback: !mapped && addr.correctForm() === '::1' };
}
//# sourceMappingURL=addr.js.map