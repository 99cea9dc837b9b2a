/**
 * L3 across restarts: what a journal file holds beyond what restore used (a torn tail, lines of a state that could
 * not be used) never costs a later commit, and never comes back on top of a newer state.
 */
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../../store/keeper.js';
import { netKey } from '../../../store/journal.js';
import type { PersistedState } from '../../../store/document.js';
import { sinkLogger } from '../api/routes-fake.js';
import { journalFiles, model, net } from './fake-files.js';

type Files = ReturnType<typeof journalFiles>;

/** A daemon's life over `f`: restore into a fresh model, then `work` on it, then close. Returns the restored names. */
async function life(f: Files, work: (add: (i: number) => Promise<void>) => Promise<void> = async () => undefined): Promise<string[]> {
  const m = model();
  const s = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
  let restored: string[] = [];
  await s.restore(async (state: PersistedState | undefined) => {
    for (const n of state?.networks ?? []) m.nets.set(n.id, n);
    restored = (state?.networks ?? []).map((n) => n.name).sort();
    return { problems: [] };
  });
  await work(async (i) => {
    m.nets.set(net(i).id, net(i));
    await s.aheadOf(netKey(net(i).id));
  });
  await s.close();
  return restored;
}

describe('StateStore across restarts', () => {
  it('L3 a restore whose rebuild throws gives the directory back (the lock goes), so the next start is not locked out', async () => {
    const f = journalFiles();
    const calls: string[] = [];
    f.store.lock = async () => void calls.push('lock');
    f.store.unlock = async () => void calls.push('unlock');
    const m = model();
    const s = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await expect(s.restore(async () => {
      throw new Error('rebuild failed');
    })).rejects.toThrow('rebuild failed');
    expect(calls).toEqual(['lock', 'unlock']);
  });

  it('L3 a torn journal tail (power loss mid-append) is cut at restore: the commits after that restore survive the next one', async () => {
    const f = journalFiles();
    await life(f, async (add) => {
      await add(1);
      await add(2);
    });
    for (const torn of ['{"seq":9,"sha256":"ab', '{"seq":9,"sha256":"abc","ops":[]}', 'garbage with no newline']) {
      f.files.set('state.journal', (f.files.get('state.journal') ?? '') + torn);
      const before = await life(f, async (add) => {
        await add(3);
        await add(4);
      });
      expect(before).toEqual(['n1', 'n2'].concat(before.includes('n3') ? ['n3', 'n4'] : []));
      expect(await life(f)).toEqual(['n1', 'n2', 'n3', 'n4']);
    }
  });

  it('L3 a torn line in the rotated journal does not hide the current one', async () => {
    const f = journalFiles();
    await life(f, async (add) => {
      await add(1);
    });
    // A later life's lines, then its rotated file gets torn bytes at its end (a failed append that could not be cut).
    await life(f, async (add) => {
      await add(2);
    });
    f.files.set('state.journal.prev', `${f.files.get('state.journal.prev') ?? ''}{"seq":77,"torn`);
    await life(f, async (add) => {
      await add(3);
    });
    expect(await life(f)).toEqual(['n1', 'n2', 'n3']);
  });

  it('L3 no usable state file: the old journal lines are never replayed onto the new state', async () => {
    const f = journalFiles();
    await life(f, async (add) => {
      for (let i = 1; i <= 5; i++) await add(i);
    });
    f.files.set('state.json', '{ not json');
    f.files.delete('state.json.prev');
    expect(await life(f, async (add) => add(9))).toEqual([]);
    expect(await life(f)).toEqual(['n9']);
    expect(await life(f)).toEqual(['n9']);
  });

  it('L3 a gap (an older state used): lines past the gap are never replayed on top of the next start', async () => {
    const f = journalFiles();
    await life(f, async (add) => {
      await add(1);
    });
    await life(f, async (add) => {
      await add(2);
      await add(3);
    });
    // state.json lost: state.json.prev plus both journals still lead to the newest state (no gap here)...
    f.files.delete('state.json');
    expect(await life(f)).toEqual(['n1', 'n2', 'n3']);
    // ...and with the rotated journal lost too, the fallback stops at the gap; what follows must not come back later.
    await life(f, async (add) => add(4));
    f.files.delete('state.json');
    f.files.set('state.journal.prev', '');
    const fallback = await life(f, async (add) => add(5));
    expect(fallback).not.toContain('n4');
    const after = await life(f);
    expect(after).toContain('n5');
    expect(after.includes('n4')).toBe(false);
  });
});
