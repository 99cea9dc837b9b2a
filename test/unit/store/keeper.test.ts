import { describe, expect, it, vi } from 'vitest';
import { AddressPool } from '../../../drivers/index.js';
import { Network } from '../../../controller/network.js';
import type { ControllerCore } from '../../../controller/core.js';
import { networkRecord } from '../../../controller/snapshot.js';
import type { StateFiles } from '../../../store/io/files.js';
import { decodeState, encodeState, type PersistedState } from '../../../store/document.js';
import { RETRY_MS, StateStore } from '../../../store/keeper.js';
import { sinkLogger } from '../api/routes-fake.js';

const core = {} as ControllerCore;
const empty = { networks: [], endpoints: [], sandboxes: [] };

/** StateFiles in memory; each write takes `delayMs` and may be made to fail. */
function memoryFiles(initial: Record<string, string> = {}, delayMs = 5) {
  const files = new Map(Object.entries(initial));
  const writes: string[] = [];
  const quarantined: string[] = [];
  let fail = false;
  const store: StateFiles = {
    dir: '/mem',
    async readAll() {
      return ['state.json', 'state.json.tmp', 'state.json.prev'].filter((n) => files.has(n)).map((name) => ({ name, text: files.get(name)! }));
    },
    async write(text) {
      await new Promise((r) => setTimeout(r, delayMs));
      if (fail) throw new Error('ENOSPC: no space left on device');
      writes.push(text);
      files.set('state.json', text);
    },
    async quarantine(name) {
      quarantined.push(name);
      files.delete(name);
      return `${name}.corrupt`;
    },
    lock: async () => undefined,
    unlock: async () => undefined,
  };
  return { store, writes, quarantined, setFail: (f: boolean) => void (fail = f) };
}

/** A rebuild that restores nothing (the model stays empty). */
const deps = () => async () => ({ problems: [] as string[] });

function keeper(files: StateFiles, model: () => PersistedState = () => ({ networks: [], endpoints: [], sandboxes: [] })) {
  const sink = sinkLogger();
  const k = new StateStore('/mem', sink.logger, model, files);
  return { k, lines: sink.lines };
}

function testNetwork(name: string, id = name.padEnd(64, '0')): Network {
  return new Network(core, { id, name, driver: 'bridge', internal: false, ttl: 600, pool4: new AddressPool('10.9.0.0/24'), driverOptions: {} });
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('StateStore', () => {
  it('L3 nothing is written before restore(): the saved state is never overwritten by an empty model', async () => {
    const m = memoryFiles({ 'state.json': encodeState(empty, 5, new Date(0)) });
    const { k } = keeper(m.store);
    k.changed();
    await tick();
    await k.flush();
    expect(m.writes).toEqual([]);
    await k.restore(deps());
    expect(m.writes.map((w) => decodeState(w).seq)).toEqual([6]);
  });

  it('L3 writes are coalesced: 100 changes in one tick cost one write; a change during a write costs one more', async () => {
    const m = memoryFiles();
    const { k } = keeper(m.store);
    await k.restore(deps());
    const before = m.writes.length;
    for (let i = 0; i < 100; i++) k.changed();
    await tick();
    for (let i = 0; i < 100; i++) k.changed(); // arrives while the first write runs
    await k.flush();
    expect(m.writes.length - before).toBe(2);
  });

  it('L3 write-ahead: ahead() resolves once the in-flight object is on disk; settle() drops it from the next write', async () => {
    const m = memoryFiles();
    const { k } = keeper(m.store);
    await k.restore(deps());
    const net = new Network(core, { id: 'a'.repeat(64), name: 'inflight', driver: 'bridge', internal: false, ttl: 600, pool4: new AddressPool('10.9.0.0/24'), driverOptions: {} });
    await k.ahead('net:inflight', { network: networkRecord(net, 'creating') });
    expect(decodeState(m.writes.at(-1)!).state.networks).toMatchObject([{ name: 'inflight', phase: 'creating' }]);
    k.settle('net:inflight');
    await tick();
    await k.flush();
    expect(decodeState(m.writes.at(-1)!).state.networks).toEqual([]);
  });

  it('L6 a failing write is never acknowledged: flush and ahead throw ERR_STORE_WRITE_FAILED (507), mutations are refused (ERR_STORE_DEGRADED, 503) until a retry succeeds', async () => {
    const m = memoryFiles();
    const { k, lines } = keeper(m.store);
    await k.restore(deps());
    k.assertWritable();
    m.setFail(true);
    await expect(k.ahead()).rejects.toMatchObject({ code: 'ERR_STORE_WRITE_FAILED', status: 507, details: { errno: 'EIO' } });
    k.changed();
    await expect(k.flush()).rejects.toMatchObject({ code: 'ERR_STORE_WRITE_FAILED' });
    expect(() => k.assertWritable()).toThrow(expect.objectContaining({ code: 'ERR_STORE_DEGRADED', status: 503 }));
    expect(lines.filter((l) => l.level === 50 && String(l.msg).includes('cannot write the state'))).toHaveLength(1);
    m.setFail(false);
    const n = m.writes.length;
    // No new change and no caller: the store's own retry (every RETRY_MS) writes the pending state.
    await vi.waitFor(() => expect(m.writes.length).toBe(n + 1), { timeout: RETRY_MS * 3 });
    expect(() => k.assertWritable()).not.toThrow();
    expect(lines.some((l) => String(l.msg).startsWith('state written again'))).toBe(true);
    await k.flush(); // everything is on disk now: resolves
  });

  it('L6 a change already on disk is acknowledged even when a later write fails', async () => {
    const m = memoryFiles();
    const { k } = keeper(m.store);
    await k.restore(deps());
    k.changed();
    await k.flush();
    m.setFail(true);
    await k.flush(); // nothing new since the good write
    k.changed();
    await expect(k.flush()).rejects.toMatchObject({ code: 'ERR_STORE_WRITE_FAILED' });
    m.setFail(false);
    await k.close();
  });

  it('L6 a store that cannot write at start still restores (degraded), and close() does not throw', async () => {
    const m = memoryFiles();
    m.setFail(true);
    const { k } = keeper(m.store);
    await k.restore(deps());
    expect(() => k.assertWritable()).toThrow(expect.objectContaining({ code: 'ERR_STORE_DEGRADED' }));
    await k.close();
  });

  it('L3 a corrupt state.json: restored from .prev, the bad file moved aside, and the log says what was recovered', async () => {
    const m = memoryFiles({ 'state.json': encodeState(empty, 8, new Date(0)).slice(0, 40), 'state.json.prev': encodeState(empty, 7, new Date(0)) });
    const { k, lines } = keeper(m.store);
    await k.restore(deps());
    expect(m.quarantined).toEqual(['state.json']);
    expect(lines.find((l) => l.level === 40 && l.file === 'state.json')).toMatchObject({ code: 'ERR_STORE_CORRUPT', movedTo: 'state.json.corrupt' });
    expect(lines.find((l) => String(l.msg).startsWith('state recovered from state.json.prev'))).toMatchObject({ level: 40, source: 'state.json.prev', seq: 7 });
    expect(decodeState(m.writes.at(-1)!).seq).toBe(8);
  });

  it('L3 restore runs once (ERR_STORE_NOT_RESTORED the second time)', async () => {
    const { k } = keeper(memoryFiles().store);
    await k.restore(deps());
    await expect(k.restore(deps())).rejects.toMatchObject({ code: 'ERR_STORE_NOT_RESTORED' });
  });

  it('L3 one record per object: a create applied before its intent settles is written live only; a delete that began is written deleting only', async () => {
    const m = memoryFiles();
    const made = testNetwork('made');
    const going = testNetwork('going');
    let model: PersistedState = { networks: [], endpoints: [], sandboxes: [] };
    const { k } = keeper(m.store, () => model);
    await k.restore(deps());
    await k.ahead('net:made', { network: networkRecord(made, 'creating') });
    // The create applied its result (the network is in the model) and the delete of another began, before either settled.
    model = { networks: [networkRecord(made, 'live'), networkRecord(going, 'live')], endpoints: [], sandboxes: [] };
    await k.ahead('net-rm:going', { network: networkRecord(going, 'deleting') });
    const written = decodeState(m.writes.at(-1)!).state.networks.map((n) => [n.name, n.phase]);
    // Before: 'made' was written both live and creating, and a restart adopted the bridge, then removed it as an unfinished create.
    expect(written).toEqual([['made', 'live'], ['going', 'deleting']]);
  });

  it('L3 restore hands one record per object to the rebuild, even from a file an earlier version wrote with both', async () => {
    const n = testNetwork('both');
    const state: PersistedState = { networks: [networkRecord(n, 'live'), networkRecord(testNetwork('x'), 'creating'), networkRecord(n, 'creating')], endpoints: [], sandboxes: [] };
    const m = memoryFiles({ 'state.json': encodeState(state, 3, new Date(0)) });
    const { k } = keeper(m.store);
    let seen: PersistedState | undefined;
    await k.restore(async (s) => {
      seen = s;
      return { problems: [] };
    });
    expect(seen?.networks.map((x) => [x.name, x.phase])).toEqual([['both', 'live'], ['x', 'creating']]);
  });
});
