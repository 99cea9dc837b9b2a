/**
 * Group commit through the journal (L3): changes naming their records
 * cost one appended line per group, whatever the model's size; a snapshot
 * rotates the journal; a restore replays it, and a fallback to
 * state.json.prev replays the rotated journal too.
 */
import { describe, expect, it } from 'vitest';
import { decodeState, encodeState, type PersistedEndpoint, type PersistedNetwork, type PersistedSandbox, type PersistedState } from '../../../store/document.js';
import { StateStore } from '../../../store/keeper.js';
import { decodeJournal, epKey, netKey, sbKey, type JournalRecord, type RecordKey } from '../../../store/journal.js';
import { sinkLogger } from '../api/routes-fake.js';
import { journalFiles, model, net, noProblems } from './fake-files.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('StateStore journal (group commit)', () => {
  it('L3 concurrent changes share one appended line and one sync; the line holds only their records', async () => {
    const f = journalFiles();
    const m = model();
    const s = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await s.restore(noProblems);
    for (let i = 1; i <= 200; i++) m.nets.set(net(i).id, net(i));
    const before = { ...f.ops };
    await Promise.all([1, 2, 3].map((i) => s.aheadOf(netKey(net(i).id))));
    expect(f.ops.appends - before.appends).toBe(1);
    expect(f.ops.writes - before.writes).toBe(0);
    const { entries } = decodeJournal(f.files.get('state.journal')!);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.ops.map((o) => o.key).sort()).toEqual([1, 2, 3].map((i) => netKey(net(i).id)).sort());
    // changes arriving during a commit share exactly one more
    const a = s.aheadOf(netKey(net(4).id));
    await tick();
    const b = s.aheadOf(netKey(net(5).id));
    const c = s.aheadOf(netKey(net(6).id));
    await Promise.all([a, b, c]);
    expect(f.ops.appends - before.appends).toBe(3);
  });

  it('L3 a change naming no record writes a snapshot and rotates the journal; restore replays what followed it', async () => {
    const f = journalFiles({ 'state.json': encodeState({ networks: [], endpoints: [], sandboxes: [] }, 1, new Date(0)) });
    const m = model();
    const s = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await s.restore(noProblems);
    m.nets.set(net(1).id, net(1));
    s.changed();
    await tick();
    await s.flush();
    expect(decodeState(f.files.get('state.json')!).state.networks).toHaveLength(1);
    expect(f.files.get('state.journal')).toBe('');
    m.nets.set(net(2).id, net(2));
    await s.aheadOf(netKey(net(2).id));
    m.nets.delete(net(1).id);
    await s.aheadOf(netKey(net(1).id));
    expect(decodeJournal(f.files.get('state.journal')!).entries).toHaveLength(2);
    let seen: PersistedState | undefined;
    const s2 = new StateStore('/mem', sinkLogger().logger, () => ({ networks: [], endpoints: [], sandboxes: [] }), f.store, () => undefined);
    await s2.restore(async (state) => ((seen = state), { problems: [] }));
    expect(seen!.networks.map((n) => n.name)).toEqual(['n2']);
  });

  it('L3 state.json lost: state.json.prev plus the rotated and current journals still give the newest state', async () => {
    const f = journalFiles({ 'state.json': encodeState({ networks: [], endpoints: [], sandboxes: [] }, 1, new Date(0)) });
    const m = model();
    const s = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await s.restore(noProblems); // snapshot seq 2; state.json.prev is seq 1
    m.nets.set(net(1).id, net(1));
    await s.aheadOf(netKey(net(1).id));
    s.changed(); // a snapshot: the journal line above moves to state.journal.prev
    await tick();
    await s.flush();
    m.nets.set(net(2).id, net(2));
    await s.aheadOf(netKey(net(2).id));
    f.files.set('state.json', '{"torn'); // storage fault
    let seen: PersistedState | undefined;
    const s2 = new StateStore('/mem', sinkLogger().logger, () => ({ networks: [], endpoints: [], sandboxes: [] }), f.store, () => undefined);
    await s2.restore(async (state) => ((seen = state), { problems: [] }));
    expect(seen!.networks.map((n) => n.name).sort()).toEqual(['n1', 'n2']);
  });

  it('L3 one record per object in journal lines: a create whose result is in the model is written live, not as its open intent', async () => {
    const f = journalFiles();
    const m = model();
    const k = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await k.restore(noProblems);
    const n = net(7);
    await k.ahead('net:n7', { network: { ...n, phase: 'creating' } });
    m.nets.set(n.id, n); // the create applied its result; its intent is not settled yet
    k.changed(netKey(n.id));
    await k.flush();
    const lines = decodeJournal(f.files.get('state.journal')!).entries.flatMap((e) => e.ops);
    expect(lines.map((o) => ('put' in o ? (o.put as PersistedNetwork).phase : 'del'))).toEqual(['creating', 'live']);
  });

  it('L3 settling a create whose live record its commit journalled writes no second line; a failed create settles with a line', async () => {
    const f = journalFiles();
    const m = model();
    const k = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await k.restore(noProblems);
    const phases = (): string[] => decodeJournal(f.files.get('state.journal')!).entries.flatMap((e) => e.ops).map((o) => ('put' in o ? (o.put as PersistedNetwork).phase : 'del'));
    const before = f.ops.appends;
    const n = net(8);
    await k.ahead('net:n8', { network: { ...n, phase: 'creating' } });
    m.nets.set(n.id, n);
    k.changed(netKey(n.id));
    await k.flush();
    k.settle('net:n8');
    await k.flush();
    await tick();
    expect(phases()).toEqual(['creating', 'live']);
    expect(f.ops.appends - before).toBe(2);
    // A create that failed (nothing in the model) settles with the removal of its intent.
    const failed = net(9);
    await k.ahead('net:n9', { network: { ...failed, phase: 'creating' } });
    k.settle('net:n9');
    await k.flush();
    expect(phases()).toEqual(['creating', 'live', 'creating', 'del']);
    // A create whose commit came after a snapshot: the settle writes its line again (the snapshot held the intent).
    const late = net(10);
    await k.ahead('net:n10', { network: { ...late, phase: 'creating' } });
    m.nets.set(late.id, late);
    k.changed(netKey(late.id));
    await k.flush();
    k.changed(); // a snapshot: it holds n10 live (the model has it), and rotates the journal
    await k.flush();
    k.settle('net:n10');
    await k.flush();
    expect(phases()).toEqual(['live']);
  });

  it('L6 a change scheduled after a commit that finished first is still written (no pump ever sticks)', async () => {
    // Appends that complete within the same turn: the commit a flush starts ends before the change's own
    // scheduled pump runs, which then finds nothing pending. That pump must not stop every later write.
    const f = journalFiles();
    f.store.appendJournal = async (text, sync = true) => {
      f.ops.appends++;
      f.ops.syncs.push(sync);
      f.files.set('state.journal', (f.files.get('state.journal') ?? '') + text);
    };
    const m = model();
    const k = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
    await k.restore(noProblems);
    for (let i = 20; i < 30; i++) {
      const n = net(i);
      m.nets.set(n.id, n);
      k.changed(netKey(n.id));
      await k.flush();
      await tick(); // the scheduled pump runs now, with nothing left to write
    }
    const keys = decodeJournal(f.files.get('state.journal')!).entries.flatMap((e) => e.ops).map((o) => o.key);
    expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => netKey(net(20 + i).id)));
  });

  describe('staged write-ahead (aheadStaged): written, then durable', () => {
    /** After `gate()`, appends whose write and sync each wait for the test: `step('write')` lets the write land, `step('sync')` the sync. */
    function gatedFiles(fail?: 'write' | 'sync') {
      const f = journalFiles();
      const gates: Record<string, () => void> = {};
      const wait = (name: string) => new Promise<void>((r) => (gates[name] = r));
      const gate = () => (f.store.appendJournal = async (text, sync = true, written) => {
        await wait('write');
        if (fail === 'write') throw Object.assign(new Error('EIO'), { code: 'EIO' });
        f.files.set('state.journal', (f.files.get('state.journal') ?? '') + text);
        written?.();
        await wait('sync');
        if (fail === 'sync') throw Object.assign(new Error('EIO'), { code: 'EIO' });
        f.ops.syncs.push(sync);
      });
      const step = async (name: string) => {
        for (let i = 0; i < 20 && gates[name] === undefined; i++) await tick();
        gates[name]!();
        delete gates[name];
        await tick();
      };
      return { f, step, gate };
    }
    const intent = { network: { ...net(7), phase: 'creating' as const } };
    const state = (p: Promise<void>) => {
      const s = { v: 'pending' };
      p.then(() => (s.v = 'resolved'), () => (s.v = 'rejected'));
      return s;
    };
    /** A restored store over gated files, and the two stages of one intent's write-ahead (and where each stands; `written` only if `watchWritten`). */
    async function staged(fail?: 'write' | 'sync', watchWritten = true) {
      const { f, step, gate } = gatedFiles(fail);
      const m = model();
      const k = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
      await k.restore(noProblems);
      gate();
      const { written, durable } = k.aheadStaged('net:n7', intent);
      return { f, step, k, written, durable, w: watchWritten ? state(written) : undefined, d: state(durable) };
    }

    it('L3 written resolves once the line is in the file, before its sync; durable once synced', async () => {
      const { f, step, w, d } = await staged();
      await tick();
      expect([w!.v, d.v]).toEqual(['pending', 'pending']);
      await step('write');
      expect(f.files.get('state.journal')).toContain(net(7).id);
      expect([w!.v, d.v]).toEqual(['resolved', 'pending']); // the intent is readable by a restart; not yet synced
      await step('sync');
      expect([w!.v, d.v]).toEqual(['resolved', 'resolved']);
    });

    it('L6 a line that cannot be written rejects written (nothing may change); a failed sync rejects durable only', async () => {
      for (const fail of ['write', 'sync'] as const) {
        const { f, step, k, durable, w, d } = await staged(fail);
        await step('write');
        if (fail === 'sync') await step('sync');
        for (let i = 0; i < 5; i++) await tick();
        expect([fail, w!.v, d.v]).toEqual(fail === 'write' ? ['write', 'rejected', 'rejected'] : ['sync', 'resolved', 'rejected']);
        await expect(durable).rejects.toMatchObject({ code: 'ERR_STORE_WRITE_FAILED' });
        k.settle('net:n7');
        f.store.appendJournal = async () => undefined; // the retry timer's writes succeed; close() ends it
        await k.close();
      }
    });

    it('L6 a caller that waits only for durable: a failed write rejects it, and the unused written is no unhandled rejection', async () => {
      const { f, step, k, d } = await staged('write', false); // nothing ever handles `written`
      await step('write');
      for (let i = 0; i < 5; i++) await tick();
      expect(d.v).toBe('rejected'); // vitest fails the run on an unhandled rejection (the daemon would exit)
      k.settle('net:n7');
      f.store.appendJournal = async () => undefined;
      await k.close();
    });

    it('L3 before restore nothing is written and both resolve at once', async () => {
      const { f } = gatedFiles();
      const m = model();
      const k = new StateStore('/mem', sinkLogger().logger, m.snapshot, f.store, m.record);
      const { written, durable } = k.aheadStaged('net:n7', intent);
      await expect(Promise.all([written, durable])).resolves.toBeDefined();
      expect(f.files.get('state.journal')).toBeUndefined();
    });
  });

  describe('which lines are synced (fdatasync) and which only written', () => {
    const sb = (id: string, phase: PersistedSandbox['phase']): PersistedSandbox => ({
      id, phase, key: { kind: 'owned', netnsName: id }, dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], disableResolution: false,
      hostsPath: `/etc/netns/${id}/hosts`, resolvConfPath: `/etc/netns/${id}/resolv.conf`, resolvConfHashPath: `/run/x/${id}.hash`, ownedDirs: [],
      extServers: [], ndotsSet: false,
    });
    const ep = (id: string, extra: Partial<PersistedEndpoint> = {}): PersistedEndpoint => ({
      id, name: id, network: 'n1', aliases: [], ipv4: '10.1.0.2/24', ports: [], links: {}, disableResolution: false, ...extra,
    });
    const joined = { sandbox: 's1', phase: 'joined' as const, priority: 0, gateway: true };

    /** A store over a model of any records; `commit(key, record)` puts (or, with undefined, deletes) and returns whether that line was synced. */
    async function harness() {
      const f = journalFiles();
      const records = new Map<RecordKey, JournalRecord>();
      const s = new StateStore('/mem', sinkLogger().logger, () => ({ networks: [], endpoints: [], sandboxes: [] }), f.store, (k) => records.get(k));
      await s.restore(noProblems);
      const commit = async (...changes: [RecordKey, JournalRecord | undefined][]): Promise<boolean> => {
        for (const [k, r] of changes) {
          if (r === undefined) records.delete(k);
          else records.set(k, r);
        }
        const n = f.ops.syncs.length;
        await Promise.all(changes.map(([k]) => s.aheadOf(k)));
        expect(f.ops.syncs.length).toBe(n + 1);
        return f.ops.syncs[n]!;
      };
      return { s, f, commit };
    }

    it('L6 records a reboot ends are written without a sync; records that outlive it are synced', async () => {
      const { commit } = await harness();
      expect(await commit([netKey('n1'), net(1)])).toBe(true); // a network outlives a reboot
      expect(await commit([sbKey('s1'), sb('s1', 'creating')])).toBe(true); // the intent that lets restore remove a create's files
      expect(await commit([sbKey('s1'), sb('s1', 'live')])).toBe(false);
      expect(await commit([epKey('e1'), ep('e1', { joinedOnly: true })])).toBe(false); // the API's connect: exists only while joined
      expect(await commit([epKey('e1'), ep('e1', { joinedOnly: true, join: { ...joined, phase: 'joining' } })])).toBe(false);
      expect(await commit([epKey('e2'), ep('e2')])).toBe(true); // an endpoint created on its own outlives a reboot
      expect(await commit([epKey('e2'), ep('e2', { join: joined })])).toBe(false); // ... but not its join
      expect(await commit([epKey('e2'), ep('e2')])).toBe(true); // its leave: it is on its own again
      expect(await commit([epKey('e1'), undefined])).toBe(false); // the removal of a record that was machine-scoped
      expect(await commit([epKey('e2'), undefined])).toBe(true);
      expect(await commit([sbKey('s1'), sb('s1', 'deleting')])).toBe(false);
      expect(await commit([sbKey('s1'), undefined])).toBe(false);
      expect(await commit([netKey('n1'), undefined])).toBe(true);
    });

    it('L6 a sandbox waiting for late keys, and the claims waiting for its key, outlive a reboot: synced, their removal too', async () => {
      const { commit } = await harness();
      const late = (id: string, phase: PersistedSandbox['phase']): PersistedSandbox => ({ ...sb(id, phase), key: { kind: 'late' } });
      expect(await commit([sbKey('x1'), late('x1', 'creating')])).toBe(true);
      expect(await commit([sbKey('x1'), late('x1', 'live')])).toBe(true);
      expect(await commit([epKey('c1'), ep('c1', { joinedOnly: true, join: { ...joined, sandbox: 'x1', phase: 'deferred' } })])).toBe(true);
      // Its join too: restore turns it back into a claim for the next key (it outlives a reboot), and so its removal.
      expect(await commit([epKey('c1'), ep('c1', { joinedOnly: true, join: { ...joined, sandbox: 'x1' } })])).toBe(true);
      expect(await commit([epKey('c1'), undefined])).toBe(true);
      expect(await commit([sbKey('x1'), late('x1', 'deleting')])).toBe(true);
      expect(await commit([sbKey('x1'), undefined])).toBe(true);
      // An endpoint made on its own (synced), then joined (not synced), then removed: the removal is synced, or a
      // power loss would bring back the endpoint from its first record.
      expect(await commit([sbKey('s4'), sb('s4', 'live')])).toBe(false);
      expect(await commit([epKey('e9'), ep('e9')])).toBe(true);
      expect(await commit([epKey('e9'), ep('e9', { join: { ...joined, sandbox: 's4' } })])).toBe(false);
      expect(await commit([epKey('e9'), undefined])).toBe(true);
      // A join of a sandbox the model does not know is taken to outlive a reboot.
      expect(await commit([epKey('e8'), ep('e8', { joinedOnly: true, join: { ...joined, sandbox: 'nobody' } })])).toBe(true);
    });

    it('L6 a line holding any record that outlives a reboot is synced, whatever else it holds', async () => {
      const { commit } = await harness();
      expect(await commit([sbKey('s2'), sb('s2', 'live')], [epKey('e3'), ep('e3', { join: { ...joined, sandbox: 's2' } })])).toBe(false);
      expect(await commit([sbKey('s3'), sb('s3', 'live')], [netKey('n2'), net(2)])).toBe(true);
      expect(await commit([epKey('e4'), ep('e4', { join: joined })], [epKey('e5'), ep('e5')])).toBe(true);
    });
  });
});
