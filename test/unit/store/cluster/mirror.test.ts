import { describe, expect, it } from 'vitest';
import { KeySpace } from '../../../../store/cluster/keys.js';
import { Mirror, type MirrorChange } from '../../../../store/cluster/mirror.js';
import { OwnedKeys, reconcilePlan } from '../../../../store/cluster/own.js';

const keys = new KeySpace('/sandns');
const net = { id: 'n1', name: 'g', driver: 'bridge', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: false, ttl: 600, dns: [], options: {} };
const rec = (member: string, id: string, ipv4: string, names = [id]) => ({ id, member, names, ipv4, ports: [] });
const kv = (key: string, value: unknown) => ({ key, value: JSON.stringify(value) });
const kinds = (cs: readonly (MirrorChange | undefined)[]) => cs.map((c) => c && `${c.kind}:${'op' in c ? c.op : ''}`);

describe('key layout and mirror (M2, M6)', () => {
  it('M2 keys parse back to their parts; foreign or malformed keys are not ours', () => {
    expect(keys.parse(keys.record('g', 'm1', 'e1'))).toEqual({ kind: 'record', network: 'g', member: 'm1', endpoint: 'e1' });
    expect(keys.parse(keys.address('g', '10.9.0.2'))).toEqual({ kind: 'address', network: 'g', address: '10.9.0.2' });
    expect(keys.parse(keys.network('g'))).toEqual({ kind: 'network', network: 'g' });
    expect(keys.parse(keys.member('m1'))).toEqual({ kind: 'member', member: 'm1' });
    expect(keys.parse(keys.netlock())).toEqual({ kind: 'netlock' });
    for (const k of ['/other/networks/g', '/sandns/networks/', '/sandns/endpoints/g/m1', '/sandns/ipam/g/1/2', '/sandns/x']) expect(keys.parse(k)).toBeUndefined();
  });

  it('M6 events apply in order; malformed values are reported and never stored; deletes carry the old value', () => {
    const m = new Mirror(keys);
    expect(kinds([m.apply({ type: 'put', key: keys.network('g'), value: JSON.stringify(net) }, 5)])).toEqual(['network:put']);
    expect(kinds([m.apply({ type: 'put', key: keys.record('g', 'm1', 'e1'), value: JSON.stringify(rec('m1', 'e1', '10.9.0.2')) }, 6)])).toEqual(['record:put']);
    expect(kinds([m.apply({ type: 'put', key: keys.record('g', 'm1', 'e2'), value: '{"id":"e2"' }, 7)])).toEqual(['malformed:']);
    expect(kinds([m.apply({ type: 'put', key: keys.record('g', 'm1', 'e3'), value: JSON.stringify(rec('m2', 'e3', '10.9.0.3')) }, 8)])).toEqual(['malformed:']);
    expect(m.remoteRecordCount('m0')).toBe(1);
    expect(m.remoteRecordCount('m1')).toBe(0);
    const del = m.apply({ type: 'delete', key: keys.record('g', 'm1', 'e1') }, 9);
    expect(del).toMatchObject({ kind: 'record', op: 'delete', record: { id: 'e1', ipv4: '10.9.0.2' } });
    expect(m.apply({ type: 'delete', key: keys.record('g', 'm1', 'e1') }, 10)).toBeUndefined();
    expect(m.records.has('g')).toBe(false);
    expect(m.revision).toBe(10);
  });

  it('M2 a value of the right types but not a valid one is malformed (never reaches the model), and drops the value it replaced', () => {
    const badNets: Record<string, unknown>[] = [
      { subnet: '10.9.0.0/33' }, { subnet: 'fd00::/64' }, { gateway: 'x' }, { gateway: 'fd00::1' }, { subnet6: '10.1.0.0/24', gateway6: 'fd00::1' },
      { gateway6: 'fd00::1' }, { subnet6: 'fd00::/64', gateway6: '10.9.0.1' }, { ttl: -1 }, { ttl: 1.5 }, { ttl: '600' }, { dns: ['x'] }, { dns: 'x' },
      { options: [] }, { options: null }, { vni: 0 }, { internal: 'no' },
    ];
    const badRecs: Record<string, unknown>[] = [
      { ipv4: 'x' }, { ipv4: 'fd00::2' }, { ipv4: '10.9.0.2/24' }, { ipv6: '10.9.0.2' }, { ipv6: 'y' }, { names: ['bad name'] }, { names: ['a..b'] },
      { names: ['-x'] }, { names: ['x\ny'] }, { ports: [{ port: 0, proto: 'tcp' }] }, { ports: [{ port: 70000, proto: 'udp' }] }, { ports: [{ port: 80, proto: 'sctp' }] },
      { mac: 5 }, { mac: 'zz:zz:zz:zz:zz:zz' }, { mac: '02:42:ac:11:00' },
    ];
    for (const bad of badNets) {
      const m = new Mirror(keys);
      m.apply({ type: 'put', key: keys.network('g'), value: JSON.stringify(net) }, 1);
      const c = m.apply({ type: 'put', key: keys.network('g'), value: JSON.stringify({ ...net, ...bad }) }, 2);
      expect(c, JSON.stringify(bad)).toMatchObject({ kind: 'malformed', dropped: { kind: 'network', op: 'delete', spec: { name: 'g', subnet: '10.9.0.0/24' } } });
      expect(m.networks.has('g'), JSON.stringify(bad)).toBe(false);
    }
    for (const bad of badRecs) {
      const m = new Mirror(keys);
      const key = keys.record('g', 'm1', 'e1');
      m.apply({ type: 'put', key, value: JSON.stringify(rec('m1', 'e1', '10.9.0.2')) }, 1);
      const changes = m.applyAll([{ type: 'put', key, value: JSON.stringify({ ...rec('m1', 'e1', '10.9.0.2'), ...bad }), revision: 2 }]);
      expect(kinds(changes), JSON.stringify(bad)).toEqual(['malformed:', 'record:delete']);
      expect(m.remoteRecordCount('m0'), JSON.stringify(bad)).toBe(0);
    }
    // The good spellings still pass: a MAC, '' (no MAC), IPv6, ports, dual-stack networks, no options at all.
    const m = new Mirror(keys);
    const good = { ...rec('m1', 'e1', '10.9.0.2', ['e1', 'web.g']), ipv6: 'fd00::2', mac: '02:42:AC:11:00:02', ports: [{ port: 80, proto: 'tcp' }] };
    expect(kinds([m.apply({ type: 'put', key: keys.record('g', 'm1', 'e1'), value: JSON.stringify(good) }, 1)])).toEqual(['record:put']);
    expect(kinds([m.apply({ type: 'put', key: keys.record('g', 'm1', 'e2'), value: JSON.stringify({ ...rec('m1', 'e2', '10.9.0.3'), mac: '' }) }, 2)])).toEqual(['record:put']);
    const { options: _none, ...noOptions } = net;
    expect(m.apply({ type: 'put', key: keys.network('g'), value: JSON.stringify({ ...noOptions, subnet6: 'fd00:9::/64', gateway6: 'fd00:9::1', dns: ['10.0.0.2', 'fd00::53'] }) }, 3))
      .toMatchObject({ kind: 'network', op: 'put', spec: { options: {}, subnet6: 'fd00:9::/64' } });
    // Members (their advertise address is a VTEP) and claims (the address is in the key) likewise.
    expect(m.apply({ type: 'put', key: keys.member('m9'), value: JSON.stringify({ id: 'm9', advertise: 'host-b', hostname: 'b', since: 1 }) }, 4)).toMatchObject({ kind: 'malformed' });
    expect(m.apply({ type: 'put', key: keys.address('g', 'not-an-ip'), value: JSON.stringify({ member: 'm9', endpoint: 'e9' }) }, 5)).toMatchObject({ kind: 'malformed' });
    expect(m.claims.get('g')?.has('not-an-ip') ?? false).toBe(false);
    // A full listing reports what it skipped, after the difference.
    expect(kinds(new Mirror(keys).load([kv(keys.network('g'), net), kv(keys.record('g', 'm1', 'e1'), { ...rec('m1', 'e1', 'x') })], 9))).toEqual(['network:put', 'malformed:']);
  });

  it('M6 a full re-list (after a gap or a compacted watch) yields exactly the difference, deletions first', () => {
    const m = new Mirror(keys);
    m.load([kv(keys.network('g'), net), kv(keys.record('g', 'm1', 'e1'), rec('m1', 'e1', '10.9.0.2')), kv(keys.record('g', 'm2', 'e2'), rec('m2', 'e2', '10.9.0.3'))], 10);
    const changes = m.load([kv(keys.network('g'), net), kv(keys.record('g', 'm2', 'e2'), rec('m2', 'e2', '10.9.0.3', ['e2', 'alias'])), kv(keys.record('g', 'm3', 'e4'), rec('m3', 'e4', '10.9.0.4'))], 20);
    expect(kinds(changes)).toEqual(['record:delete', 'record:put', 'record:put']);
    expect(changes[0]).toMatchObject({ record: { id: 'e1' } });
    expect(m.revision).toBe(20);
    expect(m.load([], 30).map((c) => c.kind)).toEqual(['record', 'record', 'network']);
  });

  it('M5 M7 reconcile plan: re-put owned keys, delete keys of this member (or its former ids) it no longer owns', () => {
    const m = new Mirror(keys);
    m.load([
      kv(keys.network('g'), net),
      kv(keys.record('g', 'me', 'e1'), rec('me', 'e1', '10.9.0.2')), kv(keys.record('g', 'me', 'gone'), rec('me', 'gone', '10.9.0.5')),
      kv(keys.record('g', 'old', 'e9'), rec('old', 'e9', '10.9.0.9')), kv(keys.record('g', 'peer', 'p1'), rec('peer', 'p1', '10.9.0.7')),
      kv(keys.address('g', '10.9.0.2'), { member: 'me', endpoint: 'e1' }), kv(keys.address('g', '10.9.0.5'), { member: 'me', endpoint: 'gone' }),
      kv(keys.address('g', '10.9.0.7'), { member: 'peer', endpoint: 'p1' }),
    ], 3);
    const own = new OwnedKeys(keys);
    own.claim('g', '10.9.0.2', { member: 'me', endpoint: 'e1' });
    own.record('g', rec('me', 'e1', '10.9.0.2'));
    const plan = reconcilePlan(own, m, 'me', ['old']);
    expect(plan.claims.map((c) => c.address)).toEqual(['10.9.0.2']);
    expect(plan.records.map((r) => r.record.id)).toEqual(['e1']);
    expect([...plan.stale].sort()).toEqual([keys.address('g', '10.9.0.5'), keys.record('g', 'me', 'gone'), keys.record('g', 'old', 'e9')].sort());
    expect(plan.orphaned).toEqual([]);
    // A network etcd no longer has (deleted by another host while this one was away): its owned keys are orphaned,
    // never re-asserted or re-put.
    own.claim('h', '10.8.0.2', { member: 'me', endpoint: 'x1' });
    own.record('h', rec('me', 'x1', '10.8.0.2'));
    const again = reconcilePlan(own, m, 'me', ['old']);
    expect(again.claims.map((c) => c.address)).toEqual(['10.9.0.2']);
    expect(again.records.map((r) => r.record.id)).toEqual(['e1']);
    expect(again.orphaned.map((e) => `${e.kind}:${e.network}`).sort()).toEqual(['claim:h', 'record:h']);
    // g deleted and made again under its name while this host was away: another id than the local network's.
    const remade = reconcilePlan(own, m, 'me', ['old'], (n) => (n === 'g' ? 'the-old-g' : undefined));
    expect(remade.claims).toEqual([]);
    expect(remade.records).toEqual([]);
    expect(remade.orphaned.map((e) => `${e.kind}:${e.network}`).sort()).toEqual(['claim:g', 'claim:h', 'record:g', 'record:h']);
    expect(reconcilePlan(own, m, 'me', ['old'], () => net.id).claims.map((c) => c.address)).toEqual(['10.9.0.2']);
    own.rename('new');
    expect(own.entries().map((e) => e.key)).toContain(keys.record('g', 'new', 'e1'));
    expect(own.entries().every((e) => (e.kind === 'claim' ? e.claim.member : e.record.member) === 'new')).toBe(true);
  });
});
