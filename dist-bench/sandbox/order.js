/**
 * R4 endpoint order: higher join priority first, then endpoints on
 * non-internal networks, then by network name (Docker 1.E 31, minus the
 * swarm-only rules).
 */
/** Compare two endpoints for R4 order. */
export function compareEndpoints(a, b) {
    if (a.priority !== b.priority)
        return b.priority - a.priority;
    if (a.internal !== b.internal)
        return a.internal ? 1 : -1;
    return a.networkName < b.networkName ? -1 : a.networkName > b.networkName ? 1 : 0;
}
/** A new sorted array of `items` in R4 order (stable). */
export function sortEndpoints(items) {
    return [...items].sort(compareEndpoints);
}
//# sourceMappingURL=order.js.map