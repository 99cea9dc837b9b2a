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
    expect(decodeJournal(line)).toEqual({ entries: [{ seq: 7, ops }], torn: false, goodBytes: Buffer.byteLength(line) });
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

  it('L3 the checksum covers the ops byte for byte: the same ops spelled differently (spaces, key order) do not hold', () => {
    const line = encodeEntry(1, [{ key: netKey('b'), put: net('b') }]);
    const spaced = line.replace('"ops":[{', '"ops":[ {');
    expect(JSON.parse(spaced)).toEqual(JSON.parse(line)); // the same document
    expect(decodeJournal(spaced)).toEqual({ entries: [], torn: true, goodBytes: 0 });
    expect(decodeJournal(line.replace(/}\n$/, ' }\n'))).toEqual({ entries: [], torn: true, goodBytes: 0 });
    expect(decodeJournal(line).entries).toHaveLength(1);
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

  it('L3 a last line whose newline was not written is torn, even when it parses', () => {
    const first = encodeEntry(1, [{ key: netKey('b'), put: net('b') }]);
    const second = encodeEntry(2, [{ key: epKey('x'), del: true }]);
    expect(decodeJournal(first + second.slice(0, -1))).toEqual({ entries: [{ seq: 1, ops: [{ key: netKey('b'), put: net('b') }] }], torn: true, goodBytes: Buffer.byteLength(first) });
    expect(decodeJournal(first + second)).toMatchObject({ torn: false, goodBytes: Buffer.byteLength(first + second) });
    expect(decodeJournal('')).toEqual({ entries: [], torn: false, goodBytes: 0 });
  });

  it('L3 goodBytes is where the torn tail begins, in bytes (names beyond ASCII included)', () => {
    const first = encodeEntry(1, [{ key: netKey('b'), put: { ...net('b'), name: 'réseau-é' } }]);
    const second = encodeEntry(2, [{ key: epKey('x'), del: true }]);
    const text = first + second.slice(0, 20);
    const r = decodeJournal(text);
    expect(r).toMatchObject({ torn: true, goodBytes: Buffer.byteLength(first) });
    expect(Buffer.from(text).subarray(0, r.goodBytes).toString()).toBe(first);
  });

  it('L3 an operation that does not pass its check is left out and named; the rest of its line and later lines apply', () => {
    const bad: unknown[] = [
      null, 7, [], {},
      { key: '__proto__:x', put: net('x') }, { key: 'constructor:x', del: true }, { key: 'net:', del: true }, { key: 5, del: true },
      { key: netKey('c') }, { key: netKey('c'), del: false }, { key: netKey('c'), put: net('c'), del: true },
      { key: netKey('c'), put: net('other') },
      { key: epKey('x'), put: { ...ep('x', 'a'), join: { sandbox: 's', phase: 'joined', priority: 1.5, gateway: false } } },
      { key: sbKey('s'), put: { id: 's' } },
    ];
    const line1 = encodeEntry(1, [...(bad as JournalOp[]), { key: netKey('b'), put: net('b') }]);
    const line2 = encodeEntry(2, [{ key: netKey('d'), put: net('d') }]);
    const r = replayJournal(base, 0, decodeJournal(line1 + line2).entries);
    expect(r).toMatchObject({ seq: 2, applied: 2, gap: false });
    expect(r.dropped).toHaveLength(bad.length);
    expect(r.state.networks.map((n) => n.id)).toEqual(['a', 'b', 'd']);
    // the endpoint keeps the record the snapshot had (no priority 1.5), no sandbox was made
    expect(r.state.endpoints).toEqual(base.endpoints);
    expect(r.state.sandboxes).toEqual([]);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});
