/**
 * Nameserver addresses as Go's netip parses and prints them (Docker C1).
 */
import { Address4, Address6 } from 'ip-address';

/** A parsed nameserver address. */
export interface NameserverAddress {
  /** Canonical text: `fdba:acdd:587c::53`, `::ffff:1.2.3.4`, `fe80::1%eth0`. */
  readonly text: string;
  /** IPv6, v4-mapped included (netip Is6). */
  readonly ipv6: boolean;
  /** 127.0.0.0/8 or ::1 (netip IsLoopback). */
  readonly loopback: boolean;
}

const V4_MAPPED = new Address6('::ffff:0:0/96');
const LOOPBACK_V4 = new Address4('127.0.0.0/8');
const ZONE = /^%[A-Za-z0-9_.:@-]+$/;

/** Parse a nameserver address (zone allowed on IPv6, no prefix), or undefined. */
export function parseNameserver(text: string): NameserverAddress | undefined {
  if (text.includes('/')) return undefined;
  if (Address4.isValid(text)) {
    const addr = new Address4(text);
    return { text: addr.correctForm(), ipv6: false, loopback: addr.isInSubnet(LOOPBACK_V4) };
  }
  if (!Address6.isValid(text)) return undefined;
  const addr = new Address6(text);
  if (addr.zone !== '' && !ZONE.test(addr.zone)) return undefined;
  const mapped = addr.isInSubnet(V4_MAPPED);
  const body = mapped ? `::ffff:${addr.to4().correctForm()}` : addr.correctForm();
  return { text: body + addr.zone, ipv6: true, loopback: !mapped && addr.correctForm() === '::1' };
}
