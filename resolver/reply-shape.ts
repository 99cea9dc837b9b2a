/**
 * R13 reply analysis: whether a forwarded reply may be cached, for how long
 * and where its TTL fields are. Positive lifetime: the smallest answer TTL,
 * capped by maxTtl. Negative (NXDOMAIN, NODATA): min(SOA TTL, SOA MINIMUM)
 * per RFC 2308 §5, capped by maxNegativeTtl; without an SOA a negative reply
 * is not cached (RFC 2308 §5 "SHOULD NOT"). Never cached: other rcodes
 * (SERVFAIL, REFUSED ...), TC replies, TTL 0, unparsable replies. Pure.
 */
import { RCODE } from './constants.js';
import { sameNameAt, skipName } from './wire-read.js';

const TYPE_SOA = 6;
const TYPE_OPT = 41;
// RFC 2181 §8: a TTL with the top bit set is treated as zero.
const MAX_TTL_VALUE = 0x7fffffff;
/** How a reply may be cached: its lifetime (s) and where its TTL fields are. */
export interface ReplyShape {
  /** Entry lifetime in seconds (> 0). */
  readonly ttl: number;
  /** Offsets of every TTL field except OPT's (RFC 6891 §6.1.3: that field is not a TTL). */
  readonly ttlOffsets: readonly number[];
  readonly negative: boolean;
  /** Offset just past the question. */
  readonly questionEnd: number;
  /** Offsets of the record owners spelled out in full that are the question's name: a hit writes its client's case there. */
  readonly ownerOffsets: readonly number[];
}

/** A cached reply (cache.ts). */
export interface CacheEntry {
  /** The reply, TTLs capped at `ttl`, AA cleared (a cached answer is not authoritative). */
  readonly bytes: Buffer;
  readonly ttlOffsets: readonly number[];
  /** ReplyShape.ownerOffsets. */
  readonly ownerOffsets: readonly number[];
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
  const ownerOffsets: number[] = [];
  let answerMin = Number.POSITIVE_INFINITY;
  let soa = -1;
  let off = questionEnd;
  for (let i = 0; i < total; i++) {
    if (off < b.length && (b[off]! & 0xc0) === 0 && sameNameAt(b, off, b, qn)) ownerOffsets.push(off);
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
  return ttl > 0 ? { ttl, ttlOffsets, negative: !positive, questionEnd, ownerOffsets } : undefined;
}

function ttlAt(b: Buffer, off: number): number {
  const v = b.readUInt32BE(off);
  return v > MAX_TTL_VALUE ? 0 : v;
}

