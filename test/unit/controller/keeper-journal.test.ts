/**
 * Group commit through the journal (issue 13): changes naming their records
 * cost one appended line per group, whatever the model's size; a snapshot
 * empties the journal; a restore replays it.
 */
import { describe, expect, it } from 'vitest';
import { AddressPool, DriverRegistry } from '../../../drivers/index.js';
import { Network } from '../../../controller/network.js';
import type { ControllerCore } from '../../../controller/core.js';
import type { StateFiles } from '../../../controller/io/store.js';
import { decodeState, encodeState } from '../../../controller/persist.js';
import { StateKeeper } from '../../../controller/state.js';
import { decodeJournal, netKey } from '../../../controller/journal.js';
import type { RestoreDeps } from '../../../controller/restore.js';
import { sinkLogger } from './routes-fake.js';

const core = {} as ControllerCore;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function journalFiles(initial: Record<string, string> = {}) {
  const files = new Map(Object.entries(initial));
  const ops = { writes: 0, appends: 0, syncs: 0 };
  const store: StateFiles = {
    dir: '/mem',
    readAll: async () => ['state.json'].filter((n) => files.has(n)).map((name) => ({ name, text: files.get(name)! })),
    async write(text) {
      await new Promise((r) => setTimeout(r, 3));
      ops.writes++;
      files.set('state.json', text);
    },
    quarantine: async (name) => name,
    lock: async () => undefined,
    unlock: async () => undefined,
    async appendJournal(text) {
      await new Promise((r) => setTimeout(r, 3)); // the fdatasync every change made meanwhile waits for
      ops.appends++;
      ops.syncs++;
      files.set('state.journal', (files.get('state.journal') ?? '') + text);
    },
    readJournal: async () => files.get('state.journal') ?? '',
    async resetJournal() {
      files.set('state.journal', '');
    },
  };
  return { store, files, ops };
}

function network(i: number): Network {
  return new Network(core, { id: `${i}`.padStart(64, '0'), name: `n${i}`, driver: 'bridge', internal: false, ttl: 600, pool4: new AddressPool(`10.${i}.0.0/24`), driverOptions: {} });
}

function deps(added: Network[]): RestoreDeps {
  return {
    core, drivers: new DriverRegistry(), logger: sinkLogger().logger, originResolvConf: '/dev/null',
    addNetwork: (n) => added.push(n), addSandbox: () => undefined,
  };
}

describe('StateKeeper journal (group commit)', () => {
  it('L3 concurrent changes share one appended line and one sync; the line holds only their records', async () => {
    const f = journalFiles();
    const nets: Network[] = [];
    const k = new StateKeeper('/mem', sinkLogger().logger, () => ({ networks: nets, sandboxes: [] }), f.store);
    await k.restore(deps([]));
    nets.push(...Array.from({ length: 200 }, (_, i) => network(i + 1)));
    const before = { ...f.ops };
    await Promise.all([1, 2, 3].map((i) => k.aheadOf(netKey(nets[i]!.id))));
    expect(f.ops.appends - before.appends).toBe(1);
    expect(f.ops.writes - before.writes).toBe(0);
    const { entries } = decodeJournal(f.files.get('state.journal')!);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.ops.map((o) => o.key).sort()).toEqual([1, 2, 3].map((i) => netKey(nets[i]!.id)).sort());
    // a change arriving during a commit waits for exactly one more
    const a = k.aheadOf(netKey(nets[4]!.id));
    await tick();
    const b = k.aheadOf(netKey(nets[5]!.id));
    const c = k.aheadOf(netKey(nets[6]!.id));
    await Promise.all([a, b, c]);
    expect(f.ops.appends - before.appends).toBe(3);
  });

  it('L3 a change naming no record writes a snapshot and empties the journal; restore replays what followed it', async () => {
    const f = journalFiles({ 'state.json': encodeState({ networks: [], endpoints: [], sandboxes: [] }, 1, new Date(0)) });
    const nets: Network[] = [];
    const k = new StateKeeper('/mem', sinkLogger().logger, () => ({ networks: nets, sandboxes: [] }), f.store);
    await k.restore(deps([]));
    nets.push(network(1));
    k.changed();
    await tick();
    await k.flush();
    expect(decodeState(f.files.get('state.json')!).state.networks).toHaveLength(1);
    expect(f.files.get('state.journal')).toBe('');
    nets.push(network(2));
    await k.aheadOf(netKey(nets[1]!.id));
    nets.splice(0, 1);
    await k.aheadOf(netKey(network(1).id));
    expect(decodeJournal(f.files.get('state.journal')!).entries).toHaveLength(2);
    // a new keeper over the same files restores snapshot + journal: only network 2 is left
    const restored: Network[] = [];
    const k2 = new StateKeeper('/mem', sinkLogger().logger, () => ({ networks: restored, sandboxes: [] }), f.store);
    await k2.restore(deps(restored));
    expect(restored.map((n) => n.name)).toEqual(['n2']);
  });
});
