/**
 * The two reverse zones (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5
 * ip6.arpa). Names and addresses convert through common/ip.ts.
 */
const V4_SUFFIX = '.in-addr.arpa';
const V6_SUFFIX = '.ip6.arpa';

/** True when a lowercased name (no trailing dot) lies in one of the two reverse zones. */
export function isReverseName(lname: string): boolean {
  return lname.endsWith(V4_SUFFIX) || lname.endsWith(V6_SUFFIX);
}
