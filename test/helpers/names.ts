/**
 * Unique short names for test namespaces, networks and sandboxes (≤ 15 chars
 * where they become link names).
 */
import { randomBytes } from 'node:crypto';

/** A unique name with a prefix, e.g. `t3fa9c1-web`. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}
