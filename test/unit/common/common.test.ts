import { describe, expect, it } from 'vitest';
import { assertValidHostname, hostnameProblem, normalizeName } from '../../../common/dns-name.js';
import { withUndo } from '../../../common/undo.js';
import { FakeClock } from '../../../common/clock.js';

describe('common', () => {
  it('R3 normalizeName lowercases and drops one trailing dot', () => {
    expect(normalizeName('NaMe1.')).toBe('name1');
    expect(normalizeName('a.b')).toBe('a.b');
  });

  it('H5 host names with newline, tab, space, # or long labels are rejected with ERR_INVALID_NAME', () => {
    for (const bad of ['a\nb', 'a\tb', 'a b', 'a#b', 'x'.repeat(64), '', 'a..b', '-a', `${'a.'.repeat(127)}aa`]) {
      expect(hostnameProblem(bad), JSON.stringify(bad)).toBeDefined();
      expect(() => assertValidHostname(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    }
    for (const good of ['db', 'c1.invalid', 'x'.repeat(63), 'my_svc', 'a-b.example.com.']) {
      expect(hostnameProblem(good), good).toBeUndefined();
    }
  });

  it('L1 withUndo unwinds in reverse order on failure and keeps the first error', async () => {
    const done: string[] = [];
    await expect(
      withUndo(async (u) => {
        u.push('a', () => done.push('a'));
        u.push('b', () => done.push('b'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(done).toEqual(['b', 'a']);
  });

  it('R12 FakeClock fires timers in order as time advances', () => {
    const c = new FakeClock();
    const fired: number[] = [];
    c.setTimeout(() => fired.push(2), 20);
    const cancel = c.setTimeout(() => fired.push(3), 30);
    c.setTimeout(() => fired.push(1), 10);
    cancel();
    c.advance(25);
    expect(fired).toEqual([1, 2]);
    expect(c.now()).toBe(25);
  });
});
