import { describe, expect, it } from 'vitest';
import { LiveList } from '../../../common/live-list.js';

describe('LiveList (the in-progress sets of the forwarder and the TCP server)', () => {
  it('keeps the order of adding, takes out any entry once, and counts', () => {
    const l = new LiveList<string>();
    const [a, b, c] = ['a', 'b', 'c'].map((v) => l.add(v));
    expect([l.values(), l.size]).toEqual([['a', 'b', 'c'], 3]);
    l.remove(b!);
    l.remove(b!);
    expect([l.values(), l.size]).toEqual([['a', 'c'], 2]);
    l.remove(a!);
    l.remove(c!);
    expect([l.values(), l.size]).toEqual([[], 0]);
    l.add('d');
    expect([l.values(), l.size]).toEqual([['d'], 1]);
  });

  it('a removed node points at nothing (so a dead node keeps no value alive)', () => {
    const l = new LiveList<object>();
    const n = l.add({ big: 'x'.repeat(100) });
    l.add({});
    l.remove(n);
    expect([n.value, n.prev, n.next]).toEqual([undefined, undefined, undefined]);
  });

  it('values() is a copy: removing every entry while going through it reaches each once', () => {
    const l = new LiveList<number>();
    const nodes = [1, 2, 3, 4].map((v) => l.add(v));
    const seen: number[] = [];
    for (const v of l.values()) {
      seen.push(v);
      l.remove(nodes[v - 1]!);
    }
    expect([seen, l.size, l.values()]).toEqual([[1, 2, 3, 4], 0, []]);
  });
});
