/**
 * L3: restore undoes an unfinished create and finishes an unfinished delete; when that fails (a bridge the kernel
 * will not remove), the record is handed back to be kept on disk, so the next start tries again, instead of being
 * written out of the state with the bridge forgotten. A fake driver; no kernel.
 */
import { describe, expect, it } from 'vitest';
import { restoreState } from '../../../controller/restore.js';
import { DriverRegistry, type Driver } from '../../../drivers/index.js';
import { silentLogger } from '../../../common/log.js';
import type { Intent, PersistedNetwork } from '../../../store/index.js';

const net = (i: number, phase: PersistedNetwork['phase']): PersistedNetwork => ({
  id: `${i}`.padStart(64, '0'), name: `n${i}`, driver: 'fake', subnet: `10.${i}.0.0/24`, gateway: `10.${i}.0.1`, internal: false, ttl: 600, driverOptions: {}, phase,
});

function fakeDriver(refuse: Set<string>): Driver {
  const discarded: string[] = [];
  const d = {
    name: 'fake', dataScope: 'local',
    validateOptions: (o: Record<string, unknown>) => o,
    discardNetwork: async (n: { id: string }) => {
      if (refuse.has(n.id)) throw new Error('EBUSY: the bridge stays');
      discarded.push(n.id);
      return true;
    },
    networkExists: async () => true,
    reconcileEndpoints: async () => ({ removed: [], reattached: [] }),
  };
  return d as unknown as Driver;
}

describe('restore keeps the records it could not finish', () => {
  it('an unfinished create or delete whose bridge cannot be removed is kept; one that can is dropped; a live one is adopted', async () => {
    const stuck = [net(1, 'creating'), net(2, 'deleting')];
    const fine = [net(3, 'creating'), net(4, 'deleting')];
    const live = net(5, 'live');
    const kept: Intent[] = [];
    const added: string[] = [];
    const r = await restoreState({
      core: {} as never, drivers: new DriverRegistry([fakeDriver(new Set(stuck.map((n) => n.id)))]), logger: silentLogger(), originResolvConf: '/dev/null',
      addNetwork: (n) => void added.push(n.name), addSandbox: () => undefined, keepUnfinished: (i) => void kept.push(i),
    }, { networks: [...stuck, ...fine, live], endpoints: [], sandboxes: [] });
    expect(kept).toEqual(stuck.map((network) => ({ network })));
    expect(added).toEqual(['n5']);
    expect(r.undone).toEqual(['create of network n3', 'delete of network n4']);
    expect(r.problems.filter((p) => /record is kept: the next start tries again/.test(p))).toHaveLength(2);
  });

  it('L3 a hand-edited record keeps its network: good labels and the time are restored, each bad label is a problem', async () => {
    const added: { name: string; labels: unknown; created: unknown }[] = [];
    const edited = { ...net(6, 'live'), labels: { ok: 'yes', 'bad=key': 'x', n: 1 }, created: '2026-12-02T03:00:00+02:00' };
    const r = await restoreState({
      core: {} as never, drivers: new DriverRegistry([fakeDriver(new Set())]), logger: silentLogger(), originResolvConf: '/dev/null',
      addNetwork: (n) => void added.push({ name: n.name, labels: n.labels, created: n.created }), addSandbox: () => undefined, keepUnfinished: () => undefined,
    }, { networks: [edited, { ...net(7, 'live'), labels: null }], endpoints: [], sandboxes: [] });
    expect(added).toEqual([
      { name: 'n6', labels: { ok: 'yes' }, created: '2026-12-02T01:00:00.000Z' },
      { name: 'n7', labels: {}, created: undefined },
    ]);
    expect(r.problems).toEqual([
      'network n6: label "bad=key": key "bad=key" must be 1-256 characters without "=" or control characters: dropped',
      'network n6: label "n": value of "n" must be a string: dropped',
      'network n7: labels that are not an object: dropped',
    ]);
  });
});
