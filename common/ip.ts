/**
 * IP addresses, written one way everywhere (records, IPAM, hosts file,
 * resolv.conf, upstream servers, the API): parsed with ip-address, printed in
 * the RFC 5952 §4 text form (lowercase hex, leading zeros dropped, the
 * longest run of zero groups as `::`), with an IPv4-mapped IPv6 address
 * keeping its IPv4 part dotted (RFC 5952 §5: `::ffff:192.0.2.1`).
 * Reverse names follow RFC 1035 §3.5 (in-addr.arpa) and RFC 3596 §2.5
 * (ip6.arpa).
 */
import { Address4, Address6 } from 'ip-address';

/** 4 or 6. */
export type IpFamily = 4 | 6;

/** A parsed IP address. */
export interface IpAddress {
  readonly family: IpFamily;
  /** The canonical text (see the file comment), with `%zone` when one was given and allowed. */
  readonly text: string;
  /** For an IPv4-mapped IPv6 address (::ffff:0:0/96), the IPv4 address it carries. */
  readonly mappedV4: string | undefined;
  /** 127.0.0.0/8 or ::1. */
  readonly loopback: boolean;
  /** The numeric value (network byte order, as an unsigned integer). */
  readonly value: bigint;
  /** The address in network byte order: 4 or 16 bytes. */
  readonly bytes: readonly number[];
}

const V4_MAPPED = new Address6('::ffff:0:0/96');
const LOOPBACK_V4 = new Address4('127.0.0.0/8');
const ZONE = /^%[A-Za-z0-9_.:@-]+$/;

/**
 * Parse one address: no prefix length, and no zone unless `zone` is true
 * (a zone is kept only on IPv6, as resolv.conf's `fe80::1%eth0`). Returns
 * undefined when `text` is not an address.
 */
export function parseIp(text: string, options: { readonly zone?: boolean } = {}): IpAddress | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  if (Address4.isValid(text)) {
    const a = new Address4(text);
    return { family: 4, text: a.correctForm(), mappedV4: undefined, loopback: a.isInSubnet(LOOPBACK_V4), value: a.bigInt(), bytes: a.toArray() };
  }
  if (!Address6.isValid(text)) return undefined;
  const a = new Address6(text);
  if (a.zone !== '' && (options.zone !== true || !ZONE.test(a.zone))) return undefined;
  const mappedV4 = a.isInSubnet(V4_MAPPED) ? a.to4().correctForm() : undefined;
  const body = mappedV4 === undefined ? a.correctForm() : `::ffff:${mappedV4}`;
  return { family: 6, text: body + a.zone, mappedV4, loopback: mappedV4 === undefined && a.correctForm() === '::1', value: a.bigInt(), bytes: a.toByteArray() };
}

/** The canonical text of a plain address (no prefix, no zone), or undefined when `text` is not one. */
export function canonicalIp(text: string): string | undefined {
  return parseIp(text)?.text;
}

/** The family of a plain address, or undefined when `text` is not one. */
export function ipFamily(text: string): IpFamily | undefined {
  return parseIp(text)?.family;
}

/** The text of an address value of `family` (canonical form). */
export function formatIp(value: bigint, family: IpFamily): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : canonicalIp(Address6.fromBigInt(value).correctForm())!;
}

/** A parsed CIDR block. */
export interface Cidr {
  readonly family: IpFamily;
  /** Prefix length in bits. */
  readonly prefix: number;
  /** The network (first) address's value. */
  readonly first: bigint;
  /** The last address's value. */
  readonly last: bigint;
  /** Canonical text: network address / prefix (host bits cleared). */
  readonly text: string;
}

/** Parse `address/prefix` (host bits may be set; they are cleared in `text`), or undefined when it is not a CIDR. */
export function parseCidr(cidr: string): Cidr | undefined {
  if (typeof cidr !== 'string' || !cidr.includes('/') || cidr.includes('%')) return undefined;
  const a = Address4.isValid(cidr) ? new Address4(cidr) : Address6.isValid(cidr) ? new Address6(cidr) : undefined;
  if (a === undefined) return undefined;
  const family: IpFamily = a instanceof Address4 ? 4 : 6;
  const first = a.startAddress().bigInt();
  return { family, prefix: a.subnetMask, first, last: a.endAddress().bigInt(), text: `${formatIp(first, family)}/${a.subnetMask}` };
}

/** The reverse name of an address, with its trailing dot (`192.0.2.1` → `1.2.0.192.in-addr.arpa.`); undefined when `ip` is not one. */
export function reverseName(ip: string): string | undefined {
  if (ip.includes('/') || ip.includes('%')) return undefined;
  const form = Address4.isValid(ip) ? new Address4(ip).reverseForm() : Address6.isValid(ip) ? new Address6(ip).reverseForm() : undefined;
  if (form === undefined) return undefined;
  return form.endsWith('.') ? form : `${form}.`;
}

const V4_SUFFIX = '.in-addr.arpa';
const V6_SUFFIX = '.ip6.arpa';

/**
 * The canonical address a full, lowercase reverse name stands for
 * (`1.2.0.192.in-addr.arpa` → `192.0.2.1`; 32 nibbles under ip6.arpa → an
 * IPv6 address), or undefined for a partial, malformed or foreign name.
 */
export function addressOfReverseName(lname: string): string | undefined {
  try {
    if (lname.endsWith(V4_SUFFIX)) {
      const a = Address4.fromArpa(lname);
      return a.subnetMask === 32 ? a.correctForm() : undefined;
    }
    if (lname.endsWith(V6_SUFFIX)) {
      const a = Address6.fromArpa(lname);
      return a.subnetMask === 128 ? canonicalIp(a.correctForm()) : undefined;
    }
  } catch {
    // AddressError: not a full address under the zone.
  }
  return undefined;
}
