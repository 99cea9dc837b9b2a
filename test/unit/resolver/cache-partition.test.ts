/**
 * FS4 cache.ts partitions: a tenant (a sandbox's network set) can neither
 * read, fill nor evict another tenant's entries; the global bounds hold and
 * eviction is max-min fair (the largest partition loses its LRU entry).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../common/clock.js';
import { acceptQuery } from '../../../resolver/accept.js';
import { partitionOf } from '../../../resolver/cache-stage.js';
import { createSharedCache } from '../../../resolver/index.js';
import { decode, network, query } from './_helpers.js';
import { answersA, closeAll, reply, startUpstream } from './_upstream.js';
import { forwardingRig } from './_upstream.js';

afterEach(closeAll);

function replyFor(name: string): Buffer {
  const raw = query(name);
  return reply({ transport: 'udp', id: 1, name, type: 'A', raw }, { answers: [{ type: 'A', name, ttl: 300, data: '192.0.2.1' }] });
}

describe('FS4 SharedCache partitions', () => {
  it('FS4 an entry is visible only in the partition that stored it', () => {
    const cache = createSharedCache({ clock: new FakeClock() });
    expect(cache.store('netA', 'k', replyFor('x.example'))).toBe(true);
    expect(cache.lookup('netA', 'k')).toBeDefined();
    expect(cache.lookup('netB', 'k')).toBeUndefined();
    expect(cache.stats).toMatchObject({ entries: 1, partitions: 1 });
  });

  it.each([
    { bound: 'entries', opts: { maxEntries: 100 } as { maxEntries?: number; maxBytes?: number } },
    { bound: 'bytes', opts: { maxBytes: 100 * 600 } as { maxEntries?: number; maxBytes?: number } }, // ~100 small entries (~520 bytes accounted each)
  ])('FS4 a flood of 10,000 names in one partition never evicts another partition within its fair share ($bound bound)', ({ opts }) => {
    const cache = createSharedCache({ clock: new FakeClock(), ...opts });
    for (let i = 0; i < 20; i++) cache.store('victim', `v${i}`, replyFor(`v${i}.example`));
    for (let i = 0; i < 10_000; i++) cache.store('attacker', `a${i}`, replyFor(`a${i}.example`));
    for (let i = 0; i < 20; i++) expect(cache.lookup('victim', `v${i}`), `v${i}`).toBeDefined();
    expect(cache.stats.entries).toBeLessThanOrEqual(opts.maxEntries ?? Number.POSITIVE_INFINITY);
    expect(cache.stats.bytes).toBeLessThanOrEqual(opts.maxBytes ?? Number.POSITIVE_INFINITY);
    expect(cache.partitionStats('attacker').entries).toBeGreaterThan(0); // it still caches, within what is left
  });

  it('FS4 max-min fairness: a partition over its share loses entries to a newcomer, down to an even split', () => {
    const cache = createSharedCache({ clock: new FakeClock(), maxEntries: 100 });
    for (let i = 0; i < 100; i++) cache.store('first', `f${i}`, replyFor(`f${i}.example`));
    for (let i = 0; i < 100; i++) cache.store('second', `s${i}`, replyFor(`s${i}.example`));
    expect(cache.partitionStats('first').entries).toBe(50);
    expect(cache.partitionStats('second').entries).toBe(50);
    expect(cache.lookup('first', 'f99')).toBeDefined(); // the least recently used went first
    expect(cache.lookup('first', 'f0')).toBeUndefined();
  });

  it('FS4 partitionOf: the network set, in any order; a sandbox on no network is alone', () => {
    const a = { id: 'a', networks: [network('front'), network('back')] };
    const b = { id: 'b', networks: [network('back'), network('front')] };
    expect(partitionOf(a)).toBe(partitionOf(b));
    expect(partitionOf({ id: 'a', networks: [network('front')] })).not.toBe(partitionOf(a));
    expect(partitionOf({ id: 'x', networks: [] })).not.toBe(partitionOf({ id: 'y', networks: [] }));
  });

  it('FS4 partitionOf: no two network sets, and no set and a lone sandbox, share a partition, whatever the names', () => {
    const sets: { id: string; names: string[] }[] = [
      { id: 'web1', names: [] }, { id: 's', names: ['sandbox', 'web1'] }, { id: 's', names: ['sandbox\u0000web1'] },
      { id: 's', names: ['ab', 'c'] }, { id: 's', names: ['a', 'bc'] }, { id: 's', names: ['abc'] },
      { id: 's', names: ['1:a'] }, { id: 's', names: ['1', 'a'] }, { id: 's', names: ['=x'] }, { id: 'x', names: [] },
      { id: '2:ab', names: [] }, { id: 's', names: ['ab'] },
    ];
    const seen = new Map<string, string>();
    for (const { id, names } of sets) {
      const p = partitionOf({ id, networks: names.map((n) => network(n)) });
      expect(seen.get(p), `${id} ${JSON.stringify(names)}`).toBeUndefined();
      seen.set(p, `${id} ${JSON.stringify(names)}`);
    }
  });
});

describe('FS4 sandboxes sharing one cache', () => {
  it('FS4 same upstreams, another network: nothing shared (the issue\'s poisoned entry could not cross); same network: shared', async () => {
    const clock = new FakeClock();
    const cache = createSharedCache({ clock });
    const up = await startUpstream(answersA());
    const a = forwardingRig([up.upstream()], { clock, cache, view: { id: 'sbA', networks: [network('tenant1')] } });
    const b = forwardingRig([up.upstream()], { clock, cache, view: { id: 'sbB', networks: [network('tenant2')] } });
    const a2 = forwardingRig([up.upstream()], { clock, cache, view: { id: 'sbA2', networks: [network('tenant1')] } });
    await a.ask(query('shared.example'));
    await b.ask(query('shared.example'));
    expect(up.seen).toHaveLength(2);
    await a2.ask(query('shared.example'));
    expect(up.seen).toHaveLength(2);
    expect(a2.metrics.snapshot().outcomes.cached).toBe(1);
  });

  it('FS4 a sandbox asking 3,000 distinct names does not evict another network\'s entry', { timeout: 60_000 }, async () => {
    const clock = new FakeClock();
    const cache = createSharedCache({ clock, maxEntries: 500 });
    const up = await startUpstream(answersA());
    const victim = forwardingRig([up.upstream()], { clock, cache, view: { id: 'v', networks: [network('victims')] } });
    const attacker = forwardingRig([up.upstream()], { clock, cache, view: { id: 'x', networks: [network('attackers')] }, options: { maxInFlight: 4096 } });
    await victim.ask(query('bank.example'));
    for (let i = 0; i < 3000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => attacker.ask(query(`n${i + j}.flood.example`))));
    const before = up.seen.length;
    expect(decode(await victim.ask(query('bank.example'))).rcode).toBe('NOERROR');
    expect(up.seen.length).toBe(before); // still cached
    expect(cache.stats.entries).toBeLessThanOrEqual(500);
  });
});

describe('FS5 accepted queries keep only what a reply needs', () => {
  it('FS5 a query over 1232 bytes is REFUSED with its question; one of 1232 is accepted', () => {
    const padded = (size: number): Buffer => {
      const base = query('pad.example', 'A', { edns: 1232, ednsOptions: [{ code: 12, data: Buffer.alloc(0) }] });
      return query('pad.example', 'A', { edns: 1232, ednsOptions: [{ code: 12, data: Buffer.alloc(size - base.length) }] });
    };
    const big = acceptQuery(padded(1233), 'udp');
    expect(big.kind).toBe('reply');
    if (big.kind === 'reply') {
      expect(big.rcode).toBe(5);
      expect(decode(big.bytes).questions![0]!.name).toBe('pad.example');
    }
    const ok = acceptQuery(padded(1232), 'udp');
    expect(ok.kind).toBe('query');
    // The accepted query holds its header and question only, not the 1,232 bytes it came in.
    if (ok.kind === 'query') expect(ok.raw.length).toBe(ok.questionEnd);
  });
});
