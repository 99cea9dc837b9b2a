/**
 * R13 cache: TTLs, negative caching (RFC 2308), what is never cached,
 * coalescing, per-upstream-set keys, bounds, the off switch. The clock is
 * a FakeClock; upstreams are fake servers on loopback.
 */
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../common/clock.js';
import { createSharedCache, type SharedCache } from '../../../resolver/index.js';
import { analyzeReply } from '../../../resolver/cache.js';
import { decode, query } from './_helpers.js';
import { aRecord, aRecords, answersA, closeAll, forwardingRig, reply, rootSoa, startUpstream, type Behaviour } from './_upstream.js';

afterEach(closeAll);

function setup(behaviour: Behaviour, o: { clock?: FakeClock; cache?: SharedCache | false } = {}) {
  const clock = o.clock ?? new FakeClock(5_000_000);
  const cache = o.cache ?? createSharedCache({ clock });
  return startUpstream(behaviour).then((up) => ({ up, clock, cache, rig: forwardingRig([up.upstream()], { clock, cache }) }));
}

const soaMin60: Behaviour = (q) => reply(q, { rcode: 'NXDOMAIN', authorities: [rootSoa(86367, 60)] });

describe('R13 positive entries', () => {
  it('R13 a repeat is answered from the cache with TTLs lowered by the time spent there', async () => {
    const { up, clock, rig } = await setup(answersA(2, 300));
    expect(decode(await rig.ask(query('example.com'))).answers?.[0]?.ttl).toBe(300);
    clock.advance(10_400);
    const d = decode(await rig.ask(query('example.com', 'A', { id: 99 })));
    expect(d.id).toBe(99);
    expect(d.answers?.map((a) => a.ttl)).toEqual([290, 290]);
    expect(up.seen).toHaveLength(1);
    const s = rig.metrics.snapshot();
    expect(s.outcomes).toMatchObject({ forwarded: 1, cached: 1 });
    expect(s.forwarding).toMatchObject({ cache_hit: 1, cache_miss: 1 });
  });

  it('R13 an entry expires after the smallest answer TTL', async () => {
    const { up, clock, rig } = await setup((q) => reply(q, { answers: [...aRecords(q, 1, 300), aRecord(q.name, '10.9.9.9', 30)] }));
    await rig.ask(query('example.com'));
    clock.advance(29_999);
    expect(decode(await rig.ask(query('example.com'))).answers?.map((a) => a.ttl)).toEqual([1, 1]);
    clock.advance(1);
    await rig.ask(query('example.com'));
    expect(up.seen).toHaveLength(2);
  });

  it('R13 TTLs are capped at maxTtl (default 3600 s) in cached answers', async () => {
    const { up, clock, rig } = await setup(answersA(1, 86_400));
    expect(decode(await rig.ask(query('example.com'))).answers?.[0]?.ttl).toBe(86_400); // relayed verbatim
    expect(decode(await rig.ask(query('example.com'))).answers?.[0]?.ttl).toBe(3600);
    clock.advance(3_600_000);
    await rig.ask(query('example.com'));
    expect(up.seen).toHaveLength(2);
  });

  it('R13 a hit echoes the question as asked (R3) and is not authoritative', async () => {
    const { rig } = await setup((q) => {
      const r = reply(q, { answers: aRecords(q) });
      r[2] = r[2]! | 0x04;
      return r;
    });
    expect(decode(await rig.ask(query('example.com'))).flag_aa).toBe(true);
    const d = decode(await rig.ask(query('ExAmPlE.CoM')));
    expect(d.questions?.[0]?.name).toBe('ExAmPlE.CoM');
    // Owners spelled out in full (dns-packet writes them so) that are the question's name: this client's case too (FS6).
    expect(d.answers?.map((a) => a.name)).toEqual(d.answers?.map(() => 'ExAmPlE.CoM'));
    expect(d.flag_aa).toBe(false);
    expect(rig.metrics.snapshot().outcomes.cached).toBe(1);
  });

  it('R13 FS6 DO and CD are part of the key; EDNS presence is not (entries hold no OPT: ours is added per client)', async () => {
    const { up, rig } = await setup((q) => reply(q, { answers: aRecords(q), edns: dnsPacket.decode(q.raw).additionals?.length === 1 }));
    await rig.ask(query('example.com'));
    await rig.ask(query('example.com', 'A', { edns: 1232 }));
    await rig.ask(query('example.com', 'A', { edns: 1232, dnssecOk: true }));
    await rig.ask(query('example.com', 'A', { flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED }));
    expect(up.seen).toHaveLength(3);
    expect(decode(await rig.ask(query('example.com'))).additionals).toHaveLength(0); // no OPT to a non-EDNS client
    const opt = decode(await rig.ask(query('example.com', 'A', { edns: 4096 }))).additionals;
    expect(opt).toHaveLength(1);
    expect(opt?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
    expect(up.seen).toHaveLength(3);
  });
});

describe('R13 negative entries (RFC 2308)', () => {
  it('R13 NXDOMAIN is cached for min(SOA TTL, SOA MINIMUM); the SOA TTL decrements', async () => {
    const { up, clock, rig } = await setup(soaMin60);
    await rig.ask(query('nope.example'));
    clock.advance(59_000);
    const d = decode(await rig.ask(query('nope.example')));
    expect(d.rcode).toBe('NXDOMAIN');
    expect(d.authorities?.[0]?.ttl).toBe(1);
    expect(up.seen).toHaveLength(1);
    clock.advance(1_000);
    await rig.ask(query('nope.example'));
    expect(up.seen).toHaveLength(2);
  });

  it('R13 NODATA with an SOA is cached; negative replies without an SOA are not', async () => {
    const { up, rig } = await setup((q) => (q.name === 'nodata.example' ? reply(q, { authorities: [rootSoa(30, 300)] }) : reply(q, { rcode: 'NXDOMAIN' })));
    await rig.ask(query('nodata.example', 'AAAA'));
    expect(decode(await rig.ask(query('nodata.example', 'AAAA'))).authorities?.[0]?.ttl).toBe(30);
    await rig.ask(query('bare.example'));
    await rig.ask(query('bare.example'));
    expect(up.seen.map((s) => s.name)).toEqual(['nodata.example', 'bare.example', 'bare.example']);
  });

  it('R13 negative lifetimes are capped by maxNegativeTtl (default 900 s)', async () => {
    const clock = new FakeClock();
    const { up, rig } = await setup((q) => reply(q, { rcode: 'NXDOMAIN', authorities: [rootSoa(86_400, 86_400)] }), { clock });
    await rig.ask(query('nope.example'));
    expect(decode(await rig.ask(query('nope.example'))).authorities?.[0]?.ttl).toBe(900);
    clock.advance(900_000);
    await rig.ask(query('nope.example'));
    expect(up.seen).toHaveLength(2);
  });
});

describe('R13 never cached', () => {
  it('R13 SERVFAIL, REFUSED, FORMERR and TC replies are never cached', async () => {
    const { up, rig } = await setup((q) => {
      if (q.name === 'tc.example') return reply(q, { tc: true, answers: aRecords(q) });
      return reply(q, { rcode: q.name === 'sf.example' ? 'SERVFAIL' : q.name === 'ref.example' ? 'REFUSED' : 'FORMERR' });
    });
    for (const name of ['sf.example', 'ref.example', 'fe.example', 'tc.example']) {
      await rig.ask(query(name));
      await rig.ask(query(name));
    }
    expect(up.seen).toHaveLength(8);
    expect(rig.metrics.snapshot().outcomes.cached).toBe(0);
  });

  it('R13 FS6 a cached reply larger than a UDP client may take is served cut to its limit with TC (the client retries over TCP)', async () => {
    const { up, rig } = await setup((q) => (q.transport === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: aRecords(q, 60) })));
    expect(decode(await rig.ask(query('big.example'), 'tcp')).answers).toHaveLength(60);
    expect(decode(await rig.ask(query('big.example'), 'tcp')).answers).toHaveLength(60);
    const cut = await rig.ask(query('big.example'), 'udp');
    expect(cut!.length).toBeLessThanOrEqual(512);
    expect(decode(cut).flag_tc).toBe(true);
    const edns = await rig.ask(query('big.example', 'A', { edns: 700 }), 'udp');
    expect(edns!.length).toBeLessThanOrEqual(700);
    expect(decode(edns).flag_tc).toBe(true);
    expect(up.seen.map((s) => s.transport)).toEqual(['tcp']);
    expect(rig.metrics.snapshot().forwarding.cache_truncated).toBe(2);
  });

  it('R13 analyzeReply never throws and never caches what does not parse (fast-check)', () => {
    const base = reply({ transport: 'udp', id: 1, name: 'example.com', type: 'A', raw: query('example.com') }, { answers: [], authorities: [rootSoa()] });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(base.length), fc.nat(255)), { maxLength: 8 }), (junk, edits) => {
        expect(() => analyzeReply(Buffer.from(junk), 3600, 900)).not.toThrow();
        const m = Buffer.from(base);
        for (const [at, v] of edits) if (at < m.length) m[at] = v;
        const shape = analyzeReply(m, 3600, 900);
        if (shape !== undefined) expect(shape.ttl).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('R13 the OPT record TTL field is not a TTL; a TTL with the top bit set counts as 0 (RFC 2181 §8)', () => {
    const q = { transport: 'udp' as const, id: 1, name: 'example.com', type: 'A', raw: query('example.com') };
    const r = reply(q, { answers: aRecords(q, 1, 60), edns: true });
    const shape = analyzeReply(r, 3600, 900)!;
    expect(shape.ttl).toBe(60);
    expect(shape.ttlOffsets).toHaveLength(1);
    const big = reply(q, { answers: aRecords(q, 1, 60) });
    big.writeUInt32BE(0x80000000, shape.ttlOffsets[0]!);
    expect(analyzeReply(big, 3600, 900)).toBeUndefined();
  });
});

describe('R13 coalescing, sharing, bounds, off', () => {
  it('R13 N identical concurrent queries → 1 upstream request; each client gets its own ID', async () => {
    const slow: Behaviour = (q) => new Promise((res) => setTimeout(() => res(reply(q, { answers: aRecords(q) })), 60));
    const { up, rig } = await setup(slow);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => rig.ask(query('same.example', 'A', { id: 1000 + i }))));
    expect(up.seen).toHaveLength(1);
    expect(replies.map((r) => decode(r).id)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
    expect(replies.every((r) => decode(r).answers?.length === 1)).toBe(true);
    expect(rig.metrics.snapshot().forwarding.coalesced).toBe(49);
  });

  it('R13 coalescing works with the cache off, and not across transports', async () => {
    const slow: Behaviour = (q) => new Promise((res) => setTimeout(() => res(reply(q, { answers: aRecords(q) })), 60));
    const { up, rig } = await setup(slow, { cache: false });
    await Promise.all([rig.ask(query('x.example')), rig.ask(query('x.example')), rig.ask(query('x.example'), 'tcp')]);
    expect(up.seen.map((s) => s.transport).sort()).toEqual(['tcp', 'udp']);
    await rig.ask(query('x.example'));
    expect(up.seen).toHaveLength(3); // off: nothing kept once answered
  });

  it('R13 sandboxes with the same host upstreams share entries; different sets never do', async () => {
    const clock = new FakeClock();
    const cache = createSharedCache({ clock });
    const x = await startUpstream(answersA(1));
    const y = await startUpstream(answersA(2));
    const a = forwardingRig([x.upstream()], { clock, cache, view: { id: 'sbA' } });
    const b = forwardingRig([x.upstream()], { clock, cache, view: { id: 'sbB' } });
    const c = forwardingRig([y.upstream()], { clock, cache, view: { id: 'sbC' } });
    const d = forwardingRig([y.upstream(), x.upstream()], { clock, cache, view: { id: 'sbD' } });
    await a.ask(query('shared.example'));
    expect(decode(await b.ask(query('shared.example'))).answers).toHaveLength(1);
    expect(decode(await c.ask(query('shared.example'))).answers).toHaveLength(2);
    await d.ask(query('shared.example'));
    expect([x.seen.length, y.seen.length]).toEqual([1, 2]);
    expect(b.metrics.snapshot().outcomes.cached).toBe(1);
  });

  it('R13 sandbox-origin servers are keyed by sandbox: the same address is another server in each namespace', async () => {
    const clock = new FakeClock();
    const cache = createSharedCache({ clock });
    const s = await startUpstream(answersA());
    const { hostDialer } = await import('../../../resolver/io/dialer.js');
    const dialers = { host: hostDialer, sandbox: hostDialer };
    await forwardingRig([s.upstream('sandbox')], { clock, cache, dialers, view: { id: 'sbA' } }).ask(query('n.example'));
    await forwardingRig([s.upstream('sandbox')], { clock, cache, dialers, view: { id: 'sbB' } }).ask(query('n.example'));
    expect(s.seen).toHaveLength(2);
  });

  it('R13 the off switch: every query goes upstream', async () => {
    const { up, rig } = await setup(answersA(), { cache: false });
    await rig.ask(query('example.com'));
    await rig.ask(query('example.com'));
    expect(up.seen).toHaveLength(2);
    expect(rig.metrics.snapshot().forwarding.cache_miss).toBe(0);
  });

  it('R13 entry and byte bounds evict the least recently used', async () => {
    const clock = new FakeClock();
    const byCount = createSharedCache({ clock, maxEntries: 2 });
    const { up, rig } = await setup(answersA(), { clock, cache: byCount });
    for (const n of ['a', 'b', 'a', 'c']) await rig.ask(query(`${n}.example`)); // c evicts b (a was used)
    expect(byCount.stats.entries).toBe(2);
    await rig.ask(query('a.example'));
    await rig.ask(query('b.example'));
    expect(up.seen.map((s) => s.name)).toEqual(['a.example', 'b.example', 'c.example', 'b.example']);

    const byBytes = createSharedCache({ clock, maxBytes: 2000 });
    const big = await setup(answersA(20), { clock, cache: byBytes });
    for (let i = 0; i < 10; i++) await big.rig.ask(query(`n${i}.example`));
    expect(byBytes.stats.bytes).toBeLessThanOrEqual(2000);
    expect(byBytes.stats.entries).toBeGreaterThan(0);
    expect(byBytes.stats.entries).toBeLessThan(10);
  });

  it('R13 bad cache bounds are rejected with ERR_INVALID_OPTION', () => {
    expect(() => createSharedCache({ maxEntries: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => createSharedCache({ maxTtl: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
