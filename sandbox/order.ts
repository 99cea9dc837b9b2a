/**
 * R4 endpoint order: higher join priority first, then endpoints on
 * non-internal networks, then by network name (minus the
 * swarm-only rules).
 */

/** The fields the order depends on. */
export interface Orderable {
  readonly priority: number;
  readonly internal: boolean;
  readonly networkName: string;
}

/** Compare two endpoints for R4 order. */
export function compareEndpoints(a: Orderable, b: Orderable): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.internal !== b.internal) return a.internal ? 1 : -1;
  return a.networkName < b.networkName ? -1 : a.networkName > b.networkName ? 1 : 0;
}

/** A new sorted array of `items` in R4 order (stable). */
export function sortEndpoints<T extends Orderable>(items: readonly T[]): T[] {
  return [...items].sort(compareEndpoints);
}
