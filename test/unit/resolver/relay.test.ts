/**
 * FS6 relay.ts: upstream replies become ours before any client sees them:
 * the upstream's OPT (and its server cookie) gone, the client's question
 * exactly, our OPT per client, and every reply within the client's limit
 * with TC when an answer or authority record is cut (RFC 2181 §9).
 */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { acceptQuery } from '../../../resolver/accept.js';
import type { Query, Transport } from '../../../resolver/query.js';
import { finishRelay, normalizeReply } from '../../../resolver/relay.js';
import { decode, query, type QueryOptions } from './_helpers.js';

function q(name: string, o: QueryOptions = {}, transport: Transport = 'udp'): Query {
  const r = acceptQuery(query(name, 'A', o), transport);
  if (r.kind !== 'query') throw new Error('not accepted');
  return r;
}

const SERVER_COOKIE = { code: 10, data: Buffer.from('0123456789abcdef' + 'aabbccddeeff0011', 'hex') };

/** An upstream reply to `name` (the question as the upstream wrote it) with `n` A records. */
function upstreamReply(name: string, n: number, o: { opt?: boolean; extRcode?: number; after?: boolean; owner?: string } = {}): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (o.opt === true) {
    additionals.push({ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: o.extRcode ?? 0, flags: 0, options: [SERVER_COOKIE] } as unknown as dnsPacket.Answer);
  }
  if (o.after === true) additionals.push({ type: 'A', name: 'ns.example', ttl: 60, data: '192.0.2.53' });
  return dnsPacket.encode({
    type: 'response', id: 7, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name, type: 'A', class: 'IN' }],
    answers: Array.from({ length: n }, (_, i) => ({ type: 'A' as const, name: o.owner ?? name, ttl: 300, data: `10.0.${i >> 8}.${i & 255}` })),
    additionals,
  });
}

describe('FS6 normalizeReply', () => {
  it('FS6 RFC 7873: the upstream OPT with its server cookie is removed; records after it in Additional go too', () => {
    const n = normalizeReply(upstreamReply('example.com', 2, { opt: true, after: true }), q('example.com', { edns: 1232 }));
    expect(n.ok).toBe(true);
    if (!n.ok) return;
    const d = decode(n.bytes);
    expect(d.additionals).toHaveLength(0);
    expect(n.bytes.includes(SERVER_COOKIE.data)).toBe(false);
    expect(d.answers).toHaveLength(2);
  });

  it('FS6 R3 the question is the client\'s byte for byte, and so are owner names spelled out in full', () => {
    const client = q('WwW.ExAmPlE.CoM');
    const n = normalizeReply(upstreamReply('www.example.com', 3), client);
    expect(n.ok && n.bytes.subarray(12, client.questionEnd)).toEqual(client.raw.subarray(12, client.questionEnd));
    const d = decode(n.ok ? n.bytes : undefined);
    expect(d.answers!.map((a) => a.name)).toEqual(['WwW.ExAmPlE.CoM', 'WwW.ExAmPlE.CoM', 'WwW.ExAmPlE.CoM']);
    // A different owner (a CNAME chain's target, say) is left as the upstream wrote it.
    const other = normalizeReply(upstreamReply('www.example.com', 1, { owner: 'Cdn.Example.Net' }), client);
    expect(decode(other.ok ? other.bytes : undefined).answers![0]!.name).toBe('Cdn.Example.Net');
  });

  it('FS6 an extended rcode, an OPT outside Additional, a missing question or junk records cannot be used', () => {
    const client = q('example.com', { edns: 1232 });
    expect(normalizeReply(upstreamReply('example.com', 1, { opt: true, extRcode: 1 }), client)).toEqual({ ok: false, reason: 'extended-rcode' });
    const bare = Buffer.from([0, 7, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(normalizeReply(bare, client)).toEqual({ ok: false, reason: 'no-question' });
    const cut = upstreamReply('example.com', 3).subarray(0, 60);
    expect(normalizeReply(cut, client)).toEqual({ ok: false, reason: 'malformed' });
    const optInAnswer = upstreamReply('example.com', 1);
    optInAnswer.writeUInt16BE(41, client.questionEnd + 13); // the first answer (owner 'example.com', uncompressed) becomes an OPT
    expect(normalizeReply(optInAnswer, client)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('FS6 finishRelay: our OPT and the client\'s size limit', () => {
  const norm = (name: string, n: number, client: Query): Buffer => {
    const r = normalizeReply(upstreamReply(name, n), client);
    if (!r.ok) throw new Error(r.reason);
    return r.bytes;
  };

  it('FS6 an EDNS client gets our OPT (1232, no options, DO echoed); a plain one none', () => {
    const e = q('example.com', { edns: 4096, dnssecOk: true, ednsOptions: [{ code: 10, data: Buffer.alloc(8, 1) }] });
    const d = decode(finishRelay(norm('example.com', 1, e), e, true));
    expect(d.additionals).toHaveLength(1);
    expect(d.additionals![0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, options: [] });
    const p = q('example.com');
    const b = norm('example.com', 1, p);
    expect(finishRelay(b, p, true)).toBe(b); // nothing to add: handed back as is
    expect(decode(finishRelay(b, p, true)).additionals).toHaveLength(0);
  });

  it.each([
    { transport: 'udp' as const, edns: undefined, limit: 512 },
    { transport: 'udp' as const, edns: 1232, limit: 1232 },
    { transport: 'udp' as const, edns: 700, limit: 700 },
    { transport: 'udp' as const, edns: 100, limit: 512 },
    { transport: 'tcp' as const, edns: undefined, limit: 65535 },
  ])('FS6 $transport, EDNS $edns: the reply fits in $limit, whole records, TC when cut', ({ transport, edns, limit }) => {
    const client = q('example.com', edns === undefined ? {} : { edns }, transport);
    for (const n of [1, 20, 40, 80, 200]) {
      const out = finishRelay(norm('example.com', n, client), client, false);
      expect(out.length).toBeLessThanOrEqual(limit);
      const d = decode(out);
      const cut = d.answers!.length < n;
      expect(d.flag_tc).toBe(cut);
      // dns-packet writes owners in full: 27 bytes a record after a 29-byte header + question.
      expect(d.answers!.length).toBe(cut ? Math.floor((limit - 29 - (edns === undefined ? 0 : 11)) / 27) : n);
      expect(d.additionals!.length).toBe(edns === undefined ? 0 : 1);
    }
  });

  it('FS6 a reply near 64 KiB (one a TCP client had cached) to a UDP client advertising 65,535 is cut to a datagram that can be sent, with TC', () => {
    const client = q('example.com', { edns: 65535 }, 'udp');
    const out = finishRelay(norm('example.com', 2425, client), client, false); // 29 + 2,425 × 27 = 65,504 bytes before our OPT
    expect(out.length).toBeLessThanOrEqual(65507);
    const d = decode(out);
    expect(d.flag_tc).toBe(true);
    expect(d.answers!.length).toBe(Math.floor((65507 - 29 - 11) / 27));
  });

  it('FS6 a cut in Additional only is not TC (RFC 2181 §9); the upstream TC is kept', () => {
    const client = q('example.com');
    const extra = dnsPacket.encode({
      type: 'response', id: 7, flags: dnsPacket.RECURSION_AVAILABLE,
      questions: [{ name: 'example.com', type: 'A', class: 'IN' }],
      answers: [{ type: 'A', name: 'example.com', ttl: 60, data: '192.0.2.1' }],
      additionals: Array.from({ length: 40 }, (_, i) => ({ type: 'A' as const, name: `ns${i}.example.com`, ttl: 60, data: '192.0.2.2' })),
    });
    const n = normalizeReply(extra, client);
    const d = decode(finishRelay(n.ok ? n.bytes : Buffer.alloc(0), client, true));
    expect(d.flag_tc).toBe(false);
    expect(d.answers).toHaveLength(1);
    expect(d.additionals!.length).toBeLessThan(40);
    const tc = Buffer.from(upstreamReply('example.com', 1));
    tc[2] = tc[2]! | 0x02;
    const t = normalizeReply(tc, client);
    expect(decode(finishRelay(t.ok ? t.bytes : Buffer.alloc(0), client, true)).flag_tc).toBe(true);
  });
});
