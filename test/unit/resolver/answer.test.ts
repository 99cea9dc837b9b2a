import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/log.js';
import { createResolver, type EndpointRecord, type ResolverView } from '../../../resolver/index.js';
import { RCODE } from '../../../resolver/constants.js';
import { buildErrorReply } from '../../../resolver/answer.js';
import { acceptQuery } from '../../../resolver/accept.js';
import type { Query } from '../../../resolver/query.js';
import { answerData, decode, network, query, sinkLogger, view, type QueryOptions } from './_helpers.js';

// 60 endpoints sharing the alias `pool`: 60 A (16 B each) and 60 AAAA (28 B each).
const POOL: EndpointRecord[] = Array.from({ length: 60 }, (_, i) => ({
  endpointId: `p${i}`,
  names: [`p${i}`, 'pool'],
  ipv4: `10.0.1.${i + 1}`,
  ipv6: `fd00::${(i + 1).toString(16)}`,
}));
const v = view([network('net1', [...POOL, { endpointId: 'w', names: ['web'], ipv4: '10.0.0.2' }], 30)]);
const resolver = createResolver({ view: v, logger: silentLogger() });

function handle(name: string, type: Parameters<typeof query>[1] = 'A', o: QueryOptions = {}, transport: 'udp' | 'tcp' = 'udp'): Buffer {
  return resolver.handle(query(name, type, o), transport) as Buffer;
}

describe('reply building (R5, R8)', () => {
  it.each([
    { flags: 0x0100, rd: true, cd: false },
    { flags: 0x0000, rd: false, cd: false },
    { flags: 0x0110, rd: true, cd: true },
    { flags: 0x0010, rd: false, cd: true },
  ])('R5 local answers: QR=1 RA=1 AA=0, RD=$rd and CD=$cd echoed, ID kept', ({ flags, rd, cd }) => {
    const d = decode(handle('web', 'A', { id: 4321, flags }));
    expect(d).toMatchObject({ id: 4321, opcode: 'QUERY', rcode: 'NOERROR', flag_qr: true, flag_ra: true, flag_aa: false });
    expect([d.flag_rd, d.flag_cd, d.flag_tc]).toEqual([rd, cd, false]);
  });

  it('R3 the question section is echoed byte for byte', () => {
    const q = query('WeB.', 'A');
    const out = resolver.handle(q, 'udp') as Buffer;
    expect(out.subarray(12, q.length)).toEqual(q.subarray(12));
    expect(out.readUInt16BE(4)).toBe(1);
  });

  it('R5 TTL comes from the network (here 30 s)', () => {
    expect(decode(handle('web')).answers?.map((a) => a.ttl)).toEqual([30]);
  });

  it('R5 all addresses are returned, in a fresh random order per query', () => {
    const orders = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const d = decode(handle('pool', 'A', {}, 'tcp'));
      const data = (d.answers ?? []).map((a) => String(a.data));
      expect([...data].sort()).toEqual(POOL.map((p) => p.ipv4).sort());
      orders.add(data.join());
    }
    expect(orders.size).toBeGreaterThan(30);
  });

  it('R8 R5 answers are name-compressed: every answer owner points at the question name', () => {
    const out = handle('pool', 'A', {}, 'tcp');
    const qEnd = 12 + 'pool'.length + 2 + 4;
    for (let i = 0; i < 60; i++) expect(out.readUInt16BE(qEnd + i * 16)).toBe(0xc00c);
    expect(out.length).toBe(qEnd + 60 * 16);
  });

  it.each([
    { label: 'UDP, no EDNS', o: {}, transport: 'udp', max: 512, tc: true, opt: false },
    { label: 'UDP, EDNS 512', o: { edns: 512 }, transport: 'udp', max: 512, tc: true, opt: true },
    { label: 'UDP, EDNS 1000', o: { edns: 1000 }, transport: 'udp', max: 1000, tc: true, opt: true },
    { label: 'UDP, EDNS 4096', o: { edns: 4096 }, transport: 'udp', max: 4096, tc: false, opt: true },
    { label: 'TCP, no EDNS', o: {}, transport: 'tcp', max: 65535, tc: false, opt: false },
  ] as const)('R8 AAAA of 60 shared-alias peers over $label: ≤ $max bytes, TC=$tc, whole records', ({ o, transport, max, tc, opt }) => {
    const out = handle('pool', 'AAAA', o, transport);
    const d = decode(out);
    expect(out.length).toBeLessThanOrEqual(max);
    expect(d.flag_tc).toBe(tc);
    const n = d.answers?.length ?? 0;
    if (tc) {
      // The longest run of whole 28-byte records that fits with the optional OPT.
      const base = 12 + 'pool'.length + 2 + 4 + (opt ? 11 : 0);
      expect(n).toBe(Math.floor((max - base) / 28));
    } else {
      expect(n).toBe(60);
    }
    for (const a of d.answers ?? []) expect(a).toMatchObject({ type: 'AAAA', name: 'pool', ttl: 30 });
    expect((d.additionals ?? []).map((a) => a.type)).toEqual(opt ? ['OPT'] : []);
  });

  it('R8 ANY: A records fill a 512-byte UDP reply, the single AAAA after them is cut too, TC set', () => {
    const many: EndpointRecord[] = Array.from({ length: 40 }, (_, i) => ({ endpointId: `m${i}`, names: ['mixed'], ipv4: `10.0.2.${i + 1}` }));
    const r = createResolver({ view: view([network('net1', [...many, { endpointId: 's', names: ['mixed'], ipv6: 'fd00::99' }])]), logger: silentLogger() });
    const out = r.handle(query('mixed', 255), 'udp') as Buffer;
    const d = decode(out);
    expect(out.length).toBeLessThanOrEqual(512);
    expect(d.flag_tc).toBe(true);
    expect(d.answers?.every((a) => a.type === 'A')).toBe(true);
    expect(d.answers).toHaveLength(Math.floor((512 - (12 + 'mixed'.length + 2 + 4)) / 16));
    const tcp = decode(r.handle(query('mixed', 255), 'tcp') as Buffer);
    expect(tcp.answers?.map((a) => a.type).sort()).toEqual([...Array(40).fill('A'), 'AAAA']);
  });

  it('R8 a query with OPT gets our OPT (size 1232, version 0, DO echoed); one without gets none', () => {
    const withDo = decode(handle('web', 'A', { edns: 4096, dnssecOk: true }));
    expect(withDo.additionals).toMatchObject([{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 0, flag_do: true }]);
    const noDo = decode(handle('web', 'AAAA', { edns: 1232 }));
    expect(noDo.additionals).toMatchObject([{ type: 'OPT', udpPayloadSize: 1232, flag_do: false }]);
    expect(decode(handle('web')).additionals).toEqual([]);
  });

  it('R8 BADVERS: an EDNS version we do not implement gets extended rcode 16 in our OPT', () => {
    const d = decode(handle('web', 'A', { edns: 1232, ednsVersion: 1 }));
    expect(d.answers).toEqual([]);
    expect(d.additionals).toMatchObject([{ type: 'OPT', extendedRcode: 1, ednsVersion: 0 }]);
    expect(d.questions?.[0]?.name).toBe('web');
    expect(resolver.metrics.snapshot().rcodes.BADVERS).toBeGreaterThan(0);
  });

  it('R8 TestInvalidReverseDNS: a PTR target that cannot be encoded (64-byte label) is SERVFAIL, warned once', () => {
    const long = 'sixtyfourcharslong9012345678901234567890123456789012345678901234';
    expect(long).toHaveLength(64);
    const { logger, lines } = sinkLogger('warn');
    const bad = createResolver({ view: view([network('net1', [{ endpointId: 'e', names: [long], ipv4: '1.2.3.4' }])]), logger });
    const d = decode(bad.handle(query('4.3.2.1.in-addr.arpa.', 'PTR'), 'udp') as Buffer);
    expect([d.rcode, d.flag_ra, d.answers?.length]).toEqual(['SERVFAIL', false, 0]);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect((lines[0]?.err as { code?: string }).code).toBe('ERR_RESOLVER_ENCODE');
  });

  it('R8 SRV Additional owners are compression pointers into the SRV target names', () => {
    const srvView: ResolverView = view([
      network('net1', [{ endpointId: 'w', names: ['web'], ipv4: '10.0.0.2', ipv6: 'fd00::2', ports: [{ port: 80, proto: 'tcp' }] }]),
    ]);
    const r = createResolver({ view: srvView, logger: silentLogger() });
    const out = r.handle(query('_80._tcp.web', 'SRV'), 'udp') as Buffer;
    const d = decode(out);
    expect(d.additionals?.map((a) => [a.name, a.type])).toEqual([['web.net1', 'A'], ['web.net1', 'AAAA']]);
    const targetAt = out.indexOf(Buffer.from([3, ...Buffer.from('web'), 4, ...Buffer.from('net1'), 0]));
    expect(targetAt).toBeGreaterThan(0);
    const additionalAt = out.length - (2 + 10 + 4) - (2 + 10 + 16);
    expect(out.readUInt16BE(additionalAt)).toBe(0xc000 | targetAt);
  });

  it('R8 SRV Additional owners past 16 KiB (a compression pointer holds 14 bits) are written in full, never a wrapped pointer', () => {
    const eps = Array.from({ length: 700 }, (_, i) => ({ endpointId: `w${i}`, names: [`web${i}`, 'web'], ipv4: `10.0.${i >> 8}.${i & 255}`, ports: [{ port: 80, proto: 'tcp' as const }] }));
    const r = createResolver({ view: view([network('net1', eps)]), logger: silentLogger() });
    const out = r.handle(query('_80._tcp.web', 'SRV'), 'tcp') as Buffer;
    expect(out.length).toBeGreaterThan(0x4000);
    const d = decode(out);
    const targets = new Set((d.answers ?? []).map((a) => (a.data as { target: string }).target));
    expect(d.additionals?.length).toBeGreaterThan(200);
    for (const a of d.additionals ?? []) expect(targets.has(a.name), a.name).toBe(true);
    // And every address is its own target's: web<i>.net1 → 10.0.(i>>8).(i&255).
    for (const a of d.additionals ?? []) {
      const i = Number(/^web(\d+)\.net1$/.exec(a.name)?.[1]);
      expect(a.data, a.name).toBe(`10.0.${i >> 8}.${i & 255}`);
    }
  });

  it('R5 error replies: RA=0, RD/CD echoed, question echoed, our OPT when the query had one', () => {
    const q = acceptQuery(query('x.example', 'A', { flags: 0x0110, edns: 1232, id: 77 }), 'udp') as Query;
    const d = decode(buildErrorReply(q, RCODE.REFUSED));
    expect(d).toMatchObject({ id: 77, rcode: 'REFUSED', flag_qr: true, flag_ra: false, flag_rd: true, flag_cd: true });
    expect(d.questions).toEqual([{ name: 'x.example', type: 'A', class: 'IN' }]);
    expect(d.additionals).toMatchObject([{ type: 'OPT', udpPayloadSize: 1232 }]);
    expect(answerData(d)).toEqual([]);
  });
});
