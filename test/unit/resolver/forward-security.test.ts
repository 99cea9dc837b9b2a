/**
 * FS3, FS6, FS7 forwarding end to end over loopback fake upstreams: 0x20 and
 * its per-server fallback, hop-by-hop EDNS (cookies), the client's question
 * on fresh replies, a slow server within the budget, hedged failover.
 * FAST timings: 300 ms per server, 1 s per query.
 */
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { createSharedCache } from '../../../resolver/index.js';
import { decode, query } from './_helpers.js';
import { aRecords, answersA, closeAll, dead, reply, startUpstream, type Behaviour, type Seen } from './_upstream.js';
import { forwardingRig } from './_upstream.js';

afterEach(closeAll);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hasUpper = (s: string): boolean => /[A-Z]/.test(s);

/** Reply with the question lowercased, as a server that does not echo case. */
const lowercasing: Behaviour = (q) => {
  const r = reply(q, { answers: aRecords(q) });
  for (let i = 12; i < r.length && r[i] !== 0; i++) if (r[i]! >= 0x41 && r[i]! <= 0x5a) r[i] = r[i]! | 0x20;
  return r;
};

describe('FS3 0x20 with a per-server fallback', () => {
  it('FS3 a server that echoes case gets every UDP query in random case; TCP goes as asked', async () => {
    const up = await startUpstream(answersA());
    const rig = forwardingRig([up.upstream()]);
    for (let i = 0; i < 10; i++) expect(decode(await rig.ask(query(`name${i}.example.org`))).rcode).toBe('NOERROR');
    expect(up.seen.filter((s) => hasUpper(s.asked!)).length).toBeGreaterThanOrEqual(9);
    await rig.ask(query('viatcp.example.org'), 'tcp');
    expect(up.seen.at(-1)!.asked).toBe('viatcp.example.org');
    expect(rig.metrics.snapshot().upstreamFailures).toEqual({});
  });

  it('FS3 a server that lowercases: each answer still arrives (retried without 0x20), and after 3 strikes it is asked plainly', async () => {
    const up = await startUpstream(lowercasing);
    const rig = forwardingRig([up.upstream()]);
    for (let i = 0; i < 6; i++) {
      const d = decode(await rig.ask(query(`Host${i}.Example.org`)));
      expect(d.rcode).toBe('NOERROR');
      expect(d.questions![0]!.name).toBe(`Host${i}.Example.org`); // the client's question, whatever the server did
    }
    // 3 queries × (0x20 try + plain retry), then 3 plain queries.
    expect(up.seen).toHaveLength(9);
    expect(up.seen.slice(6).every((s) => s.asked === s.asked!.toLowerCase() || s.asked!.startsWith('Host'))).toBe(true);
    expect(rig.metrics.snapshot().upstreamFailures).toEqual({ [`127.0.0.1:${up.port} case-mismatch`]: 3 });
  });

  it('FS3 a forged reply that matches ID and question but not case is not used as is; the real one wins', async () => {
    // The "server" first answers in the wrong case with a bogus address, then (on the plain retry) correctly.
    const forged: Behaviour = (q) => {
      const r = reply(q, { answers: [{ type: 'A', name: q.name, ttl: 3600, data: '6.6.6.6' }] });
      for (let i = 12; i < r.length && r[i] !== 0; i++) if (r[i]! >= 0x61 && r[i]! <= 0x7a) r[i] = r[i]! & ~0x20;
      return r;
    };
    const up = await startUpstream((q, n) => (n === 1 ? forged(q, n) : reply(q, { answers: aRecords(q) })));
    const rig = forwardingRig([up.upstream()]);
    const d = decode(await rig.ask(query('victim.example')));
    expect(d.answers?.[0]?.data).toBe('10.1.0.0');
  });
});

describe('FS6 EDNS is hop-by-hop', () => {
  it('FS6 RFC 7873: a client cookie never goes upstream; the upstream server cookie never reaches any client, fresh or cached', async () => {
    const serverCookie = Buffer.from('c1c1c1c1c1c1c1c1' + '5e5e5e5e5e5e5e5e', 'hex');
    const up = await startUpstream((q) => {
      const d = dnsPacket.decode(q.raw);
      return dnsPacket.encode({
        type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED,
        questions: d.questions!, answers: aRecords(q),
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0, options: [{ code: 10, data: serverCookie }] } as unknown as dnsPacket.Answer],
      });
    });
    const cache = createSharedCache();
    const a = forwardingRig([up.upstream()], { cache });
    const b = forwardingRig([up.upstream()], { cache, view: { id: 'sb2' } });
    const clientCookie = { code: 10, data: Buffer.from('0011223344556677', 'hex') };
    const first = await a.ask(query('cookie.example', 'A', { edns: 1232, ednsOptions: [clientCookie] }));
    const second = await b.ask(query('cookie.example', 'A', { edns: 1232, ednsOptions: [{ code: 10, data: Buffer.from('8899aabbccddeeff', 'hex') }] }));
    expect(up.seen).toHaveLength(1); // the second came from the shared cache
    expect(up.seen[0]!.raw.includes(clientCookie.data)).toBe(false);
    for (const out of [first!, second!]) {
      expect(out.includes(serverCookie)).toBe(false);
      const opt = decode(out).additionals;
      expect(opt).toHaveLength(1);
      expect(opt![0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, options: [] });
    }
  });

  it('FS6 R3 a fresh forwarded reply carries the question exactly as the client sent it, whatever case the upstream used', async () => {
    const up = await startUpstream(lowercasing);
    const rig = forwardingRig([up.upstream()]);
    for (const name of ['MiXeD.CaSe.Example', 'UPPER.EXAMPLE', 'lower.example']) {
      const out = await rig.ask(query(name), 'tcp');
      expect(decode(out).questions![0]!.name).toBe(name);
    }
  });
});

describe('FS7 a slow but working upstream', () => {
  const slow = (ms: number, behaviour: Behaviour = answersA()): Behaviour => async (q: Seen, n: number) => {
    await sleep(ms);
    return behaviour(q, n);
  };

  it('FS7 the only server answering after the per-server timeout (500 ms of 300) is used and its answer cached', async () => {
    const up = await startUpstream(slow(500));
    const rig = forwardingRig([up.upstream()]);
    const d = decode(await rig.ask(query('slow.example')));
    expect(d.rcode).toBe('NOERROR');
    expect(decode(await rig.ask(query('slow.example'))).rcode).toBe('NOERROR');
    expect(up.seen).toHaveLength(1);
    expect(rig.metrics.snapshot().outcomes.cached).toBe(1);
  });

  it('FS7 the budget still ends it: a server slower than the whole budget gives SERVFAIL at the budget', async () => {
    const up = await startUpstream(slow(1500));
    const rig = forwardingRig([up.upstream()]);
    const t0 = performance.now();
    expect(decode(await rig.ask(query('tooslow.example'))).rcode).toBe('SERVFAIL');
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(1400);
  });

  it('FS7 hedge: the first server silent past 300 ms, the second is asked too and answers; the first is not abandoned', async () => {
    const first = await startUpstream(slow(450, (q) => reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.1' }] })));
    const second = await startUpstream(dead);
    const rig = forwardingRig([first.upstream(), second.upstream()]);
    const t0 = performance.now();
    const d = decode(await rig.ask(query('hedge.example')));
    expect(d.answers?.[0]?.data).toBe('192.0.2.1'); // the late first answer still won
    expect(performance.now() - t0).toBeGreaterThan(400);
    expect(second.seen).toHaveLength(1); // asked at the per-server timeout
  });

  it('FS7 hedge: first good answer wins when the second server is the faster one', async () => {
    const first = await startUpstream(slow(800, (q) => reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.1' }] })));
    const second = await startUpstream((q) => reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.2' }] }));
    const rig = forwardingRig([first.upstream(), second.upstream()]);
    const t0 = performance.now();
    const d = decode(await rig.ask(query('race.example')));
    expect(d.answers?.[0]?.data).toBe('192.0.2.2');
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThan(280);
    expect(ms).toBeLessThan(700);
    expect(rig.metrics.snapshot().upstreamFailures).toEqual({ [`127.0.0.1:${first.port} timeout`]: 1 });
  });

  it('FS7 a failing server (SERVFAIL) moves on at once, without waiting for the per-server timeout', async () => {
    const first = await startUpstream((q) => reply(q, { rcode: 'SERVFAIL' }));
    const second = await startUpstream(answersA());
    const rig = forwardingRig([first.upstream(), second.upstream()]);
    const t0 = performance.now();
    expect(decode(await rig.ask(query('fail.example'))).rcode).toBe('NOERROR');
    expect(performance.now() - t0).toBeLessThan(250);
  });
});
