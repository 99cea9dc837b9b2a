/**
 * DNS wire constants the resolver uses on its hot path (RFC 1035 §3.2, §4.1;
 * RFC 6891 for EDNS). Names of other types and rcodes come from dns-packet.
 */

/** Resource record types the resolver answers or inspects. */
export const QTYPE = {
  A: 1,
  PTR: 12,
  MX: 15,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

/** Classes (RFC 1035 §3.2.4; ANY = 255 from §3.2.5). */
export const QCLASS = { IN: 1, ANY: 255 } as const;

/** Response codes, including the EDNS extended BADVERS (RFC 6891 §9). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

/** Size of the fixed DNS header (RFC 1035 §4.1.1). */
export const HEADER_SIZE = 12;
/** Smallest UDP reply limit (RFC 1035 §4.2.1). */
export const MIN_UDP_SIZE = 512;
/** Largest DNS message (TCP length prefix, RFC 1035 §4.2.2). */
export const MAX_MESSAGE_SIZE = 65535;
/**
 * Largest UDP reply: an IPv4 datagram's payload (65,535 − 20-byte IP header − 8-byte UDP header; RFC 791, RFC 768).
 * A client advertising more (EDNS sizes go to 65,535) gets at most this, cut with TC, not a send that fails EMSGSIZE.
 */
export const MAX_UDP_PAYLOAD = 65507;
/** The UDP payload size we advertise in our OPT (R8; DNS flag day 2020 value). */
export const OUR_UDP_SIZE = 1232;
/** Size of an OPT record with no options (RFC 6891 §6.1.2). */
export const OPT_RECORD_SIZE = 11;
/**
 * Longest query we accept (FS5): header, a 255-byte name and an OPT with
 * padding to 468 (RFC 8467 §4.1) fit with room to spare; the same as our
 * advertised UDP size. Longer ones are REFUSED.
 */
export const MAX_QUERY_SIZE = 1232;
