/**
 * Upstream replies on their way to a client (R8, R10, FS6; RFC 6891 §6.1.1 and
 * RFC 7873 §5.1: EDNS options are hop-by-hop). normalizeReply turns an
 * upstream reply into the form the cache stores and every path relays: the
 * upstream's OPT gone (with any record after it in Additional), the question
 * exactly as the client asked it (R3 echo; the upstream may change case, and
 * we sent it in 0x20 case), and so is every owner name written out in full
 * that equals the question name ignoring case (servers that do not compress
 * echo our random case there too).
 * finishRelay then fits that to the asking client: our own OPT when it sent
 * one, the longest prefix of whole records within its size limit (512
 * without EDNS, its advertised size, 65,535 over TCP), TC when an answer or
 * authority record was cut (RFC 2181 §9, RFC 1035 §4.2.1).
 */
import { OPT_RECORD_SIZE, QTYPE } from './constants.js';
import type { Query } from './query.js';
import { sameNameAt, skipName } from './wire-read.js';
import { writeOpt } from './writer.js';

/** normalizeReply's outcome: the reply to keep, or why it cannot be used. */
export type NormalizedReply =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly reason: 'malformed' | 'extended-rcode' | 'no-question' };

const MALFORMED: NormalizedReply = Object.freeze({ ok: false, reason: 'malformed' });

/**
 * The upstream `reply` to `q` without its OPT and with `q`'s question bytes.
 * `reply` must already match `q`'s question ignoring case (same length). A
 * reply with no question, an extended rcode (its OPT's upper bits: we sent
 * no cookie, so BADCOOKIE or BADVERS means the exchange failed) or records
 * that do not parse cannot be used. Never throws.
 */
export function normalizeReply(reply: Buffer, q: Query): NormalizedReply {
  if (reply.length < 12) return MALFORMED;
  if (((reply[4]! << 8) | reply[5]!) !== 1) return { ok: false, reason: 'no-question' };
  const qEnd = q.questionEnd;
  if (reply.length < qEnd) return MALFORMED;
  const an = (reply[6]! << 8) | reply[7]!;
  const ns = (reply[8]! << 8) | reply[9]!;
  const total = an + ns + ((reply[10]! << 8) | reply[11]!);
  let off = qEnd;
  let kept = total;
  let cut = reply.length;
  let owners: number[] | undefined;
  for (let i = 0; i < total; i++) {
    if (reply[off] !== undefined && (reply[off]! & 0xc0) === 0 && sameNameAt(reply, off, q.raw, qEnd - 4)) (owners ??= []).push(off);
    const n = skipName(reply, off);
    if (n < 0 || n + 10 > reply.length) return MALFORMED;
    const end = n + 10 + ((reply[n + 8]! << 8) | reply[n + 9]!);
    if (end > reply.length) return MALFORMED;
    if (((reply[n]! << 8) | reply[n + 1]!) === QTYPE.OPT) {
      if (i < an + ns) return MALFORMED; // RFC 6891 §6.1.1: OPT only in Additional
      if (reply[n + 4] !== 0) return { ok: false, reason: 'extended-rcode' };
      kept = i;
      cut = off;
      break;
    }
    off = end;
  }
  if (kept === total) cut = off; // trailing bytes after the last record are dropped too
  const out = Buffer.allocUnsafe(cut);
  reply.copy(out, 0, 0, cut);
  q.raw.copy(out, 12, 12, qEnd);
  if (owners !== undefined) for (const o of owners) if (o < cut) q.raw.copy(out, o, 12, qEnd - 4);
  const ar = kept - an - ns;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  return { ok: true, bytes: out };
}

/**
 * Write `q`'s spelling of its name over every record owner of `b` that is spelled out in full and equals it ignoring
 * case (R3, FS6: a coalesced follower gets its own case, not the leader's). `b`'s question must already be `q`'s.
 * Stops at the first record that does not parse; never throws.
 */
export function echoOwners(b: Buffer, q: Query): void {
  if (b.length < 12) return;
  const total = ((b[6]! << 8) | b[7]!) + ((b[8]! << 8) | b[9]!) + ((b[10]! << 8) | b[11]!);
  const nameEnd = q.questionEnd - 4;
  let off = q.questionEnd;
  for (let i = 0; i < total; i++) {
    if (off < b.length && (b[off]! & 0xc0) === 0 && sameNameAt(b, off, q.raw, nameEnd)) q.raw.copy(b, off, 12, nameEnd);
    const n = skipName(b, off);
    if (n < 0 || n + 10 > b.length) return;
    off = n + 10 + ((b[n + 8]! << 8) | b[n + 9]!);
  }
}

/**
 * The bytes to send `q`'s client for a normalized reply `b` (see the file
 * comment). `b` is changed in place and returned when `owned` and nothing is
 * added; otherwise a new buffer. The ID is left to the caller.
 */
export function finishRelay(b: Buffer, q: Query, owned: boolean): Buffer {
  const opt = q.edns === undefined ? 0 : OPT_RECORD_SIZE;
  const limit = q.maxSize - opt;
  let len = b.length;
  let tc = false;
  let counts: [number, number, number] | undefined;
  if (len > limit) {
    const fit = fitRecords(b, limit);
    len = fit.len;
    tc = fit.tc;
    counts = fit.counts;
  }
  if (opt === 0 && len === b.length && owned) return b;
  const out = Buffer.allocUnsafe(len + opt);
  b.copy(out, 0, 0, len);
  if (tc) out[2] = out[2]! | 0x02;
  let ar = (out[10]! << 8) | out[11]!;
  if (counts !== undefined) {
    out[6] = counts[0] >> 8;
    out[7] = counts[0] & 0xff;
    out[8] = counts[1] >> 8;
    out[9] = counts[1] & 0xff;
    ar = counts[2];
  }
  if (opt !== 0) {
    writeOpt(out, len, 0, q.edns!.dnssecOk);
    ar++;
  }
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  return out;
}

// The longest prefix of whole records ending at or before `limit`, its section counts, and whether TC is due.
function fitRecords(b: Buffer, limit: number): { len: number; tc: boolean; counts: [number, number, number] } {
  const an = b.readUInt16BE(6);
  const ns = b.readUInt16BE(8);
  const total = an + ns + b.readUInt16BE(10);
  let off = skipName(b, 12) + 4;
  if (off < 16 || off > limit) {
    // Not even the question fits or parses: header only, TC set (RFC 1035 §4.2.1).
    return { len: 12, tc: true, counts: [0, 0, 0] };
  }
  let k = 0;
  for (; k < total; k++) {
    const n = skipName(b, off);
    if (n < 0 || n + 10 > b.length) break;
    const end = n + 10 + b.readUInt16BE(n + 8);
    if (end > limit) break;
    off = end;
  }
  const kAn = Math.min(k, an);
  const kNs = Math.min(k - kAn, ns);
  const tc = kAn < an || kNs < ns;
  return { len: off, tc, counts: [kAn, kNs, k - kAn - kNs] };
}
