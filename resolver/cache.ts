/**
 * R13, FS4 reply cache (lru-cache), partitioned so that no tenant can fill or evict
 * it for another (RFC 5452 §9.3 is about exactly this exposure of a shared
 * cache). Every entry lives in a partition named by its caller, the
 * sandbox's network set (cache-stage.ts): sandboxes on the same networks with
 * the same upstream servers share entries; a sandbox never sees, and never
 * evicts, another network's. The bounds (entries, bytes) are global; past
 * them the least recently used entry of the *largest* partition goes
 * (max-min fairness), so a tenant flooding the cache with names only evicts
 * its own entries once it holds the most, and a partition within its fair
 * share (bound / partitions) is never evicted by another.
 *
 * Keys (cacheKey): DO/CD/RD bits, qtype, qclass, the upstream
 * set's key (upstreams.ts) and the lowercased name. Entries keep the
 * normalized reply (relay.ts: no OPT) with every TTL capped at the entry's
 * lifetime and AA cleared; a hit is one copy plus question-case and TTL
 * patches (the pipeline writes the ID and our OPT and applies the size limit).
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../common/clock.js';
import type { NormalizedCacheOptions } from './options.js';
import type { Query } from './query.js';
import { analyzeReply, type CacheEntry } from './reply-shape.js';

// Per-entry bookkeeping beyond the reply and key bytes, for the byte bound: the entry object, its Buffer, the offset
// arrays and lru-cache's own slots; 100,000 small entries measured ~430 bytes each on Node 20 (heap + array buffers).
const ENTRY_OVERHEAD = 432;
// Shared by the entries without owners to echo (most: owners are usually compressed pointers to the question).
const NO_OFFSETS: readonly number[] = Object.freeze([]);

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
  const bits = (q.rd ? 1 : 0) | (q.cd ? 2 : 0) | (q.edns?.dnssecOk === true ? 8 : 0);
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

/** One partition: its LRU and what it holds. */
interface Partition {
  readonly lru: LRUCache<string, CacheEntry>;
}

/**
 * The reply cache shared by the sandboxes of one controller (see the file
 * comment); `partition` names the tenant an operation is for.
 */
export class SharedCache {
  readonly #parts = new Map<string, Partition>();
  readonly #opts: NormalizedCacheOptions;
  readonly #clock: Clock;
  #entries = 0;
  #bytes = 0;

  constructor(opts: NormalizedCacheOptions) {
    this.#opts = opts;
    this.#clock = opts.clock;
  }

  /** Entries and their accounted bytes now, over all partitions. */
  get stats(): { readonly entries: number; readonly bytes: number; readonly partitions: number } {
    return { entries: this.#entries, bytes: this.#bytes, partitions: this.#parts.size };
  }

  /** Entries and bytes of one partition. */
  partitionStats(partition: string): { readonly entries: number; readonly bytes: number } {
    const p = this.#parts.get(partition);
    return { entries: p?.lru.size ?? 0, bytes: p?.lru.calculatedSize ?? 0 };
  }

  /** The live entry under `key` in `partition`, or undefined (an expired one is removed). */
  lookup(partition: string, key: string): CacheEntry | undefined {
    const p = this.#parts.get(partition);
    if (p === undefined) return undefined;
    const e = p.lru.get(key);
    if (e === undefined) return undefined;
    if (this.#clock.now() < e.expiresAt) return e;
    this.#change(partition, p, () => p.lru.delete(key));
    return undefined;
  }

  /** Store a copy of normalized `reply` under `key` in `partition` when it may be cached; returns whether it was. */
  store(partition: string, key: string, reply: Buffer): boolean {
    const shape = analyzeReply(reply, this.#opts.maxTtl, this.#opts.maxNegativeTtl);
    if (shape === undefined) return false;
    const bytes = Buffer.from(reply);
    bytes[2] = bytes[2]! & ~0x04;
    for (const off of shape.ttlOffsets) if (bytes.readUInt32BE(off) > shape.ttl) bytes.writeUInt32BE(shape.ttl, off);
    const now = this.#clock.now();
    const entry: CacheEntry = {
      bytes,
      ttlOffsets: shape.ttlOffsets.slice(),
      ownerOffsets: shape.ownerOffsets.length === 0 ? NO_OFFSETS : shape.ownerOffsets.slice(),
      questionEnd: shape.questionEnd,
      storedAt: now,
      expiresAt: now + shape.ttl * 1000,
      negative: shape.negative,
    };
    let p = this.#parts.get(partition);
    if (p === undefined) {
      p = { lru: new LRUCache<string, CacheEntry>({ maxSize: this.#opts.maxBytes, sizeCalculation: entrySize }) };
      this.#parts.set(partition, p);
    }
    const part = p;
    this.#change(partition, part, () => part.lru.set(key, entry));
    this.#evict();
    return part.lru.has(key);
  }

  /** The reply bytes of a hit for `q`: its question's case (R3 echo) and TTLs lowered by the time spent in the cache. */
  serve(e: CacheEntry, q: Query): Buffer {
    // Hot path: set() and byte loops; Buffer#copy and the checked u32 accessors cost more at these sizes.
    const out = Buffer.allocUnsafe(e.bytes.length);
    out.set(e.bytes);
    if (e.questionEnd === q.questionEnd) {
      const raw = q.raw;
      for (let i = 12; i < e.questionEnd; i++) out[i] = raw[i]!;
      // Owners spelled out in full that are the question's name: this client's case too (FS6), not the first asker's.
      const owners = e.ownerOffsets;
      for (let k = 0; k < owners.length; k++) raw.copy(out, owners[k], 12, e.questionEnd - 4);
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

  /** Drop every entry of every partition. */
  clear(): void {
    this.#parts.clear();
    this.#entries = 0;
    this.#bytes = 0;
  }

  // Apply `op` to one partition and keep the global totals in step (lru-cache may evict inside `op`).
  #change(name: string, p: Partition, op: () => unknown): void {
    const n0 = p.lru.size;
    const b0 = p.lru.calculatedSize;
    op();
    this.#entries += p.lru.size - n0;
    this.#bytes += p.lru.calculatedSize - b0;
    if (p.lru.size === 0) this.#parts.delete(name);
  }

  // Max-min fairness: while over a global bound, the largest partition (by the bound exceeded) loses its LRU entry.
  #evict(): void {
    const { maxEntries, maxBytes } = this.#opts;
    while (this.#entries > maxEntries || this.#bytes > maxBytes) {
      const byBytes = this.#bytes > maxBytes;
      let victim: [string, Partition] | undefined;
      let most = -1;
      for (const entry of this.#parts) {
        const size = byBytes ? entry[1].lru.calculatedSize : entry[1].lru.size;
        if (size > most) {
          most = size;
          victim = entry;
        }
      }
      if (victim === undefined) return;
      const [name, p] = victim;
      this.#change(name, p, () => p.lru.pop());
    }
  }
}

function entrySize(e: CacheEntry, key: string): number {
  return e.bytes.length + (e.ttlOffsets.length + e.ownerOffsets.length) * 8 + key.length * 2 + ENTRY_OVERHEAD;
}

export type { CacheEntry, ReplyShape } from './reply-shape.js';
export { analyzeReply } from './reply-shape.js';
