import { describe, expect, it } from 'vitest';
import { ExclusivePool } from '../../../common/pool.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ExclusivePool', () => {
  it('lends each resource to one user at a time, makes at most `size`, and serves waiters in order', async () => {
    let made = 0;
    const pool = new ExclusivePool({ size: 3, create: () => ({ id: made++, inUse: false }) });
    let maxConcurrent = 0;
    let concurrent = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => pool.use(async (r) => {
      expect(r.inUse).toBe(false); // never shared
      r.inUse = true;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      order.push(i);
      await tick();
      concurrent--;
      r.inUse = false;
    })));
    expect(made).toBe(3);
    expect(maxConcurrent).toBe(3);
    expect(order).toEqual([...order].sort((a, b) => a - b)); // FIFO
    expect(pool.stats).toEqual({ created: 3, open: 3, busy: 0, waiting: 0 });
  });

  it('gives a resource back when the user throws, and reuses idle ones before making more', async () => {
    let made = 0;
    const pool = new ExclusivePool({ size: 4, create: () => made++ });
    await expect(pool.use(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await pool.use(async (r) => expect(r).toBe(0));
    expect(pool.stats).toEqual({ created: 1, open: 1, busy: 0, waiting: 0 });
  });

  it('a factory that throws fails that use only and frees its slot', async () => {
    let fail = true;
    const pool = new ExclusivePool({ size: 1, create: () => {
      if (fail) throw new Error('no socket');
      return 'ok';
    } });
    await expect(pool.use(async (r) => r)).rejects.toThrow('no socket');
    fail = false;
    await expect(pool.use(async (r) => r)).resolves.toBe('ok');
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new ExclusivePool({ size: 0, create: () => 1 })).toThrow(RangeError);
    expect(() => new ExclusivePool({ size: 1.5, create: () => 1 })).toThrow(RangeError);
  });
});
