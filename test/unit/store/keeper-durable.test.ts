/**
 * L3, L6: a caller of the store is answered once the commit holding its change is durable, and not later: two
 * callers of one turn share a commit and both wait for its sync; under a steady stream of changes the first caller
 * does not wait for the stream to end.
 */
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../../store/keeper.js';
import { netKey } from '../../../store/journal.js';
import { sinkLogger } from '../api/routes-fake.js';
import { journalFiles, model, net, noProblems } from './fake-files.js';

describe('StateStore: answered when durable', () => {
  it('L3 every caller whose change a commit took is answered after that commit synced, whoever started it (same turn, and right after)', async () => {
    const f = journalFiles();
    const m = model();
    const s = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await s.restore(noProblems);
    await s.flush();
    for (let i = 1; i <= 4; i++) m.nets.set(net(i).id, net(i));
    const before = f.ops.appends;
    const seen: number[] = [];
    const answered = (p: Promise<void>): Promise<number> => p.then(() => seen.push(f.ops.appends - before));
    // Y's flush starts the commit; X changes and flushes in the same turn, after the commit took X's key too.
    const y = answered(s.aheadOf(netKey(net(1).id)));
    const x = answered(s.aheadOf(netKey(net(2).id)));
    await Promise.all([y, x]);
    expect(seen).toEqual([1, 1]);
    // A plain flush called while that kind of commit is running.
    s.changed(netKey(net(3).id));
    const first = answered(s.flush());
    await Promise.resolve();
    await Promise.resolve();
    s.changed(netKey(net(4).id));
    const second = answered(s.flush());
    await Promise.all([first, second]);
    expect(seen.slice(2).every((n) => n >= 2)).toBe(true);
    expect(seen[3]).toBeGreaterThanOrEqual(seen[2]!);
    await s.close();
  });

  it('L3 under a steady stream of changes, a caller is answered by the commit that covers it, not when the stream ends', async () => {
    const f = journalFiles();
    const m = model();
    const s = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await s.restore(noProblems);
    for (let i = 1; i <= 60; i++) m.nets.set(net(i).id, net(i));
    const before = f.ops.appends;
    let appendsAtAnswer = -1;
    const first = s.aheadOf(netKey(net(1).id)).then(() => (appendsAtAnswer = f.ops.appends - before));
    // A change every millisecond for ~60 ms, while each commit takes ~3 ms.
    for (let i = 2; i <= 60; i++) {
      s.changed(netKey(net(i).id));
      await new Promise((r) => setTimeout(r, 1));
    }
    await first;
    await s.flush();
    expect(f.ops.appends - before).toBeGreaterThan(5);
    expect(appendsAtAnswer).toBeGreaterThanOrEqual(1);
    expect(appendsAtAnswer).toBeLessThanOrEqual(2);
    await s.close();
  });
});
