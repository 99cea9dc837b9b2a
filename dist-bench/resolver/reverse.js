/**
 * Reverse names (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa) ⇄
 * addresses, through ip-address. Used for PTR (R5; Docker 1.C 17).
 */
import { Address4, Address6 } from 'ip-address';
const V4_SUFFIX = '.in-addr.arpa';
const V6_SUFFIX = '.ip6.arpa';
/** True when a lowercased name (no trailing dot) lies in one of the two reverse zones. */
export function isReverseName(lname) {
    return lname.endsWith(V4_SUFFIX) || lname.endsWith(V6_SUFFIX);
}
/**
 * The canonical address a full reverse name stands for (`4.3.2.1.in-addr.arpa`
 * → `1.2.3.4`; 32 nibbles under ip6.arpa → compressed IPv6), or undefined for a
 * partial, malformed or foreign name (those are misses, forwarded as Docker does).
 * Matching is case-insensitive (RFC 4343), where Docker's suffix test is not.
 */
export function reverseNameToAddress(lname) {
    try {
        if (lname.endsWith(V4_SUFFIX)) {
            const a = Address4.fromArpa(lname);
            return a.subnetMask === 32 ? a.correctForm() : undefined;
        }
        if (lname.endsWith(V6_SUFFIX)) {
            const a = Address6.fromArpa(lname);
            return a.subnetMask === 128 ? a.correctForm() : undefined;
        }
    }
    catch {
        // AddressError: not a full address under the zone.
    }
    return undefined;
}
/** The reverse name of an address, with trailing dot (`1.2.3.4` → `4.3.2.1.in-addr.arpa.`); undefined if invalid. */
export function addressToReverseName(ip) {
    if (ip.includes('/') || ip.includes('%'))
        return undefined;
    if (Address4.isValid(ip))
        return new Address4(ip).reverseForm();
    if (Address6.isValid(ip))
        return new Address6(ip).reverseForm();
    return undefined;
}
//# sourceMappingURL=reverse.js.map