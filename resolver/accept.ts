/**
 * R2 message acceptance, as miekg/dns's DefaultMsgAcceptFunc (used by
 * Docker's resolver): bytes → a Query, a drop, or a FORMERR/NOTIMP/BADVERS
 * reply. Nothing here throws, whatever the bytes (G8): every read is
 * bounds-checked, and header counts are checked before any record is walked,
 * so a 12-byte packet claiming 65535 records costs nothing.
 *
 * FS5: a query longer than MAX_QUERY_SIZE is REFUSED (RFC 1035 §4.1.1 "for
 * policy reasons"), and an accepted Query keeps only a copy of the header
 * and question of its datagram: a query waiting for an upstream reply never
 * pins the bytes it arrived in, and those bytes may be a receive area that
 * the next datagram overwrites (sandbox/io/listener-udp.ts). The copy is
 * small (a few dozen bytes, carved from Node's shared Buffer pool).
 */
import { HEADER_SIZE, MAX_QUERY_SIZE, QTYPE, RCODE } from './constants.js';
import { buildErrorReply, buildRejectReply } from './answer.js';
import { maxReplySize, type Edns, type Query, type Transport } from './query.js';
import { optionsWellFormed, readQuestionName, skipName, skipRecord, type QuestionName } from './wire-read.js';

/** Not a query we answer: drop it silently, or send these reply bytes. */
export type Rejected =
  | { readonly kind: 'drop' }
  | { readonly kind: 'reply'; readonly bytes: Buffer; readonly rcode: number };

/** The outcome of acceptance (G6). */
export type Accepted = Query | Rejected;

const DROP: Rejected = Object.freeze({ kind: 'drop' });

/** Apply R2 to raw bytes received over `transport`. */
export function acceptQuery(raw: Buffer, transport: Transport): Accepted {
  // an unparsable header or QR=1 is ignored (a reply could amplify).
  if (raw.length < HEADER_SIZE || (raw[2]! & 0x80) !== 0) return DROP;
  const qd = (raw[4]! << 8) | raw[5]!;
  const an = (raw[6]! << 8) | raw[7]!;
  const ns = (raw[8]! << 8) | raw[9]!;
  const ar = (raw[10]! << 8) | raw[11]!;
  const opcode = (raw[2]! >> 3) & 0x0f;
  if (opcode !== 0) {
    const end = qd === 1 ? questionEndOf(raw, readQuestionName(raw)) : -1;
    return reject(raw, end, RCODE.NOTIMP, an + ns <= 2 && hasOpt(raw, end, an + ns, ar));
  }
  // miekg: QDCOUNT != 1, ANCOUNT > 1, NSCOUNT > 1, ARCOUNT > 2 → FORMERR, before any decode.
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return reject(raw, qd === 1 ? questionEndOf(raw, readQuestionName(raw)) : -1, RCODE.FORMERR);
  const qname = readQuestionName(raw);
  const questionEnd = questionEndOf(raw, qname);
  if (qname === undefined || questionEnd < 0) return reject(raw, -1, RCODE.FORMERR);
  if (raw.length > MAX_QUERY_SIZE) return reject(raw, questionEnd, RCODE.REFUSED, hasOpt(raw, questionEnd, an + ns, ar));
  let off = questionEnd;
  for (let i = 0; i < an + ns && off >= 0; i++) off = skipRecord(raw, off);
  if (off < 0) return reject(raw, questionEnd, RCODE.FORMERR);
  const edns = readAdditional(raw, off, ar);
  if (edns === null) return reject(raw, questionEnd, RCODE.FORMERR);
  const q: Query = {
    kind: 'query',
    id: (raw[0]! << 8) | raw[1]!,
    name: `${qname.asked}.`,
    lname: qname.lname,
    qtype: (raw[questionEnd - 4]! << 8) | raw[questionEnd - 3]!,
    qclass: (raw[questionEnd - 2]! << 8) | raw[questionEnd - 1]!,
    opcode,
    rd: (raw[2]! & 0x01) !== 0,
    cd: (raw[3]! & 0x10) !== 0,
    transport,
    edns,
    maxSize: maxReplySize(transport, edns?.udpSize),
    raw: Buffer.from(raw.subarray(0, questionEnd)),
    questionEnd,
  };
  // R8, RFC 6891 §6.1.3: a version we do not implement gets BADVERS.
  if (edns !== undefined && edns.version !== 0) {
    return { kind: 'reply', bytes: buildErrorReply(q, RCODE.BADVERS), rcode: RCODE.BADVERS };
  }
  return q;
}

/** Offset after the question (name, QTYPE, QCLASS), or -1 if it does not parse. */
function questionEndOf(raw: Buffer, name: QuestionName | undefined): number {
  return name === undefined || name.end + 4 > raw.length ? -1 : name.end + 4;
}

/**
 * Walk the additional section: the client's OPT, undefined without one, or
 * null when the section is malformed (RFC 6891 §6.1.1: one OPT at most, owned by the root).
 */
function readAdditional(raw: Buffer, start: number, count: number): Edns | undefined | null {
  let off = start;
  let edns: Edns | undefined;
  for (let i = 0; i < count; i++) {
    const n = skipName(raw, off);
    if (n < 0 || n + 10 > raw.length) return null;
    const end = n + 10 + ((raw[n + 8]! << 8) | raw[n + 9]!);
    if (end > raw.length) return null;
    if (((raw[n]! << 8) | raw[n + 1]!) === QTYPE.OPT) {
      if (edns !== undefined || n !== off + 1 || !optionsWellFormed(raw, n + 10, end)) return null;
      edns = {
        udpSize: (raw[n + 2]! << 8) | raw[n + 3]!,
        version: raw[n + 5]!,
        dnssecOk: (raw[n + 6]! & 0x80) !== 0,
      };
    }
    off = end;
  }
  return edns;
}

/** A reply made from the header alone; with `opt` (the query's OPT record was well formed) it carries our OPT (R8). */
function reject(raw: Buffer, questionEnd: number, rcode: number, opt = false): Rejected {
  return { kind: 'reply', bytes: buildRejectReply(raw, questionEnd, rcode, opt), rcode };
}

/** True when the query holds one well-formed OPT record after its question and `records` answer/authority records. */
function hasOpt(raw: Buffer, questionEnd: number, records: number, ar: number): boolean {
  if (questionEnd < 0 || ar === 0) return false;
  let off = questionEnd;
  for (let i = 0; i < records && off >= 0; i++) off = skipRecord(raw, off);
  if (off < 0) return false;
  const edns = readAdditional(raw, off, ar);
  return edns !== null && edns !== undefined;
}
