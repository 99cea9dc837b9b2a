/**
 * Reply building (R5, R7, R8): local answers and NODATA with
 * RA=1, error replies with RA=0. Everything goes through one
 * ReplyWriter, which applies the size limit and truncation (G5).
 */
import { OPT_RECORD_SIZE, OUR_UDP_SIZE, QTYPE, RCODE } from './constants.js';
import type { LocalResult } from './local.js';
import type { Query } from './query.js';
import type { AddressSet } from './records.js';
import { ADDITIONAL, ANSWER, QUESTION_NAME_OFFSET, ReplyWriter } from './writer.js';

const writer = new ReplyWriter();
let perm = new Uint32Array(64);

/** The wire reply for a local answer or NODATA (NOERROR, RA=1, AA=0; addresses shuffled per query, R5). */
export function buildLocalReply(q: Query, r: Exclude<LocalResult, { kind: 'miss' }>): Buffer {
  writer.begin(q);
  if (r.kind === 'answer') {
    const ttl = r.network.ttl;
    const data = r.data;
    if (data.type === 'address') writeAddresses(q.qtype, data.set, ttl, QUESTION_NAME_OFFSET);
    else if (data.type === 'ptr') writer.ptr(ttl, data.target);
    else writeServices(data.targets, ttl);
  }
  return writer.finish(RCODE.NOERROR, true);
}

/**
 * An error reply to an accepted query (SERVFAIL, REFUSED, BADVERS...): RA=0,
 * RD/CD echoed, question echoed, no records but our OPT when the query had one (R8).
 */
export function buildErrorReply(q: Query, rcode: number): Buffer {
  writer.begin(q);
  return writer.finish(rcode, false);
}

/**
 * A FORMERR/NOTIMP/REFUSED reply from the header alone (R2, as miekg): ID, opcode and RD/CD copied, RA=0, the
 * question echoed when `questionEnd` > 0, and with `opt` our OPT (R8: a query carrying a well-formed OPT gets one
 * back, RFC 6891 §6.1.1; our UDP size, version 0, no options); nothing else.
 */
export function buildRejectReply(raw: Buffer, questionEnd: number, rcode: number, opt = false): Buffer {
  const len = questionEnd > 0 ? questionEnd : 12;
  const out = Buffer.alloc(len + (opt ? OPT_RECORD_SIZE : 0));
  raw.copy(out, 0, 0, len);
  out[2] = 0x80 | (raw[2]! & 0x79);
  out[3] = (raw[3]! & 0x10) | (rcode & 0x0f);
  out.writeUInt16BE(questionEnd > 0 ? 1 : 0, 4);
  out.fill(0, 6, 12);
  if (opt) {
    out.writeUInt16BE(1, 10); // ARCOUNT
    out.writeUInt16BE(QTYPE.OPT, len + 1); // owner: the root (one zero byte, from alloc)
    out.writeUInt16BE(OUR_UDP_SIZE, len + 3); // CLASS: our UDP payload size; TTL and RDLENGTH zero
  }
  return out;
}

// A/AAAA (or both for ANY) owned by `owner`, each family in a fresh random order.
function writeAddresses(qtype: number, set: AddressSet, ttl: number, owner: number, section = ANSWER): void {
  if (qtype !== QTYPE.AAAA) writeFamily(QTYPE.A, set.v4Wire, 4, ttl, owner, section);
  if (qtype !== QTYPE.A) writeFamily(QTYPE.AAAA, set.v6Wire, 16, ttl, owner, section);
}

function writeFamily(type: number, wire: Buffer, size: number, ttl: number, owner: number, section: number): void {
  const n = wire.length / size;
  if (n === 1) {
    if (!writer.full) writer.address(section, type, ttl, owner, wire, 0);
    return;
  }
  const order = shuffled(n);
  for (let i = 0; i < n && !writer.full; i++) writer.address(section, type, ttl, owner, wire, order[i]! * size);
}

// R7: SRV answers, then each target's A/AAAA in Additional, owners pointing at the SRV targets.
function writeServices(targets: readonly { target: string; port: number; addresses: AddressSet }[], ttl: number): void {
  const at: number[] = [];
  for (const t of targets) {
    if (writer.full) break;
    at.push(writer.srv(ttl, t.port, t.target));
  }
  const seen = new Set<string>();
  for (let i = 0; i < at.length && !writer.full; i++) {
    const t = targets[i]!;
    if (seen.has(t.target)) continue;
    seen.add(t.target);
    writeAddresses(QTYPE.ANY, t.addresses, ttl, at[i]!, ADDITIONAL);
  }
}

// A random permutation of 0..n-1 (Fisher-Yates) in a reused scratch array.
function shuffled(n: number): Uint32Array {
  if (perm.length < n) perm = new Uint32Array(Math.max(n, perm.length * 2));
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}
