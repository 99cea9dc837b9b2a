/**
 * ReplyWriter: builds a reply in one reusable scratch buffer, then copies out
 * exactly the bytes that fit (R8). Hand-built because dns-packet neither
 * compresses names nor rejects a 64-byte label; both matter here (R8).
 *
 * Records are written in section order and their end offsets kept, so
 * truncation keeps the longest prefix of whole records that fits with the
 * OPT (answer, then authority, then additional); compression pointers only
 * point backward, so a prefix stays valid.
 */
import { MAX_MESSAGE_SIZE, OPT_RECORD_SIZE, OUR_UDP_SIZE, QTYPE } from './constants.js';
import { EncodeError } from './errors.js';
import type { Query } from './query.js';

/** Section indexes in wire order. */
export const ANSWER = 0;
/** Authority section index. */
export const AUTHORITY = 1;
/** Additional section index. */
export const ADDITIONAL = 2;

/** Offset of the question name: answers point here (RFC 1035 §4.1.4). */
export const QUESTION_NAME_OFFSET = 12;

// A record is at most 1 KiB, so stopping once past the limit keeps us inside the scratch.
const SCRATCH_SIZE = MAX_MESSAGE_SIZE + 2048;
const MAX_RECORDS = 8192;

/** Writes one reply at a time (single-threaded: begin → records → finish, all synchronous). */
export class ReplyWriter {
  readonly #buf = Buffer.allocUnsafe(SCRATCH_SIZE);
  readonly #ends = new Int32Array(MAX_RECORDS);
  readonly #counts = [0, 0, 0];
  #q: Query | undefined;
  #off = 0;
  #n = 0;
  #limit = 0;
  #names: Map<string, number> | undefined;

  /** Start a reply to `q`: header and question copied verbatim (R3 echo). */
  begin(q: Query): void {
    this.#q = q;
    copySmall(q.raw, 0, this.#buf, 0, q.questionEnd);
    this.#off = q.questionEnd;
    this.#n = 0;
    this.#counts[0] = this.#counts[1] = this.#counts[2] = 0;
    this.#limit = q.maxSize - (q.edns === undefined ? 0 : OPT_RECORD_SIZE);
    this.#names = undefined;
  }

  /** True once the reply is past its size limit: later records would be cut anyway. */
  get full(): boolean {
    return this.#off > this.#limit || this.#n >= MAX_RECORDS;
  }

  /**
   * An A/AAAA record: owner is a pointer to `ownerOffset` (the question name, or an SRV target written uncompressed),
   * RDATA `wire[at, at+size)`. A pointer holds 14 bits (RFC 1035 §4.1.4): an owner past 0x3fff (an SRV target deep in
   * a large reply) is copied in full instead.
   */
  address(section: number, type: number, ttl: number, ownerOffset: number, wire: Buffer, at: number): void {
    const b = this.#buf;
    let o = this.#off;
    const size = type === QTYPE.A ? 4 : 16;
    if (ownerOffset < 0x4000) {
      b[o] = 0xc0 | (ownerOffset >> 8);
      b[o + 1] = ownerOffset & 0xff;
      o += 2;
    } else {
      let end = ownerOffset;
      while (b[end] !== 0) end += 1 + b[end]!;
      o += b.copy(b, o, ownerOffset, end + 1);
    }
    o = this.#fixed(o, type, ttl, size);
    for (let i = 0; i < size; i++) b[o + i] = wire[at + i]!;
    this.#end(section, o + size);
  }

  /** A PTR answer for the question name (R5). */
  ptr(ttl: number, target: string): void {
    const rdata = this.#fixed(this.#owner(), QTYPE.PTR, ttl, 0);
    this.#off = rdata;
    this.#name(target, true);
    this.#buf.writeUInt16BE(this.#off - rdata, rdata - 2);
    this.#end(ANSWER, this.#off);
  }

  /** An SRV answer (R7: priority 0, weight 0); returns the target name's offset for Additional owners. */
  srv(ttl: number, port: number, target: string): number {
    const b = this.#buf;
    const rdata = this.#fixed(this.#owner(), QTYPE.SRV, ttl, 0);
    b.writeUInt32BE(0, rdata); // priority, weight
    b.writeUInt16BE(port, rdata + 4);
    this.#off = rdata + 6;
    const at = this.#off;
    this.#name(target, false); // RFC 2782: the target is never compressed
    b.writeUInt16BE(this.#off - rdata, rdata - 2);
    this.#end(ANSWER, this.#off);
    return at;
  }

  /**
   * Finish: keep the longest prefix of whole records that fits, add our OPT
   * when the query had one (R8), set counts and flags (R5: QR, opcode and RD/CD
   * echoed, AA=0; RA as given; TC when an answer or authority record was cut,
   * RFC 2181 §9) and return a copy of exactly the reply bytes.
   */
  finish(rcode: number, ra: boolean): Buffer {
    const q = this.#q!;
    const b = this.#buf;
    let k = this.#n;
    while (k > 0 && this.#ends[k - 1]! > this.#limit) k--;
    let len = k === 0 ? q.questionEnd : this.#ends[k - 1]!;
    const an = Math.min(this.#counts[0]!, k);
    const ns = Math.min(this.#counts[1]!, k - an);
    const tc = an < this.#counts[0]! || ns < this.#counts[1]!;
    let ar = k - an - ns;
    if (q.edns !== undefined) {
      len = writeOpt(b, len, rcode, q.edns.dnssecOk);
      ar++;
    }
    const b2 = q.raw[2]!;
    b[2] = 0x80 | (b2 & 0x79) | (tc ? 0x02 : 0); // QR, opcode + RD copied, AA=0
    b[3] = (ra ? 0x80 : 0) | (q.raw[3]! & 0x10) | (rcode & 0x0f); // RA, CD echoed, Z=AD=0
    put16(b, 4, 1);
    put16(b, 6, an);
    put16(b, 8, ns);
    put16(b, 10, ar);
    const out = Buffer.allocUnsafe(len);
    copySmall(b, 0, out, 0, len);
    this.#q = undefined;
    return out;
  }

  // Owner = pointer to the question name; returns the offset after it.
  #owner(): number {
    this.#buf[this.#off] = 0xc0;
    this.#buf[this.#off + 1] = QUESTION_NAME_OFFSET;
    return this.#off + 2;
  }

  // TYPE, CLASS IN, TTL, RDLENGTH at `o`; returns the RDATA offset.
  #fixed(o: number, type: number, ttl: number, rdlen: number): number {
    const b = this.#buf;
    put16(b, o, type);
    put16(b, o + 2, 1);
    put16(b, o + 4, ttl >>> 16);
    put16(b, o + 6, ttl & 0xffff);
    put16(b, o + 8, rdlen);
    return o + 10;
  }

  #end(section: number, end: number): void {
    this.#off = end;
    this.#ends[this.#n++] = end;
    this.#counts[section]!++;
  }

  // Write `name` (no trailing dot) at #off, compressing against earlier names if asked.
  #name(name: string, compress: boolean): void {
    const labels = checkedLabels(name);
    const names = this.#names ?? this.#seed();
    const b = this.#buf;
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).join('.').toLowerCase();
      const at = names.get(key);
      if (compress && at !== undefined) {
        b.writeUInt16BE(0xc000 | at, this.#off);
        this.#off += 2;
        return;
      }
      if (at === undefined && this.#off < 0x4000) names.set(key, this.#off);
      const label = labels[i]!;
      b[this.#off] = Buffer.byteLength(label);
      this.#off += 1 + b.write(label, this.#off + 1, 'utf8');
    }
    b[this.#off++] = 0;
  }

  // Compression table seeded with the question name's suffixes and their offsets.
  #seed(): Map<string, number> {
    const names = new Map<string, number>();
    this.#names = names;
    const q = this.#q!;
    if (q.lname === '' || q.lname.includes('\\')) return names;
    const labels = q.lname.split('.');
    let o = QUESTION_NAME_OFFSET;
    for (let i = 0; i < labels.length; i++) {
      names.set(labels.slice(i).join('.'), o);
      o += 1 + q.raw[o]!;
    }
    return names;
  }
}

// Hot-path helpers: for a few dozen bytes, plain stores beat Buffer#copy and
// the range-checked writeUInt16BE (measured: ~15% of a local answer).
function put16(b: Buffer, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function copySmall(src: Buffer, from: number, dst: Buffer, to: number, n: number): void {
  if (n > 256) {
    src.copy(dst, to, from, from + n);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

/** Labels of a name, or EncodeError when one is empty or > 63 bytes, or the name > 255 bytes (RFC 1035 §2.3.4). */
function checkedLabels(name: string): string[] {
  const labels = name.split('.');
  let total = 1;
  for (const label of labels) {
    const n = Buffer.byteLength(label);
    if (n === 0) throw new EncodeError(name, 'it has an empty label');
    if (n > 63) throw new EncodeError(name, `label "${label.slice(0, 16)}..." is longer than 63 bytes`);
    total += n + 1;
  }
  if (total > 255) throw new EncodeError(name, 'it is longer than 255 bytes');
  return labels;
}

/** Write our OPT at `o` (RFC 6891 §6.1.2–6.1.3): size 1232, extended rcode bits, version 0, DO echoed (RFC 3225 §3). */
export function writeOpt(b: Buffer, o: number, rcode: number, dnssecOk: boolean): number {
  b[o] = 0;
  put16(b, o + 1, QTYPE.OPT);
  put16(b, o + 3, OUR_UDP_SIZE);
  b[o + 5] = (rcode >> 4) & 0xff;
  b[o + 6] = 0;
  b[o + 7] = dnssecOk ? 0x80 : 0;
  b[o + 8] = 0;
  put16(b, o + 9, 0);
  return o + OPT_RECORD_SIZE;
}
