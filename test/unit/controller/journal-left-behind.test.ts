/**
 * L3: when an operation covered by a write-ahead record fails and so does its undo (a namespace or bridge that could
 * not be removed), the record stays on disk in its 'creating' phase, so the next start's restore finishes the undo;
 * a failure whose undo worked drops it as before. Journal.around over a StateStore on in-memory files.
 */
import { describe, expect, it } from 'vitest';
import { Journal, unsavedUndone } from '../../../controller/journal.js';
import { leftBehind } from '../../../common/errors.js';
import { StateStore } from '../../../store/keeper.js';
import { decodeJournal } from '../../../store/journal.js';
import type { PersistedNetwork } from '../../../store/document.js';
import type { StateFiles } from '../../../store/io/files.js';
import { StateWriteError } from '../../../store/index.js';
import { sinkLogger } from '../api/routes-fake.js';

function memFiles(): { store: StateFiles; files: Map<string, string> } {
  const files = new Map<string, string>();
  const store: StateFiles = {
    dir: '/mem',
    readAll: async () => [],
    write: async (text) => void files.set('state.json', text),
    quarantine: async (name) => `${name}.corrupt`,
    lock: async () => undefined,
    unlock: async () => undefined,
    appendJournal: async (text) => void files.set('state.journal', (files.get('state.journal') ?? '') + text),
    readJournal: async () => ({ prev: '', current: files.get('state.journal') ?? '' }),
    rotateJournal: async () => void files.set('state.journal', ''),
  };
  return { store, files };
}

const net = (i: number): PersistedNetwork => ({
  id: `${i}`.padStart(64, '0'), name: `n${i}`, driver: 'bridge', subnet: `10.${i}.0.0/24`, gateway: `10.${i}.0.1`, internal: false, ttl: 600, driverOptions: {}, phase: 'creating',
});

async function rig() {
  const f = memFiles();
  const { logger, lines } = sinkLogger();
  const store = new StateStore('/mem', logger, () => ({ networks: [], endpoints: [], sandboxes: [] }), f.store, () => undefined);
  await store.restore(async () => ({ problems: [] }));
  const journal = new Journal(store, logger);
  // The last record written for each network key: its phase, or 'del'.
  const last = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const e of decodeJournal(f.files.get('state.journal') ?? '').entries) {
      for (const o of e.ops) out[o.key] = 'put' in o ? (o.put as PersistedNetwork).phase : 'del';
    }
    return out;
  };
  const snapshotHas = (id: string, phase: string): boolean => ((JSON.parse(f.files.get('state.json') ?? '{}') as { state?: { networks?: PersistedNetwork[] } }).state?.networks ?? []).some((n) => n.id === id && n.phase === phase);
  return { store, journal, last, lines, snapshotHas };
}

describe('a failed operation whose undo failed keeps its write-ahead record', () => {
  it('work fails and its cleanup fails (marked): the creating record stays; unmarked: it goes', async () => {
    const r = await rig();
    const work = (err: Error) => () => Promise.reject(err);
    await expect(r.journal.around('net:n1', { network: net(1) }, work(leftBehind(new Error('bridge stays'))), () => undefined)).rejects.toThrow('bridge stays');
    await expect(r.journal.around('net:n2', { network: net(2) }, work(new Error('nothing left')), () => undefined)).rejects.toThrow('nothing left');
    await r.store.flush();
    expect(r.last()).toEqual({ [`net:${net(1).id}`]: 'creating', [`net:${net(2).id}`]: 'del' });
    expect(r.lines.some((l) => /write-ahead record stays/.test(String(l.msg)))).toBe(true);
  });

  it('a retry of the same operation (its key) never replaces the record kept from the first attempt', async () => {
    const r = await rig();
    const first = net(6);
    const again = { ...net(7), name: first.name }; // the same name (the operation's key), a new id
    await expect(r.journal.around('net:n6', { network: first }, () => Promise.reject(leftBehind(new Error('bridge stays'))), () => undefined)).rejects.toThrow();
    await expect(r.journal.around('net:n6', { network: again }, () => Promise.reject(new Error('no')), () => undefined)).rejects.toThrow('no');
    await r.store.flush();
    expect(r.last()).toEqual({ [`net:${first.id}`]: 'creating', [`net:${again.id}`]: 'del' });
    r.journal.changed(); // a snapshot still holds it
    await r.store.flush();
    expect([r.snapshotHas(first.id, 'creating'), r.snapshotHas(again.id, 'creating')]).toEqual([true, false]);
  });

  it('a commit that fails and an undo that fails too (unsavedUndone) keep it; an undo that works drops it', async () => {
    const r = await rig();
    const failedCommit = Promise.reject(new StateWriteError('/mem', Object.assign(new Error('no space'), { code: 'ENOSPC' })));
    failedCommit.catch(() => undefined);
    const apply = (undo: () => Promise<void>) => () => unsavedUndone(sinkLogger().logger, failedCommit, 'the network was not created', undo);
    await expect(r.journal.around('net:n3', { network: net(3) }, async () => undefined, apply(() => Promise.reject(new Error('EBUSY'))))).rejects.toMatchObject({ code: 'ERR_STORE_WRITE_FAILED' });
    await expect(r.journal.around('net:n4', { network: net(4) }, async () => undefined, apply(async () => undefined))).rejects.toMatchObject({ code: 'ERR_STORE_WRITE_FAILED' });
    await r.store.flush();
    expect(r.last()).toEqual({ [`net:${net(3).id}`]: 'creating', [`net:${net(4).id}`]: 'del' });
  });

  it('a record kept from restore is written in every state; a later operation on the same object replaces it', async () => {
    const r = await rig();
    r.journal.keep('unfinished:0', { network: { ...net(5), phase: 'deleting' } });
    await r.store.flush();
    expect(r.last()).toEqual({ [`net:${net(5).id}`]: 'deleting' });
    r.journal.changed(); // a snapshot: it holds the kept record too
    await r.store.flush();
    expect(r.snapshotHas(net(5).id, 'deleting')).toBe(true);
    // The same id made again (and failing cleanly): one record per object, the newest operation's, then none.
    await expect(r.journal.around('net:n5', { network: net(5) }, () => Promise.reject(new Error('no')), () => undefined)).rejects.toThrow('no');
    await r.store.flush();
    expect(r.last()).toEqual({ [`net:${net(5).id}`]: 'del' });
  });
});
