/**
 * Default subnet choice: the first /24 of the default pool that overlaps
 * neither another network nor a host route.
 */
import { formatIp } from '../common/ip.js';
import { parseSubnet, subnetsOverlap } from '../drivers/index.js';

/** The first free /24 in `pool` avoiding every CIDR in `taken`, or undefined. */
export function pickFreeSubnet(pool: string, taken: readonly string[]): string | undefined {
  const p = parseSubnet(pool);
  for (let base = p.first; base + 255n <= p.last; base += 256n) {
    const candidate = `${formatIp(base, 4)}/24`;
    if (!taken.some((t) => safeOverlap(candidate, t))) return candidate;
  }
  return undefined;
}

function safeOverlap(a: string, b: string): boolean {
  try {
    return subnetsOverlap(a, b);
  } catch {
    return false;
  }
}
