/**
 * Bounds-checked readers over raw query bytes (RFC 1035 §4.1.2–4.1.4). They
 * never throw and never allocate beyond the name strings: accept.ts builds on
 * them instead of dns-packet, which decodes leniently and is not a validator.
 */

/** Longest wire name: 255 octets including the root byte (RFC 1035 §2.3.4). */
const MAX_NAME_WIRE = 255;
/** Hop limit for compression pointers (backward-only already rules out loops). */
const MAX_POINTER_HOPS = 127;

/** A question name as read from the wire, and where the question continues. */
export interface QuestionName {
  /** The name as sent (case kept, RFC 4343 §2.1 escapes), without the trailing dot. */
  readonly asked: string;
  /** `asked` with ASCII letters lowercased (names compare case-insensitively, RFC 4343 §3). */
  readonly lname: string;
  /** Offset just after the name's root byte. */
  readonly end: number;
}

// The question name in presentation form, assembled here so it becomes one string in one call.
const nameScratch = Buffer.allocUnsafe(MAX_NAME_WIRE);

/**
 * Read the question name at offset 12. Returns it with the offset after it,
 * or undefined when it is truncated, too long, or uses a pointer or an
 * extended label type (a question at offset 12 has nothing to point back to).
 * Hot path: the labels are copied with dots into a scratch buffer and decoded
 * with one toString (one per label cost a native call each); a name with a
 * byte that needs escaping takes the label-by-label path.
 */
export function readQuestionName(b: Buffer): QuestionName | undefined {
  let off = 12;
  let n = 0;
  let upper = false;
  let odd = false;
  const end = b.length;
  for (;;) {
    if (off >= end) return undefined;
    const len = b[off]!;
    if (len === 0) break;
    if (len > 63) return undefined;
    const start = off + 1;
    const stop = start + len;
    if (stop > end || stop - 12 >= MAX_NAME_WIRE) return undefined;
    if (n > 0) nameScratch[n++] = 0x2e;
    for (let i = start; i < stop; i++) {
      const c = b[i]!;
      if (c < 0x21 || c > 0x7e || c === 0x2e || c === 0x5c) odd = true;
      else if (c >= 0x41 && c <= 0x5a) upper = true;
      nameScratch[n++] = c;
    }
    off = stop;
  }
  const asked = odd ? escapedName(b) : n === 0 ? '' : nameScratch.toString('latin1', 0, n);
  return { asked, lname: upper ? asked.toLowerCase() : asked, end: off + 1 };
}

// The presentation form of an already validated question name with odd bytes, label by label.
function escapedName(b: Buffer): string {
  let asked = '';
  for (let off = 12; b[off]! !== 0; off += 1 + b[off]!) {
    const start = off + 1;
    const stop = start + b[off]!;
    let safe = true;
    for (let i = start; i < stop; i++) {
      const c = b[i]!;
      if (c < 0x21 || c > 0x7e || c === 0x2e || c === 0x5c) safe = false;
    }
    const label = safe ? b.toString('latin1', start, stop) : escapeLabel(b, start, stop);
    asked = off === 12 ? label : `${asked}.${label}`;
  }
  return asked;
}

/** Presentation form of an odd label: `.` and `\` escaped, other non-printables as `\DDD` (RFC 4343 §2.1). */
function escapeLabel(b: Buffer, start: number, stop: number): string {
  let s = '';
  for (let i = start; i < stop; i++) {
    const c = b[i]!;
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c < 0x21 || c > 0x7e) s += `\\${String(c).padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

/**
 * True when the uncompressed name at `b[off]` is the question name `raw[12, nameEnd)` ignoring the ASCII case of
 * letters only (RFC 4343 §3). Length octets and the final root label compare exactly, so a match is the whole name.
 */
export function sameNameAt(b: Buffer, off: number, raw: Buffer, nameEnd: number): boolean {
  const len = nameEnd - 12;
  if (off + len > b.length) return false;
  for (let i = 0; i < len; i++) {
    const x = b[off + i]!;
    const y = raw[12 + i]!;
    if (x === y) continue;
    const lower = x | 0x20;
    if (lower !== (y | 0x20) || lower < 0x61 || lower > 0x7a) return false;
  }
  return true;
}

/**
 * Skip a possibly compressed name starting at `off` (RFC 1035 §4.1.4): pointers
 * must point backward. Returns the offset after the name in the message, or -1.
 */
export function skipName(b: Buffer, off: number): number {
  let pos = off;
  let after = -1;
  let hops = 0;
  let total = 0;
  for (;;) {
    if (pos >= b.length) return -1;
    const len = b[pos]!;
    if (len === 0) return after < 0 ? pos + 1 : after;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= b.length) return -1;
      const ptr = ((len & 0x3f) << 8) | b[pos + 1]!;
      if (ptr >= pos || ++hops > MAX_POINTER_HOPS) return -1;
      if (after < 0) after = pos + 2;
      pos = ptr;
      continue;
    }
    if (len > 63) return -1;
    total += len + 1;
    if (total >= MAX_NAME_WIRE) return -1;
    pos += len + 1;
  }
}

/**
 * Skip one resource record (name, type, class, TTL, RDLENGTH, RDATA).
 * Returns the offset after it, or -1 when it overruns the message.
 */
export function skipRecord(b: Buffer, off: number): number {
  const n = skipName(b, off);
  if (n < 0 || n + 10 > b.length) return -1;
  const end = n + 10 + b.readUInt16BE(n + 8);
  return end > b.length ? -1 : end;
}

/** True when OPT RDATA `[start, end)` is a clean sequence of option TLVs (RFC 6891 §6.1.2). */
export function optionsWellFormed(b: Buffer, start: number, end: number): boolean {
  let p = start;
  while (p < end) {
    if (p + 4 > end) return false;
    p += 4 + b.readUInt16BE(p + 2);
  }
  return p === end;
}
