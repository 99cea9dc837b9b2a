import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptQuery, type Accepted } from '../../../resolver/accept.js';
import type { Query } from '../../../resolver/query.js';
import { decode, query } from './_helpers.js';

/** A raw message: header fields, then body bytes. */
function raw(h: { id?: number; b2?: number; b3?: number; qd?: number; an?: number; ns?: number; ar?: number }, body: number[] = []): Buffer {
  const b = Buffer.alloc(12 + body.length);
  b.writeUInt16BE(h.id ?? 0xbeef, 0);
  b[2] = h.b2 ?? 0x01;
  b[3] = h.b3 ?? 0;
  b.writeUInt16BE(h.qd ?? 1, 4);
  b.writeUInt16BE(h.an ?? 0, 6);
  b.writeUInt16BE(h.ns ?? 0, 8);
  b.writeUInt16BE(h.ar ?? 0, 10);
  Buffer.from(body).copy(b, 12);
  return b;
}

// Question `www.` A IN, and records to append.
const Q = [3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1];
const A_RR = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1];
const OPT = (size = 1232, version = 0, rdata: number[] = []): number[] => [
  0, 0, 41, size >> 8, size & 255, 0, version, 0, 0, rdata.length >> 8, rdata.length & 255, ...rdata,
];

function rcodeOf(a: Accepted): string {
  if (a.kind === 'drop') return 'drop';
  if (a.kind === 'query') return 'query';
  return decode(a.bytes).rcode;
}

describe('acceptQuery (R2, Docker)', () => {
  it.each([
    { label: 'an 11-byte message', msg: Buffer.alloc(11), want: 'drop' },
    { label: 'an empty message', msg: Buffer.alloc(0), want: 'drop' },
    { label: 'QR=1 (a response)', msg: raw({ b2: 0x81 }, Q), want: 'drop' },
    { label: 'opcode IQUERY', msg: raw({ b2: 1 << 3 }, Q), want: 'NOTIMP' },
    { label: 'opcode STATUS', msg: raw({ b2: 2 << 3 }, Q), want: 'NOTIMP' },
    { label: 'opcode NOTIFY', msg: raw({ b2: 4 << 3 }, Q), want: 'NOTIMP' },
    { label: 'opcode UPDATE with huge counts', msg: raw({ b2: 5 << 3, qd: 1, an: 9999 }, Q), want: 'NOTIMP' },
    { label: 'QDCOUNT 0', msg: raw({ qd: 0 }), want: 'FORMERR' },
    { label: 'QDCOUNT 2', msg: raw({ qd: 2 }, [...Q, ...Q]), want: 'FORMERR' },
    { label: 'ANCOUNT 2', msg: raw({ an: 2 }, [...Q, ...A_RR, ...A_RR]), want: 'FORMERR' },
    { label: 'NSCOUNT 2', msg: raw({ ns: 2 }, [...Q, ...A_RR, ...A_RR]), want: 'FORMERR' },
    { label: 'ARCOUNT 3', msg: raw({ ar: 3 }, [...Q, ...A_RR, ...A_RR, ...A_RR]), want: 'FORMERR' },
    { label: 'a 12-byte header claiming 65535 of everything', msg: raw({ qd: 65535, an: 65535, ns: 65535, ar: 65535 }), want: 'FORMERR' },
    { label: 'counts impossible for the length', msg: raw({ an: 1, ns: 1, ar: 2 }, Q), want: 'FORMERR' },
    { label: 'a question name running past the end', msg: raw({}, [5, 0x61, 0x62]), want: 'FORMERR' },
    { label: 'a question without QTYPE/QCLASS', msg: raw({}, [1, 0x61, 0, 0, 1]), want: 'FORMERR' },
    { label: 'a pointer in the question name', msg: raw({}, [0xc0, 12, 0, 1, 0, 1]), want: 'FORMERR' },
    { label: 'an extended label type (0x40)', msg: raw({}, [0x41, 0, 0, 1, 0, 1]), want: 'FORMERR' },
    { label: 'a 256-byte question name', msg: raw({}, [...Array(4).fill([63, ...Array(63).fill(0x61)]).flat(), 0, 0, 1, 0, 1]), want: 'FORMERR' },
    { label: 'an answer record overrunning the message', msg: raw({ an: 1 }, [...Q, ...A_RR.slice(0, 14)]), want: 'FORMERR' },
    { label: 'a forward compression pointer', msg: raw({ an: 1 }, [...Q, 0xc0, 40, ...A_RR.slice(2)]), want: 'FORMERR' },
    { label: 'two OPT records', msg: raw({ ar: 2 }, [...Q, ...OPT(), ...OPT()]), want: 'FORMERR' },
    { label: 'an OPT not owned by the root', msg: raw({ ar: 1 }, [...Q, 1, 0x61, ...OPT().slice(1)]), want: 'FORMERR' },
    { label: 'an OPT option overrunning its RDATA', msg: raw({ ar: 1 }, [...Q, ...OPT(1232, 0, [0, 10, 0, 9, 1])]), want: 'FORMERR' },
    { label: 'an unknown EDNS version', msg: raw({ ar: 1 }, [...Q, ...OPT(1232, 1)]), want: 'BADVERS' },
    { label: 'a plain query', msg: raw({}, Q), want: 'query' },
    { label: 'one answer, one authority, OPT and another record', msg: raw({ an: 1, ns: 1, ar: 2 }, [...Q, ...A_RR, ...A_RR, ...OPT(), ...A_RR]), want: 'query' },
    { label: 'trailing bytes after the records', msg: raw({}, [...Q, 1, 2, 3]), want: 'query' },
  ])('R2 $label → $want', ({ msg, want }) => {
    const got = acceptQuery(msg, 'udp');
    // dns-packet has no name for BADVERS: its header rcode is 0, the OPT carries the rest.
    if (want === 'BADVERS') {
      const d = decode((got as { bytes: Buffer }).bytes);
      expect(d.rcode).toBe('NOERROR');
      expect((d.additionals?.[0] as unknown as { extendedRcode: number }).extendedRcode).toBe(1);
      expect(d.flag_ra).toBe(false);
    } else {
      expect(rcodeOf(got)).toBe(want);
    }
  });

  it('R2 a 12-byte header claiming 65535 records is rejected in microseconds', () => {
    const msg = raw({ qd: 1, an: 65535, ns: 65535, ar: 65535 });
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) acceptQuery(msg, 'udp');
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('R2 FORMERR/NOTIMP replies: ID, opcode, RD, CD copied; RA=0, AA=0, TC=0; question echoed when parsable', () => {
    const notimp = acceptQuery(raw({ id: 7, b2: (4 << 3) | 0x01 | 0x02 | 0x04, b3: 0x90 }, Q), 'udp');
    const d = decode((notimp as { bytes: Buffer }).bytes);
    expect(d).toMatchObject({ id: 7, opcode: 'NOTIFY', rcode: 'NOTIMP', flag_qr: true, flag_rd: true, flag_cd: true });
    expect(d).toMatchObject({ flag_ra: false, flag_aa: false, flag_tc: false });
    expect(d.questions).toEqual([{ name: 'www', type: 'A', class: 'IN' }]);
    const formerr = decode((acceptQuery(raw({ qd: 2 }, [...Q, ...Q]), 'udp') as { bytes: Buffer }).bytes);
    expect(formerr).toMatchObject({ rcode: 'FORMERR', questions: [], answers: [], additionals: [] });
    const withQ = decode((acceptQuery(raw({ an: 2 }, Q), 'udp') as { bytes: Buffer }).bytes);
    expect(withQ.questions).toEqual([{ name: 'www', type: 'A', class: 'IN' }]);
  });

  it('R8 a NOTIMP or REFUSED reply to a query with a well-formed OPT carries our OPT; without one, or with a malformed one, none', () => {
    const optOf = (a: Accepted): unknown => decode((a as { bytes: Buffer }).bytes).additionals?.find((r) => r.type === 'OPT');
    const notify = acceptQuery(raw({ b2: 4 << 3, ar: 1 }, [...Q, ...OPT(4096)]), 'udp');
    expect(rcodeOf(notify)).toBe('NOTIMP');
    expect(optOf(notify)).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
    const padded = acceptQuery(raw({ ar: 1 }, [...Q, ...OPT(1232, 0, [0, 12, 0x07, 0xd0, ...Array.from({ length: 2000 }, () => 0)])]), 'udp');
    expect(rcodeOf(padded)).toBe('REFUSED');
    expect(optOf(padded)).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
    expect(optOf(acceptQuery(raw({ b2: 4 << 3 }, Q), 'udp'))).toBeUndefined();
    expect(optOf(acceptQuery(raw({ b2: 4 << 3, ar: 1 }, [...Q, 0, 0, 41, 4, 0]), 'udp'))).toBeUndefined(); // cut OPT
  });

  it.each([
    { transport: 'udp' as const, edns: undefined, max: 512 },
    { transport: 'udp' as const, edns: 100, max: 512 },
    { transport: 'udp' as const, edns: 1232, max: 1232 },
    { transport: 'udp' as const, edns: 4096, max: 4096 },
    { transport: 'udp' as const, edns: 65507, max: 65507 },
    { transport: 'udp' as const, edns: 65535, max: 65507 }, // an IPv4 datagram carries at most 65,507 bytes
    { transport: 'tcp' as const, edns: undefined, max: 65535 },
    { transport: 'tcp' as const, edns: 1232, max: 65535 },
  ])('R8 maxSize over $transport with EDNS $edns is $max', ({ transport, edns, max }) => {
    const q = acceptQuery(query('a.', 'A', edns === undefined ? {} : { edns }), transport) as Query;
    expect(q.maxSize).toBe(max);
    expect(q.edns?.udpSize).toBe(edns);
  });

  it('R3 the Query holds the name as asked, the lowercased name, type, class, flags, EDNS and raw bytes', () => {
    const bytes = query('NaMe1.Net.', 'AAAA', { id: 99, flags: 0x0110, edns: 4096, dnssecOk: true, qclass: 'CH' });
    const q = acceptQuery(bytes, 'tcp') as Query;
    expect(q).toMatchObject({ kind: 'query', id: 99, name: 'NaMe1.Net.', lname: 'name1.net', qtype: 28, qclass: 3 });
    expect(q).toMatchObject({ opcode: 0, rd: true, cd: true, transport: 'tcp', maxSize: 65535 });
    expect(q.edns).toEqual({ udpSize: 4096, version: 0, dnssecOk: true });
    expect(q.questionEnd).toBe(12 + 'NaMe1.Net.'.length + 1 + 4);
    expect(q.raw).toEqual(bytes.subarray(0, q.questionEnd));
  });

  it('FS5 the Query keeps a copy of the header and question only: the datagram\'s bytes may be reused at once', () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const bytes = query('Keep.Me.', 'A', { id: 7, edns: 1232 });
      const q = acceptQuery(bytes, transport) as Query;
      const question = Buffer.from(bytes.subarray(0, q.questionEnd));
      bytes.fill(0xee); // the listener's next read overwrites the receive area
      expect(q.raw).toEqual(question);
      expect(q.raw.length).toBe(q.questionEnd);
      expect(q.raw.buffer === bytes.buffer && q.raw.byteOffset < bytes.byteOffset + bytes.length && bytes.byteOffset < q.raw.byteOffset + q.raw.length).toBe(false);
    }
  });

  it('R3 odd label bytes are escaped, so they never match a registered name; the root is ""', () => {
    const odd = acceptQuery(raw({}, [3, 0x61, 0x2e, 0x00, 1, 0x42, 0, 0, 1, 0, 1]), 'udp') as Query;
    expect(odd.name).toBe('a\\.\\000.B.');
    expect(odd.lname).toBe('a\\.\\000.b');
    const root = acceptQuery(raw({}, [0, 0, 2, 0, 1]), 'udp') as Query;
    expect([root.name, root.lname, root.qtype]).toEqual(['.', '', 2]);
  });

  it('R2 never throws and always answers with QR=1 and the same ID, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (arr) => {
        const bytes = Buffer.from(arr);
        const got = acceptQuery(bytes, 'udp');
        if (got.kind === 'reply') {
          expect(got.bytes[2]! & 0x80).toBe(0x80);
          expect(got.bytes.readUInt16BE(0)).toBe(bytes.readUInt16BE(0));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('R2 mutations of a valid EDNS query never throw; accepted ones keep the bounds they claim', () => {
    const base = query('svc.net1.', 'A', { edns: 1232 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(base.length), (muts, cut) => {
        const bytes = Buffer.from(base.subarray(0, Math.max(cut, 12)));
        for (const [at, v] of muts) if (at < bytes.length) bytes[at] = v;
        const got = acceptQuery(bytes, 'udp');
        if (got.kind === 'query') expect(got.questionEnd).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 3000 },
    );
  });
});
