/**
 * FS5 cache-stage.ts coalescing bounds: followers per flight, per sandbox and
 * in bytes; past a bound a query is REFUSED at once; followers are released
 * when their flight lands, whatever it brought.
 */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { acceptQuery } from '../../../resolver/accept.js';
import { cacheStage, type CacheStageOptions } from '../../../resolver/cache-stage.js';
import { ResolverMetrics } from '../../../resolver/metrics.js';
import { errorReply, type Reply } from '../../../resolver/pipeline.js';
import type { Query } from '../../../resolver/query.js';
import { UpstreamSelector } from '../../../resolver/upstreams.js';
import { network, query, view } from './_helpers.js';

function q(name: string, id = 1): Query {
  const r = acceptQuery(query(name, 'A', { id }), 'udp');
  if (r.kind !== 'query') throw new Error('not accepted');
  return r;
}

function rig(bounds: Partial<CacheStageOptions> = {}) {
  const metrics = new ResolverMetrics('sb1');
  const v = view([network('net1')], { upstreams: [{ address: '192.0.2.53', port: 53, origin: 'host' }] });
  const stage = cacheStage({
    view: v, selector: new UpstreamSelector(3), cache: undefined, coalesce: true,
    maxFollowersPerFlight: 128, maxFollowers: 1024, maxFollowerBytes: 1 << 20, metrics, ...bounds,
  });
  const flights: ((r: Reply) => void)[] = [];
  const next = (x: Query): Promise<Reply> => new Promise<Reply>((res) => flights.push(res)).then((r) => (r.kind === 'built' ? errorReply(x, r.rcode) : r));
  const ask = (x: Query): Reply | Promise<Reply> => stage.stage(x, next);
  return { stage, metrics, flights, ask };
}

const rcodeOf = async (r: Reply | Promise<Reply>): Promise<number> => {
  const x = await r;
  return x.kind === 'drop' ? -1 : x.bytes[3]! & 0x0f;
};

describe('FS5 coalescing is bounded', () => {
  it('FS5 one flight takes at most maxFollowersPerFlight followers; the rest are REFUSED at once', async () => {
    const r = rig({ maxFollowersPerFlight: 10 });
    const all = Array.from({ length: 30 }, (_, i) => r.ask(q('same.example', i)));
    expect(r.flights).toHaveLength(1);
    expect(r.stage.followers.count).toBe(10);
    const refused = await Promise.all(all.slice(11).map(rcodeOf));
    expect(refused.every((c) => c === 5)).toBe(true);
    r.flights[0]!(errorReply(q('same.example'), 3));
    expect(await Promise.all(all.slice(0, 11).map(rcodeOf))).toEqual(Array(11).fill(3));
    expect(r.stage.followers).toEqual({ count: 0, bytes: 0 });
    expect(r.metrics.snapshot().forwarding).toMatchObject({ coalesced: 10, coalesce_refused: 19 });
  });

  it('FS5 followers of all flights together are bounded by count (then REFUSED) and by bytes (then sent on their own)', async () => {
    const byCount = rig({ maxFollowers: 5 });
    for (const name of ['a.example', 'b.example', 'c.example']) for (let i = 0; i < 4; i++) void byCount.ask(q(name, i));
    expect(byCount.flights).toHaveLength(3);
    expect(byCount.stage.followers.count).toBe(5);
    expect(byCount.metrics.snapshot().forwarding.coalesce_refused).toBe(4);

    // Each: header and question (31 bytes), 512 of overhead, and the 512-byte reply a client without EDNS can get.
    const byBytes = rig({ maxFollowerBytes: 3 * (31 + 512 + 512) });
    for (let i = 0; i < 10; i++) void byBytes.ask(q('bytes.example', i));
    expect(byBytes.stage.followers.count).toBe(3);
    expect(byBytes.stage.followers.bytes).toBe(3 * (31 + 512 + 512));
    // The other 6 went upstream on their own (each its own flight: the in-flight cap is what bounds them).
    expect(byBytes.flights).toHaveLength(1 + 6);
    expect(byBytes.metrics.snapshot().forwarding).toMatchObject({ coalesced: 3, coalesce_bypassed: 6 });
  });

  it('FS5 a follower accounts its header and question and the reply it can be sent, never a large datagram', () => {
    const r = rig();
    const padded = query('pad.example', 'A', { edns: 1232, ednsOptions: [{ code: 12, data: Buffer.alloc(1000) }] });
    const big = acceptQuery(padded, 'udp');
    if (big.kind !== 'query') throw new Error('not accepted');
    void r.ask(q('pad.example'));
    void r.ask(big);
    expect(r.stage.followers.bytes).toBe(big.questionEnd + 512 + 1232);
  });

  it('FS5 when a flight lands with a 60 KB reply, the followers\' copies stay within the byte bound: each cut to its own limit', async () => {
    const r = rig();
    const ask = (edns: number | undefined, id: number): Query => {
      const x = acceptQuery(query('big.example', 'A', { id, ...(edns === undefined ? {} : { edns }) }), 'udp');
      if (x.kind !== 'query') throw new Error('not accepted');
      return x;
    };
    const lead = r.ask(ask(undefined, 1));
    // Clients advertising 65,535 are charged 65,507 each: 15 fit in 1 MiB with their questions, the rest go on their own.
    const greedy = Array.from({ length: 20 }, (_, i) => r.ask(ask(65535, 100 + i)));
    const modest = Array.from({ length: 100 }, (_, i) => r.ask(ask(1232, 200 + i)));
    expect(r.stage.followers.bytes).toBeLessThanOrEqual(1 << 20);
    const alone = r.flights.length - 1;
    expect(alone).toBeGreaterThan(0);
    const answers = Array.from({ length: 2400 }, (_, i) => ({ type: 'A' as const, name: 'big.example', ttl: 60, data: `10.0.${i >> 8}.${i & 255}` }));
    const bytes = dnsPacket.encode({ type: 'response', id: 1, flags: 0x8180, questions: [{ type: 'A', name: 'big.example' }], answers });
    expect(bytes.length).toBeGreaterThan(60000);
    r.flights[0]!({ kind: 'relay', bytes, outcome: 'forwarded', owned: true });
    for (const f of r.flights.slice(1)) f(errorReply(ask(undefined, 9), 5)); // those on their own: answered REFUSED here
    const got = await Promise.all([...greedy, ...modest]);
    const sizes = got.filter((x) => x.kind !== 'drop' && (x.bytes[3]! & 0x0f) === 0).map((x) => (x.kind === 'drop' ? 0 : x.bytes.length));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 << 20);
    for (const x of got) {
      if (x.kind === 'drop' || (x.bytes[3]! & 0x0f) !== 0) continue;
      const d = dnsPacket.decode(x.bytes);
      expect(d.questions![0]!.name).toBe('big.example');
      if (d.id! >= 200) {
        // 1,232-byte clients: cut to their limit, TC set (one copy of ~1.2 KB, not of the 60 KB reply).
        expect([x.bytes.length <= 1232, d.flag_tc]).toEqual([true, true]);
      } else {
        expect([d.answers!.length, d.flag_tc]).toEqual([2400, false]); // 65,507-byte clients: the whole reply
      }
    }
    expect(got.filter((x) => x.kind !== 'drop' && (x.bytes[3]! & 0x0f) === 5)).toHaveLength(alone);
    await lead;
  });
});

describe('FS5 a flight is joined only by the same question on the same transport', () => {
  const accepted = (name: string, transport: 'udp' | 'tcp'): Query => {
    const r = acceptQuery(query(name, 'A', { id: 7 }), transport);
    if (r.kind !== 'query') throw new Error('not accepted');
    return r;
  };

  // Names are keys in presentation form: a printable separator could make one name's key another's TCP key.
  it.each([
    ['tcp', 'example.com', 'udp', 'tcp|example.com'],
    ['udp', 'tcp|example.com', 'tcp', 'example.com'],
    ['udp', 'example.com', 'tcp', 'example.com'],
    ['tcp', 'a|b.example', 'udp', 'tcp|a|b.example'],
  ] as const)('a %s query for %s in flight is not joined by a %s query for %s: each goes upstream', async (t1, n1, t2, n2) => {
    const r = rig();
    void r.ask(accepted(n1, t1));
    void r.ask(accepted(n2, t2));
    expect(r.flights).toHaveLength(2);
    expect(r.metrics.snapshot().forwarding.coalesced ?? 0).toBe(0);
  });

  it('the same question on the same transport joins, and gets its own question back', async () => {
    const r = rig();
    const lead = r.ask(accepted('Same.Example', 'tcp'));
    const follower = r.ask(accepted('sAME.eXAMPLE', 'tcp'));
    expect(r.flights).toHaveLength(1);
    r.flights[0]!(errorReply(accepted('Same.Example', 'tcp'), 3));
    const [a, b] = await Promise.all([lead, follower]);
    expect(a.kind !== 'drop' && a.bytes.toString('latin1')).toContain('Same');
    expect(b.kind !== 'drop' && b.bytes.toString('latin1')).toContain('sAME');
  });

  it('a follower gets its own case in the owners spelled out in full that are its name, not the leader\'s (FS6)', async () => {
    const r = rig();
    const leader = accepted('Same.Example', 'udp');
    const lead = r.ask(leader);
    const follower = r.ask(accepted('sAME.eXAMPLE', 'udp'));
    // The leader's reply as normalized for the leader: two A records and a CNAME elsewhere, owners written in full.
    const raw = dnsPacket.encode({
      type: 'response', id: 7, flags: 0x8180, questions: [{ type: 'A', name: 'Same.Example' }],
      answers: [
        { type: 'A', name: 'Same.Example', ttl: 60, data: '192.0.2.1' },
        { type: 'CNAME', name: 'other.example', ttl: 60, data: 'Same.Example' },
        { type: 'A', name: 'Same.Example', ttl: 60, data: '192.0.2.2' },
      ],
    });
    r.flights[0]!({ kind: 'relay', bytes: raw, outcome: 'forwarded', owned: true });
    const [a, b] = await Promise.all([lead, follower]);
    const names = (x: Reply): string[] => (x.kind === 'drop' ? [] : dnsPacket.decode(x.bytes).answers!.map((n) => n.name));
    expect(names(a)).toEqual(['Same.Example', 'other.example', 'Same.Example']);
    expect(names(b)).toEqual(['sAME.eXAMPLE', 'other.example', 'sAME.eXAMPLE']);
  });
});
