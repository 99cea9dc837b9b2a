/**
 * Helpers for the resolver unit tests: views, queries encoded with dns-packet
 * (an independent codec), replies decoded with it, and a pino sink.
 */
import { Writable } from 'node:stream';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import type { Logger } from '../../../common/log.js';
import { RecordTable, type EndpointRecord, type LinkAlias, type NetworkView, type ResolverView } from '../../../resolver/index.js';

/** A network view over a fresh table holding `records`. */
export function network(name: string, records: readonly EndpointRecord[] = [], ttl = 600): NetworkView {
  const table = new RecordTable(name);
  for (const r of records) table.addEndpoint(r);
  return { name, records: table, ttl, internal: false };
}

/** A resolver view over `networks`. */
export function view(networks: readonly NetworkView[], extra: Partial<ResolverView> = {}): ResolverView {
  return {
    id: 'sb1',
    networks,
    linkAliases: new Map<string, LinkAlias[]>(),
    ndotsSet: false,
    upstreams: [],
    externalAccess: true,
    ...extra,
  };
}

/** Options of query(). */
export interface QueryOptions {
  id?: number;
  flags?: number;
  qclass?: dnsPacket.RecordClass;
  /** EDNS UDP size: adds an OPT record. */
  edns?: number;
  ednsVersion?: number;
  dnssecOk?: boolean;
  /** EDNS options of the OPT record (with `edns`), e.g. a COOKIE (code 10). */
  ednsOptions?: { code: number; data: Buffer }[];
}

/** Encode a query with dns-packet. */
export function query(name: string, type: dnsPacket.RecordType | number = 'A', o: QueryOptions = {}): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (o.edns !== undefined) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: o.edns,
      extendedRcode: 0,
      ednsVersion: o.ednsVersion ?? 0,
      flags: o.dnssecOk === true ? dnsPacket.DNSSEC_OK : 0,
      options: o.ednsOptions ?? [],
    } as unknown as dnsPacket.Answer);
  }
  const bytes = dnsPacket.encode({
    type: 'query',
    id: o.id ?? 0x1234,
    flags: o.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: typeof type === 'number' ? 'A' : type, class: o.qclass ?? 'IN' }],
    additionals,
  });
  // dns-packet only encodes type mnemonics it knows: patch numeric types (HTTPS = 65 ...) in place.
  if (typeof type === 'number') {
    let off = 12;
    while (bytes[off] !== 0) off += bytes[off]! + 1;
    bytes.writeUInt16BE(type, off + 1);
  }
  return bytes;
}

/** A decoded record, typed loosely for assertions. */
export interface LooseRecord {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  data?: unknown;
  [key: string]: unknown;
}

/** A decoded reply, typed loosely for assertions. */
export type Decoded = Omit<dnsPacket.Packet, 'answers' | 'authorities' | 'additionals'> & {
  answers?: LooseRecord[];
  authorities?: LooseRecord[];
  additionals?: LooseRecord[];
  rcode: string;
  flag_qr: boolean;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  flag_cd: boolean;
  opcode: string;
};

/** Decode reply bytes with dns-packet (fails the test if undefined). */
export function decode(bytes: Buffer | undefined): Decoded {
  if (bytes === undefined) throw new Error('expected a reply, got none');
  return dnsPacket.decode(bytes) as unknown as Decoded;
}

/** Answer data values as text (SRV as `target:port`), sorted (addresses are shuffled per query). */
export function answerData(d: Decoded): string[] {
  return (d.answers ?? [])
    .map((a) => {
      const data = a.data;
      if (typeof data === 'object' && data !== null && 'target' in data && 'port' in data) return `${String(data.target)}:${String(data.port)}`;
      return String(data);
    })
    .sort();
}

/** A pino logger whose lines are collected as objects. */
export function sinkLogger(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
