import { canonicalAddress } from './records.js';
/** The resolver's own address: never an upstream (R10, Docker 1.H 47). */
export const OWN_ADDRESS = '127.0.0.11';
/**
 * Filter and cap a view's upstreams: drop 127.0.0.11 (whatever its origin, R10)
 * and unparsable addresses, skip host-origin servers without external access,
 * then keep the first `max` (after the filters, so a sandbox's own `dns`
 * entry is not crowded out by host servers it may not use).
 */
export function selectUpstreams(view, max) {
    const servers = [];
    const dropped = [];
    let blocked = 0;
    for (const u of view.upstreams) {
        const address = normalizeAddress(u.address);
        if (address === undefined || address === OWN_ADDRESS || !Number.isInteger(u.port) || u.port < 1 || u.port > 65535) {
            dropped.push(u);
            continue;
        }
        if (u.origin === 'host' && !view.externalAccess) {
            blocked++;
            continue;
        }
        if (servers.length >= max)
            continue;
        const family = address.includes(':') ? 6 : 4;
        const label = family === 6 ? `[${address}]:${u.port}` : `${address}:${u.port}`;
        const id = u.origin === 'host' ? `host/${label}` : `sandbox/${view.id}/${label}`;
        servers.push({ address, port: u.port, origin: u.origin, family, label, id });
    }
    return { servers, key: servers.map((s) => s.id).join(','), dropped, blocked };
}
/** Canonical form of an upstream address; an IPv4-mapped IPv6 address becomes IPv4. */
export function normalizeAddress(address) {
    const c = canonicalAddress(address);
    if (c === undefined)
        return undefined;
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(c);
    if (mapped === null)
        return c;
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}
/**
 * Memoises selectUpstreams on the identity of the view's upstream array and
 * its externalAccess flag: the sandbox replaces the array on a change (R15,
 * G11), so a query costs two comparisons, not a re-parse.
 */
export class UpstreamSelector {
    #max;
    #onChange;
    #list;
    #external = false;
    #current;
    /** `onChange` sees each new selection once (e.g. to log dropped entries). */
    constructor(max, onChange = () => undefined) {
        this.#max = max;
        this.#onChange = onChange;
    }
    /** The selection for the view as it is now. */
    select(view) {
        if (this.#current !== undefined && view.upstreams === this.#list && view.externalAccess === this.#external) {
            return this.#current;
        }
        const s = selectUpstreams(view, this.#max);
        const changed = this.#current === undefined || s.key !== this.#current.key || s.dropped.length !== this.#current.dropped.length;
        this.#list = view.upstreams;
        this.#external = view.externalAccess;
        this.#current = s;
        if (changed)
            this.#onChange(s);
        return s;
    }
}
/**
 * R12 memory of failures: a server that timed out, could not be reached or
 * refused recently is tried after the others until `cooldownMs` has passed
 * since its last failure, instead of first on every query (Docker keeps no
 * such memory and waits out a dead first server on every query, 1.H 48).
 */
export class UpstreamHealth {
    #clock;
    #cooldownMs;
    #failedAt = new Map();
    constructor(clock, cooldownMs) {
        this.#clock = clock;
        this.#cooldownMs = cooldownMs;
    }
    /** Record a failure of `server` now. */
    failed(server) {
        this.#failedAt.set(server.id, this.#clock.now());
    }
    /** Record a good reply: the server is no longer held back. */
    succeeded(server) {
        if (this.#failedAt.size !== 0)
            this.#failedAt.delete(server.id);
    }
    /** True while `server` is in its cool-down. */
    coolingDown(server) {
        const at = this.#failedAt.get(server.id);
        if (at === undefined)
            return false;
        if (this.#clock.now() - at < this.#cooldownMs)
            return true;
        this.#failedAt.delete(server.id);
        return false;
    }
    /** `servers` in trial order: servers in cool-down last, each group in configured order. */
    order(servers) {
        if (this.#failedAt.size === 0 || servers.length < 2)
            return servers;
        const good = [];
        const held = [];
        for (const s of servers)
            (this.coolingDown(s) ? held : good).push(s);
        return held.length === 0 ? servers : good.concat(held);
    }
}
//# sourceMappingURL=upstreams.js.map