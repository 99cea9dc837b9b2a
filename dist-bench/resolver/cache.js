/**
 * R13 cache of forwarded replies (lru-cache, bounded by entries and bytes),
 * and the cache stage that also coalesces identical queries in flight.
 *
 * Keys: DO/CD/RD bits, EDNS presence, qtype, qclass, the upstream set's key
 * (upstreams.ts: sandboxes with the same servers share entries, others never
 * do) and the lowercased name. Entries keep the whole reply with every TTL
 * capped at the entry's lifetime; a hit is one copy plus question-case, and
 * TTL patches (the pipeline writes the ID). Positive lifetime: the smallest
 * answer TTL, capped by maxTtl. Negative (NXDOMAIN, NODATA): min(SOA TTL,
 * SOA MINIMUM) per RFC 2308 §5, capped by maxNegativeTtl; without an SOA
 * a negative reply is not cached (RFC 2308 §5 "SHOULD NOT"). Never cached:
 * other rcodes (SERVFAIL, REFUSED ...), TC replies, TTL 0, unparsable replies.
 */
import { LRUCache } from 'lru-cache';
import { RCODE } from './constants.js';
import { errorReply } from './pipeline.js';
import { skipName } from './wire-read.js';
const TYPE_SOA = 6;
const TYPE_OPT = 41;
// RFC 2181 §8: a TTL with the top bit set is treated as zero.
const MAX_TTL_VALUE = 0x7fffffff;
// Per-entry bookkeeping beyond the reply bytes, for the byte bound.
const ENTRY_OVERHEAD = 96;
/**
 * Decide whether and for how long `b` may be cached (R13, RFC 2308 §5);
 * undefined when it must not be. Bounds-checked: never throws.
 */
export function analyzeReply(b, maxTtl, maxNegativeTtl) {
    // QR=1, opcode QUERY, TC=0 (RFC 2181 §9: a truncated reply is never cached); NOERROR or NXDOMAIN; one question.
    if (b.length < 12 || (b[2] & 0xfa) !== 0x80)
        return undefined;
    const rcode = b[3] & 0x0f;
    if ((rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) || b.readUInt16BE(4) !== 1)
        return undefined;
    const an = b.readUInt16BE(6);
    const total = an + b.readUInt16BE(8) + b.readUInt16BE(10);
    const qn = skipName(b, 12);
    if (qn < 0 || qn + 4 > b.length)
        return undefined;
    const questionEnd = qn + 4;
    const ttlOffsets = [];
    let answerMin = Number.POSITIVE_INFINITY;
    let soa = -1;
    let off = questionEnd;
    for (let i = 0; i < total; i++) {
        const n = skipName(b, off);
        if (n < 0 || n + 10 > b.length)
            return undefined;
        const type = b.readUInt16BE(n);
        const end = n + 10 + b.readUInt16BE(n + 8);
        if (end > b.length)
            return undefined;
        if (type !== TYPE_OPT) {
            const ttl = ttlAt(b, n + 4);
            ttlOffsets.push(n + 4);
            if (i < an)
                answerMin = Math.min(answerMin, ttl);
            // The SOA of a negative reply (authority section): its TTL and MINIMUM (the RDATA's last field).
            else if (type === TYPE_SOA && soa < 0 && i < total - b.readUInt16BE(10) && end - n - 10 >= 22) {
                soa = Math.min(ttl, ttlAt(b, end - 4));
            }
        }
        off = end;
    }
    const positive = rcode === RCODE.NOERROR && an > 0;
    if (!positive && soa < 0)
        return undefined;
    const ttl = positive ? Math.min(answerMin, maxTtl) : Math.min(soa, answerMin, maxNegativeTtl);
    return ttl > 0 ? { ttl, ttlOffsets, negative: !positive, questionEnd } : undefined;
}
function ttlAt(b, off) {
    const v = b.readUInt32BE(off);
    return v > MAX_TTL_VALUE ? 0 : v;
}
/** The cache key of `q` within the upstream set `setKey` (see the file comment). */
export function cacheKey(setKey, q) {
    const bits = (q.rd ? 1 : 0) | (q.cd ? 2 : 0) | (q.edns === undefined ? 0 : 4) | (q.edns?.dnssecOk === true ? 8 : 0);
    return `${q.qtype}/${q.qclass}/${bits}|${setKey}|${q.lname}`;
}
/**
 * A reply cache that several sandboxes' resolvers may share (entries are
 * keyed by upstream set, so only sandboxes with the same servers share them).
 */
export class SharedCache {
    #lru;
    #opts;
    #clock;
    constructor(opts) {
        this.#opts = opts;
        this.#clock = opts.clock;
        this.#lru = new LRUCache({
            max: opts.maxEntries,
            maxSize: opts.maxBytes,
            sizeCalculation: (e, key) => e.bytes.length + e.ttlOffsets.byteLength + key.length * 2 + ENTRY_OVERHEAD,
        });
    }
    /** Entries and their accounted bytes now. */
    get stats() {
        return { entries: this.#lru.size, bytes: this.#lru.calculatedSize };
    }
    /** The live entry under `key`, or undefined (an expired one is removed). */
    lookup(key) {
        const e = this.#lru.get(key);
        if (e === undefined)
            return undefined;
        if (this.#clock.now() < e.expiresAt)
            return e;
        this.#lru.delete(key);
        return undefined;
    }
    /** Store a copy of `reply` under `key` when it may be cached; returns whether it was. */
    store(key, reply) {
        const shape = analyzeReply(reply, this.#opts.maxTtl, this.#opts.maxNegativeTtl);
        if (shape === undefined)
            return false;
        const bytes = Buffer.from(reply);
        bytes[2] = bytes[2] & ~0x04;
        for (const off of shape.ttlOffsets)
            if (bytes.readUInt32BE(off) > shape.ttl)
                bytes.writeUInt32BE(shape.ttl, off);
        const now = this.#clock.now();
        const entry = {
            bytes,
            ttlOffsets: Uint16Array.from(shape.ttlOffsets),
            questionEnd: shape.questionEnd,
            storedAt: now,
            expiresAt: now + shape.ttl * 1000,
            negative: shape.negative,
        };
        this.#lru.set(key, entry);
        return this.#lru.has(key);
    }
    /** The reply bytes of a hit for `q`: its question's case (R3 echo) and TTLs lowered by the time spent in the cache. */
    serve(e, q) {
        const out = Buffer.allocUnsafe(e.bytes.length);
        e.bytes.copy(out);
        if (e.questionEnd === q.questionEnd)
            q.raw.copy(out, 12, 12, q.questionEnd);
        const elapsed = Math.floor((this.#clock.now() - e.storedAt) / 1000);
        if (elapsed > 0) {
            for (const off of e.ttlOffsets) {
                const t = out.readUInt32BE(off);
                out.writeUInt32BE(t > elapsed ? t - elapsed : 0, off);
            }
        }
        return out;
    }
    /** Drop every entry. */
    clear() {
        this.#lru.clear();
    }
}
/**
 * The R13 stage, before the in-flight limit and the forwarder: a fresh hit
 * that fits the client's size is answered at once; a hit too large for a UDP
 * client is forwarded instead (the upstream then truncates or not for this
 * client, as without a cache); a miss joins an identical query already in
 * flight (same key and transport) or goes on, and its reply is stored.
 */
export function cacheStage(o) {
    const { cache, metrics } = o;
    const inflight = new Map();
    const keep = (key, r) => {
        if (cache !== undefined && r.kind === 'relay' && r.outcome === 'forwarded')
            cache.store(key, r.bytes);
        return r;
    };
    return (q, next) => {
        const { servers, key: setKey } = o.selector.select(o.view);
        if (servers.length === 0)
            return next(q);
        const key = cacheKey(setKey, q);
        if (cache !== undefined) {
            const hit = cache.lookup(key);
            if (hit !== undefined && hit.bytes.length <= q.maxSize) {
                metrics.countForwarding('cache_hit');
                return { kind: 'relay', bytes: cache.serve(hit, q), outcome: 'cached', owned: true };
            }
            metrics.countForwarding(hit === undefined ? 'cache_miss' : 'cache_oversize');
        }
        const flightKey = q.transport === 'udp' ? key : `tcp|${key}`;
        const leader = o.coalesce ? inflight.get(flightKey) : undefined;
        if (leader !== undefined) {
            metrics.countForwarding('coalesced');
            return leader.then((r) => follow(r, q, next));
        }
        const r = next(q);
        if (!(r instanceof Promise))
            return keep(key, r);
        const p = r.then((x) => keep(key, x));
        if (o.coalesce) {
            inflight.set(flightKey, p);
            const clear = () => void (inflight.get(flightKey) === p && inflight.delete(flightKey));
            p.then(clear, clear);
        }
        return p;
    };
}
// A coalesced query takes the leader's reply as its own: a copy with its question's case; too large → forwarded itself.
function follow(r, q, next) {
    if (r.kind === 'drop')
        return r;
    if (r.kind === 'built')
        return errorReply(q, r.rcode);
    if (r.bytes.length > q.maxSize)
        return next(q);
    const bytes = Buffer.from(r.bytes);
    if (bytes.length >= q.questionEnd && bytes.readUInt16BE(4) === 1)
        q.raw.copy(bytes, 12, 12, q.questionEnd);
    return { kind: 'relay', bytes, outcome: r.outcome, owned: true };
}
//# sourceMappingURL=cache.js.map