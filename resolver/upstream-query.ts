/**
 * The query we send upstream (R10, FS3, FS6; RFC 6891 §6.1.1 "EDNS is hop-by-hop"):
 * built by us, never the client's bytes. Header: a fresh ID (written by the
 * exchanger), opcode, RD, AD and CD as the client sent them; the client's
 * question, its name's letters in random case when asked (0x20,
 * draft-vixie-dnsext-dns0x20); our own OPT (size 1232, DO copied, no
 * options) when the client sent one. Nothing else of the client's query
 * (its COOKIE, padding, ECS or other options, extra records) leaves the
 * sandbox, so no upstream state is tied to one client (RFC 7873 §5.1).
 */
import { randomFillSync } from 'node:crypto';
import { OPT_RECORD_SIZE } from './constants.js';
import type { Query } from './query.js';
import { writeOpt } from './writer.js';

/** One upstream query: its bytes (ID 0 until the exchanger writes one) and where its question ends. */
export interface UpstreamQuery {
  readonly bytes: Buffer;
  /** Offset just past the question, as in the client's query (names keep their length). */
  readonly questionEnd: number;
  /** True when the name's letters were put in random case (0x20). */
  readonly mixedCase: boolean;
}

// Random bits for 0x20 from a CSPRNG pool (RFC 5452 §9.2: what an attacker must guess must be unpredictable).
const bits = new Uint8Array(4096);
let bitNext = bits.length;

function randomByte(): number {
  if (bitNext === bits.length) {
    randomFillSync(bits);
    bitNext = 0;
  }
  return bits[bitNext++]!;
}

/** Build the upstream query for `q` (see the file comment); `mixCase` asks for 0x20. */
export function buildUpstreamQuery(q: Query, mixCase: boolean): UpstreamQuery {
  const qEnd = q.questionEnd;
  const withOpt = q.edns !== undefined;
  const out = Buffer.allocUnsafe(qEnd + (withOpt ? OPT_RECORD_SIZE : 0));
  q.raw.copy(out, 0, 0, qEnd);
  out[0] = 0;
  out[1] = 0;
  out[2] = q.raw[2]! & 0x79; // QR=0, opcode, AA=0, TC=0, RD copied
  out[3] = q.raw[3]! & 0x30; // RA=0, Z=0, AD and CD copied (RFC 6840 §5.7, §5.9), rcode 0
  out.fill(0, 4, 12);
  out[5] = 1;
  if (withOpt) {
    writeOpt(out, qEnd, 0, q.edns!.dnssecOk);
    out[11] = 1;
  }
  let mixed = false;
  if (mixCase) {
    // Labels only (never length octets: the question of an accepted query is uncompressed).
    let p = 12;
    let byte = 0;
    let left = 0;
    while (p < qEnd - 4 && out[p] !== 0) {
      const len = out[p]!;
      for (let i = p + 1; i <= p + len; i++) {
        const c = out[i]! | 0x20;
        if (c < 0x61 || c > 0x7a) continue;
        if (left === 0) {
          byte = randomByte();
          left = 8;
        }
        out[i] = byte & 1 ? c & ~0x20 : c;
        byte >>= 1;
        left--;
        mixed = true;
      }
      p += len + 1;
    }
  }
  return { bytes: out, questionEnd: qEnd, mixedCase: mixed };
}

/** True when `reply`'s question name is byte-for-byte the one we sent (0x20 echo check). */
export function echoesCase(reply: Buffer, sent: UpstreamQuery): boolean {
  if (reply.length < sent.questionEnd || reply.readUInt16BE(4) !== 1) return false;
  return reply.compare(sent.bytes, 12, sent.questionEnd, 12, sent.questionEnd) === 0;
}
