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
import type { Clock } from '../common/clock.js';
import { RCODE } from './constants.js';
import type { ResolverMetrics } from './metrics.js';
import type { NormalizedCacheOptions } from './options.js';
import { errorReply, type Handler, type Next, type Reply } from './pipeline.js';
import type { Query } from './query.js';
import type { UpstreamSelector } from './upstreams.js';
import type { ResolverView } from './view.js';
import { skipName } from './wire-read.js';

const TYPE_SOA = 6;
const TYPE_OPT = 41;
// RFC 2181 §8: a TTL with the top bit set is treated as zero.
const MAX_TTL_VALUE = 0x7fffffff;
// Per-entry bookkeeping beyond the reply bytes, for the byte bound.
const ENTRY_OVERHEAD = 96;

/** How a reply may be cached: its lifetime (s) and where its TTL fields are. */
export interface ReplyShape {
  /** Entry lifetime in seconds (> 0). */
  readonly ttl: number;
  /** Offsets of every TTL field except OPT's (RFC 6891 §6.1.3: that field is not a TTL). */
  readonly ttlOffsets: readonly number[];
  readonly negative: boolean;
  /** Offset just past the question. */
  readonly questionEnd: number;
}

/** A cached reply. */
export interface CacheEntry {
  /** The reply, TTLs capped at `ttl`, AA cleared (a cached answer is not authoritative). */
  readonly bytes: Buffer;
  readonly ttlOffsets: Uint16Array;
  readonly questionEnd: number;
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly negative: boolean;
}

/**
 * Decide whether and for how long `b` may be cached (R13, RFC 2308 §5);
 * undefined when it must not be. Bounds-checked: never throws.
 */
export function analyzeReply(b: Buffer, maxTtl: number, maxNegativeTtl: number): ReplyShape | undefined {
  // QR=1, opcode QUERY, TC=0 (RFC 2181 §9: a truncated reply is never cached); NOERROR or NXDOMAIN; one question.
  if (b.length < 12 || (b[2]! & 0xfa) !== 0x80) return undefined;
  const rcode = b[3]! & 0x0f;
  if ((rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) || b.readUInt16BE(4) !== 1) return undefined;
  const an = b.readUInt16BE(6);
  const total = an + b.readUInt16BE(8) + b.readUInt16BE(10);
  const qn = skipName(b, 12);
  if (qn < 0 || qn + 4 > b.length) return undefined;
  const questionEnd = qn + 4;
  const ttlOffsets: number[] = [];
  let answerMin = Number.POSITIVE_INFINITY;
  let soa = -1;
  let off = questionEnd;
  for (let i = 0; i < total; i++) {
    const n = skipName(b, off);
    if (n < 0 || n + 10 > b.length) return undefined;
    const type = b.readUInt16BE(n);
    const end = n + 10 + b.readUInt16BE(n + 8);
    if (end > b.length) return undefined;
    if (type !== TYPE_OPT) {
      const ttl = ttlAt(b, n + 4);
      ttlOffsets.push(n + 4);
      if (i < an) answerMin = Math.min(answerMin, ttl);
      // The SOA of a negative reply (authority section): its TTL and MINIMUM (the RDATA's last field).
      else if (type === TYPE_SOA && soa < 0 && i < total - b.readUInt16BE(10) && end - n - 10 >= 22) {
        soa = Math.min(ttl, ttlAt(b, end - 4));
      }
    }
    off = end;
  }
  const positive = rcode === RCODE.NOERROR && an > 0;
  if (!positive && soa < 0) return undefined;
  const ttl = positive ? Math.min(answerMin, maxTtl) : Math.min(soa, answerMin, maxNegativeTtl);
  return ttl > 0 ? { ttl, ttlOffsets, negative: !positive, questionEnd } : undefined;
}

function ttlAt(b: Buffer, off: number): number {
  const v = b.readUInt32BE(off);
  return v > MAX_TTL_VALUE ? 0 : v;
}

// Key suffixes, interned per upstream set for class IN and qtype < 256: a key is then the name plus
// a few characters. Hashing a fresh ~50-character key was ~13% of a cache hit's JS (bench/.notes).
const MAX_INTERNED_SETS = 1024;
const suffixes = new Map<string, Map<number, string>>();
let nextSuffix = 0;

/**
 * The cache key of `q` within the upstream set `setKey` (see the file comment):
 * the lowercased name, then a suffix that stands for the rest. Names never hold
 * control characters (wire-read.ts escapes them), so `\0` and `\1` separate.
 */
export function cacheKey(setKey: string, q: Query): string {
  const bits = (q.rd ? 1 : 0) | (q.cd ? 2 : 0) | (q.edns === undefined ? 0 : 4) | (q.edns?.dnssecOk === true ? 8 : 0);
  if (q.qclass !== 1 || q.qtype > 255) return `${q.lname}\u0001${q.qtype}/${q.qclass}/${bits}|${setKey}`;
  let bySet = suffixes.get(setKey);
  if (bySet === undefined) {
    if (suffixes.size >= MAX_INTERNED_SETS) suffixes.clear(); // stale sets only cost misses; suffixes are never reused
    bySet = new Map();
    suffixes.set(setKey, bySet);
  }
  const variant = (q.qtype << 4) | bits;
  let suffix = bySet.get(variant);
  if (suffix === undefined) {
    suffix = `\u0000${(nextSuffix++).toString(36)}`;
    bySet.set(variant, suffix);
  }
  return q.lname + suffix;
}

/**
 * A reply cache that several sandboxes' resolvers may share (entries are
 * keyed by upstream set, so only sandboxes with the same servers share them).
 */
export class SharedCache {
  readonly #lru: LRUCache<string, CacheEntry>;
  readonly #opts: NormalizedCacheOptions;
  readonly #clock: Clock;

  constructor(opts: NormalizedCacheOptions) {
    this.#opts = opts;
    this.#clock = opts.clock;
    this.#lru = new LRUCache<string, CacheEntry>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e, key) => e.bytes.length + e.ttlOffsets.byteLength + key.length * 2 + ENTRY_OVERHEAD,
    });
  }

  /** Entries and their accounted bytes now. */
  get stats(): { readonly entries: number; readonly bytes: number } {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize };
  }

  /** The live entry under `key`, or undefined (an expired one is removed). */
  lookup(key: string): CacheEntry | undefined {
    const e = this.#lru.get(key);
    if (e === undefined) return undefined;
    if (this.#clock.now() < e.expiresAt) return e;
    this.#lru.delete(key);
    return undefined;
  }

  /** Store a copy of `reply` under `key` when it may be cached; returns whether it was. */
  store(key: string, reply: Buffer): boolean {
    const shape = analyzeReply(reply, this.#opts.maxTtl, this.#opts.maxNegativeTtl);
    if (shape === undefined) return false;
    const bytes = Buffer.from(reply);
    bytes[2] = bytes[2]! & ~0x04;
    for (const off of shape.ttlOffsets) if (bytes.readUInt32BE(off) > shape.ttl) bytes.writeUInt32BE(shape.ttl, off);
    const now = this.#clock.now();
    const entry: CacheEntry = {
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
  serve(e: CacheEntry, q: Query): Buffer {
    // Hot path: set() and byte loops; Buffer#copy and the checked u32 accessors cost more at these sizes.
    const out = Buffer.allocUnsafe(e.bytes.length);
    out.set(e.bytes);
    if (e.questionEnd === q.questionEnd) {
      const raw = q.raw;
      for (let i = 12; i < e.questionEnd; i++) out[i] = raw[i]!;
    }
    const elapsed = Math.floor((this.#clock.now() - e.storedAt) / 1000);
    if (elapsed > 0) {
      const offs = e.ttlOffsets;
      for (let i = 0; i < offs.length; i++) {
        const o = offs[i]!;
        const t = ((out[o]! << 24) | (out[o + 1]! << 16) | (out[o + 2]! << 8) | out[o + 3]!) >>> 0;
        const v = t > elapsed ? t - elapsed : 0;
        out[o] = v >>> 24;
        out[o + 1] = (v >>> 16) & 0xff;
        out[o + 2] = (v >>> 8) & 0xff;
        out[o + 3] = v & 0xff;
      }
    }
    return out;
  }

  /** Drop every entry. */
  clear(): void {
    this.#lru.clear();
  }
}

/** What cacheStage needs. */
export interface CacheStageOptions {
  readonly view: ResolverView;
  readonly selector: UpstreamSelector;
  /** The cache, or undefined when caching is off (coalescing may still be on). */
  readonly cache: SharedCache | undefined;
  /** Coalesce identical queries in flight (R13). */
  readonly coalesce: boolean;
  readonly metrics: ResolverMetrics;
}

/**
 * The R13 stage, before the in-flight limit and the forwarder: a fresh hit
 * that fits the client's size is answered at once; a hit too large for a UDP
 * client is forwarded instead (the upstream then truncates or not for this
 * client, as without a cache); a miss joins an identical query already in
 * flight (same key and transport) or goes on, and its reply is stored.
 */
export function cacheStage(o: CacheStageOptions): Handler {
  const { cache, metrics } = o;
  const inflight = new Map<string, Promise<Reply>>();
  const keep = (key: string, r: Reply): Reply => {
    if (cache !== undefined && r.kind === 'relay' && r.outcome === 'forwarded') cache.store(key, r.bytes);
    return r;
  };
  return (q, next) => {
    const { servers, key: setKey } = o.selector.select(o.view);
    if (servers.length === 0) return next(q);
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
    if (!(r instanceof Promise)) return keep(key, r);
    const p = r.then((x) => keep(key, x));
    if (o.coalesce) {
      inflight.set(flightKey, p);
      const clear = (): void => void (inflight.get(flightKey) === p && inflight.delete(flightKey));
      p.then(clear, clear);
    }
    return p;
  };
}

// A coalesced query takes the leader's reply as its own: a copy with its question's case; too large → forwarded itself.
function follow(r: Reply, q: Query, next: Next): Reply | Promise<Reply> {
  if (r.kind === 'drop') return r;
  if (r.kind === 'built') return errorReply(q, r.rcode);
  if (r.bytes.length > q.maxSize) return next(q);
  const bytes = Buffer.from(r.bytes);
  if (bytes.length >= q.questionEnd && bytes.readUInt16BE(4) === 1) q.raw.copy(bytes, 12, 12, q.questionEnd);
  return { kind: 'relay', bytes, outcome: r.outcome, owned: true };
}
