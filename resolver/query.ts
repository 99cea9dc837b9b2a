/**
 * The Query value: everything later stages need from one packet, computed
 * once by accept.ts (STYLE G5, like CoreDNS's request.Request).
 */
import { MAX_MESSAGE_SIZE, MAX_UDP_PAYLOAD, MIN_UDP_SIZE } from './constants.js';

/** How the query arrived; the forwarder uses the same transport upstream (R10). */
export type Transport = 'udp' | 'tcp';

/** The client's OPT record (RFC 6891 §6.1). */
export interface Edns {
  /** Requestor's UDP payload size, as sent (may be < 512). */
  readonly udpSize: number;
  /** EDNS version (0 is the only one we implement; others get BADVERS, R8). */
  readonly version: number;
  /** DNSSEC OK bit (RFC 3225 §3), copied into our OPT. */
  readonly dnssecOk: boolean;
}

/** One accepted query (R2 passed). Read-only: stages never change it. */
export interface Query {
  readonly kind: 'query';
  readonly id: number;
  /** The name as asked, presentation form with trailing dot (`NaMe1.`); odd bytes escaped as `\DDD`. */
  readonly name: string;
  /** Lowercased, no trailing dot (`name1`); the root is `''` (R3). */
  readonly lname: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly opcode: number;
  /** Recursion desired, echoed (R5). */
  readonly rd: boolean;
  /** Checking disabled, echoed (R5). */
  readonly cd: boolean;
  readonly transport: Transport;
  /** The client's OPT, or undefined without one. */
  readonly edns: Edns | undefined;
  /** Largest reply we may send: UDP max(512, EDNS size) capped at 65,507 (an IPv4 datagram's payload); TCP 65535 (R8). */
  readonly maxSize: number;
  /** A copy of the query's header and question (FS5: never a view of the datagram, which may be reused). */
  readonly raw: Buffer;
  /** Offset just past the question: `raw[0, questionEnd)` is header + question, echoed verbatim. */
  readonly questionEnd: number;
}

/** Reply size limit for a transport and the client's EDNS size (R8, RFC 6891 §6.2.5). */
export function maxReplySize(transport: Transport, ednsUdpSize: number | undefined): number {
  if (transport === 'tcp') return MAX_MESSAGE_SIZE;
  if (ednsUdpSize === undefined || ednsUdpSize <= MIN_UDP_SIZE) return MIN_UDP_SIZE;
  return Math.min(ednsUdpSize, MAX_UDP_PAYLOAD);
}
