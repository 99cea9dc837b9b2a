import { describe, expect, it } from 'vitest';
import { decodeJournal, encodeEntry, epKey, netKey, replayJournal, sbKey, type JournalOp } from '../../../store/journal.js';
import type { PersistedEndpoint, PersistedNetwork, PersistedState } from '../../../store/document.js';

const net = (id: string): PersistedNetwork => ({
  id, name: `n-${id}`, driver: 'bridge', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: false, ttl: 600, driverOptions: {}, phase: 'live',
});
const ep = (id: string, network: string): PersistedEndpoint => ({
  id, name: `e-${id}`, network, aliases: [], ipv4: '10.9.0.2', ports: [], links: {}, disableResolution: false,
});
const base: PersistedState = { networks: [net('a')], endpoints: [ep('x', 'a')], sandboxes: [] };

describe('state journal', () => {
  it('L3 a commit is one line that round-trips', () => {
    const ops: JournalOp[] = [{ key: netKey('b'), put: net('b') }, { key: epKey('x'), del: true }];
    const line = encodeEntry(7, ops);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(decodeJournal(line)).toEqual({ entries: [{ seq: 7, ops }], torn: false });
  });

  it('L3 every torn prefix of the last line is dropped, earlier lines kept', () => {
    const first = encodeEntry(1, [{ key: netKey('b'), put: net('b') }]);
    const second = encodeEntry(2, [{ key: epKey('x'), del: true }]);
    for (let cut = 1; cut < second.length - 1; cut++) {
      const r = decodeJournal(first + second.slice(0, cut));
      expect(r.entries.map((e) => e.seq)).toEqual([1]);
      expect(r.torn).toBe(true);
    }
  });

  it('L3 a line whose checksum does not hold stops the replay there', () => {
    const good = encodeEntry(1, [{ key: netKey('b'), put: net('b') }]);
    const bad = encodeEntry(2, [{ key: netKey('c'), put: net('c') }]).replace('n-c', 'n-Z');
    const after = encodeEntry(3, [{ key: netKey('d'), put: net('d') }]);
    expect(decodeJournal(good + bad + after).entries.map((e) => e.seq)).toEqual([1]);
  });

  it('L3 replay applies puts and deletes after the snapshot, skips older lines, replaces in place', () => {
    const entries = decodeJournal(
      encodeEntry(4, [{ key: netKey('old'), put: net('old') }]) +
      encodeEntry(6, [{ key: netKey('b'), put: net('b') }, { key: epKey('y'), put: ep('y', 'b') }]) +
      encodeEntry(7, [{ key: epKey('x'), del: true }, { key: netKey('a'), put: { ...net('a'), ttl: 5 } }]),
    ).entries;
    const r = replayJournal(base, 5, entries);
    expect(r).toMatchObject({ seq: 7, applied: 2, gap: false });
    expect(r.state.networks.map((n) => [n.id, n.ttl])).toEqual([['a', 5], ['b', 600]]);
    expect(r.state.endpoints.map((e) => e.id)).toEqual(['y']);
  });

  it('L3 a gap after the snapshot (it is an older fallback) stops the replay', () => {
    const entries = decodeJournal(encodeEntry(9, [{ key: netKey('b'), put: net('b') }])).entries;
    expect(replayJournal(base, 5, entries)).toMatchObject({ seq: 5, applied: 0, gap: true, state: base });
  });

  it('L3 a replayed state is checked like a snapshot (a bad record fails with ERR_STORE_CORRUPT)', () => {
    const entries = decodeJournal(encodeEntry(1, [{ key: sbKey('s'), put: { id: 's' } as never }])).entries;
    expect(() => replayJournal(base, 0, entries)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
  });
});
