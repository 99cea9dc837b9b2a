/**
 * FS3, FS6 upstream-query.ts: the query we send upstream is ours (RFC 6891
 * §6.1.1 hop-by-hop EDNS, RFC 7873 §5.1): the client's question and flags,
 * our OPT, none of the client's options; 0x20 random case on letters only.
 */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { acceptQuery } from '../../../resolver/accept.js';
import type { Query } from '../../../resolver/query.js';
import { buildUpstreamQuery, echoesCase } from '../../../resolver/upstream-query.js';
import { query, type QueryOptions } from './_helpers.js';

function q(name: string, o: QueryOptions = {}, type: dnsPacket.RecordType = 'A'): Query {
  const r = acceptQuery(query(name, type, o), 'udp');
  if (r.kind !== 'query') throw new Error('not accepted');
  return r;
}

const COOKIE = { code: 10, data: Buffer.from('0123456789abcdef', 'hex') };

describe('FS6 the upstream query is built by us', () => {
  it.each([
    { what: 'COOKIE', options: [COOKIE] },
    { what: 'COOKIE + padding + ECS', options: [COOKIE, { code: 12, data: Buffer.alloc(200) }, { code: 8, data: Buffer.from([0, 1, 24, 0, 10, 0, 0]) }] },
  ])('FS6 the client OPT with $what is replaced by ours: size 1232, DO copied, no options', ({ options }) => {
    for (const dnssecOk of [false, true]) {
      const out = buildUpstreamQuery(q('example.com', { edns: 4096, dnssecOk, ednsOptions: options }), false);
      const d = dnsPacket.decode(out.bytes);
      expect(d.additionals).toHaveLength(1);
      const opt = d.additionals![0] as unknown as { type: string; udpPayloadSize: number; options: unknown[]; flags: number };
      expect(opt).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, options: [] });
      expect((opt.flags & dnsPacket.DNSSEC_OK) !== 0).toBe(dnssecOk);
      expect(out.bytes.length).toBe(out.questionEnd + 11);
    }
  });

  it('FS6 a client without EDNS gets an upstream query without EDNS; RD, CD and AD are copied, QR/AA/TC/RA never', () => {
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED | dnsPacket.AUTHENTIC_DATA;
    const out = buildUpstreamQuery(q('example.com', { flags }), false);
    const d = dnsPacket.decode(out.bytes);
    expect(d.additionals).toHaveLength(0);
    expect(out.bytes.length).toBe(out.questionEnd);
    expect(d.flag_rd && d.flag_cd && d.flag_ad).toBe(true);
    expect(d.flag_qr || d.flag_aa || d.flag_tc || d.flag_ra).toBe(false);
    const plain = dnsPacket.decode(buildUpstreamQuery(q('example.com', { flags: 0 }), false).bytes);
    expect(plain.flag_rd || plain.flag_cd || plain.flag_ad).toBe(false);
  });

  it('FS6 extra records a client may send (an answer, an authority) never go upstream', () => {
    const raw = dnsPacket.encode({
      type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: 'example.com', type: 'A', class: 'IN' }],
      answers: [{ type: 'A', name: 'evil.example', ttl: 60, data: '6.6.6.6' }],
    });
    const accepted = acceptQuery(raw, 'udp');
    if (accepted.kind !== 'query') throw new Error('not accepted');
    const d = dnsPacket.decode(buildUpstreamQuery(accepted, false).bytes);
    expect(d.answers).toHaveLength(0);
    expect(d.questions).toEqual([{ name: 'example.com', type: 'A', class: 'IN' }]);
  });
});

describe('FS3 0x20 random case', () => {
  it('FS3 letters get random case, each query anew; digits, hyphens, label lengths, type and class never change', () => {
    const name = 'a1-b2.example-0123.com';
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const out = buildUpstreamQuery(q(name, {}, 'AAAA'), true);
      expect(out.mixedCase).toBe(true);
      const d = dnsPacket.decode(out.bytes);
      const asked = d.questions![0]!;
      expect(asked.name.toLowerCase()).toBe(name);
      expect(asked.type).toBe('AAAA');
      expect(asked.name.replace(/[a-z]/gi, '')).toBe(name.replace(/[a-z]/g, ''));
      seen.add(asked.name);
    }
    expect(seen.size).toBeGreaterThan(40); // 15 letters: 2^15 spellings
  });

  it('FS3 a name without letters is not mixed (nothing to check); echoesCase compares byte for byte', () => {
    expect(buildUpstreamQuery(q('1.2.3.4.in-addr.arpa'), true).mixedCase).toBe(true);
    expect(buildUpstreamQuery(q('123.456'), true).mixedCase).toBe(false);
    const sent = buildUpstreamQuery(q('example.com'), true);
    const echo = Buffer.from(sent.bytes);
    echo[2] = 0x81;
    expect(echoesCase(echo, sent)).toBe(true);
    const lowered = Buffer.from(echo);
    for (let i = 12; i < sent.questionEnd - 4; i++) if (lowered[i]! >= 0x41 && lowered[i]! <= 0x5a) lowered[i] = lowered[i]! | 0x20;
    expect(echoesCase(lowered, sent)).toBe(lowered.equals(echo));
  });
});
