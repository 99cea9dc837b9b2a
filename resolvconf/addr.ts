/**
 * Nameserver addresses as Go's netip parses and prints them (as Docker).
 */
import { parseIp } from '../common/ip.js';

/** A parsed nameserver address. */
export interface NameserverAddress {
  /** Canonical text: `fdba:acdd:587c::53`, `::ffff:1.2.3.4`, `fe80::1%eth0`. */
  readonly text: string;
  /** IPv6, v4-mapped included (netip Is6). */
  readonly ipv6: boolean;
  /** 127.0.0.0/8 or::1 (netip IsLoopback). */
  readonly loopback: boolean;
}

/** Parse a nameserver address (zone allowed on IPv6, no prefix), or undefined. */
export function parseNameserver(text: string): NameserverAddress | undefined {
  const a = parseIp(text, { zone: true });
  return a === undefined ? undefined : { text: a.text, ipv6: a.family === 6, loopback: a.loopback };
}
