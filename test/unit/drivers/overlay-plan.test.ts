import { describe, expect, it } from 'vitest';
import { bridgePlan, type LinkOp } from '../../../drivers/index.js';
import {
  allocateVni, desiredEntries, diffEntries, normalizeOverlayOptions, overlayBridgeName, overlayMtu, vxlanName, VNI_FIRST, VXLAN_OVERHEAD,
  type OverlayEntries, type OverlayPeer,
} from '../../../drivers/overlay/index.js';
import { planAddVxlan } from '../../../drivers/overlay/plan.js';

const peer = (n: number, vtep: string, ipv6 = false): OverlayPeer => ({
  mac: `02:42:0a:58:00:${n.toString(16).padStart(2, '0')}`, ipv4: `10.88.0.${n}`, ...(ipv6 ? { ipv6: `fd00:88::${n.toString(16)}` } : {}), vtep,
});

/** What the kernel holds after `ops` (fdb keyed by MAC+dst as the VXLAN device keys remotes; neigh by address). */
function apply(current: OverlayEntries, ops: readonly LinkOp[]): OverlayEntries {
  const fdb = new Map(current.fdb.map((e) => [`${e.mac} ${e.dst}`, e]));
  const neigh = new Map(current.neigh.map((e) => [e.address, e]));
  for (const op of ops) {
    if (op.kind === 'fdb-del') fdb.delete(`${op.mac} ${op.dst}`);
    else if (op.kind === 'fdb-set') {
      for (const k of [...fdb.keys()]) if (k.startsWith(`${op.mac} `)) fdb.delete(k); // replace: one remote per MAC
      fdb.set(`${op.mac} ${op.dst}`, { mac: op.mac, dst: op.dst });
    } else if (op.kind === 'neigh-del') neigh.delete(op.address);
    else if (op.kind === 'neigh-set') neigh.set(op.address, { address: op.address, mac: op.mac });
    else throw new Error(`unexpected ${op.kind}`);
  }
  return { fdb: [...fdb.values()], neigh: [...neigh.values()] };
}

const sorted = (e: OverlayEntries): OverlayEntries => ({
  fdb: [...e.fdb].sort((a, b) => a.mac.localeCompare(b.mac) || a.dst.localeCompare(b.dst)),
  neigh: [...e.neigh].sort((a, b) => a.address.localeCompare(b.address)),
});

describe('overlay plan: VNI allocation (O1)', () => {
  it('takes the lowest free id from 4096, skipping the ones other networks hold', () => {
    expect(allocateVni([])).toBe(VNI_FIRST);
    expect(allocateVni([{ vni: 4096, network: 'a' }, { vni: 4098, network: 'b' }])).toBe(4097);
    expect(allocateVni([{ vni: 4096, network: 'a' }, { vni: 4097, network: 'b' }, { vni: 10, network: 'c' }])).toBe(4098);
  });

  it('gives a requested id when free, and refuses one another network holds with a typed 409', () => {
    expect(allocateVni([{ vni: 4096, network: 'a' }], 42)).toBe(42);
    expect(() => allocateVni([{ vni: 42, network: 'a' }], 42)).toThrow(expect.objectContaining({ code: 'ERR_OVERLAY_VNI_IN_USE', status: 409 }));
  });

  it('never hands out the same id twice when networks are created one after another', () => {
    const used: { vni: number; network: string }[] = [];
    for (let i = 0; i < 200; i++) used.push({ vni: allocateVni(used), network: `n${i}` });
    expect(new Set(used.map((u) => u.vni)).size).toBe(200);
  });
});

describe('overlay plan: options, names, MTU (O4)', () => {
  it('accepts mtu, vni and attachable with Docker synonyms and string values; refuses anything else by name', () => {
    expect(normalizeOverlayOptions({ 'com.docker.network.driver.mtu': '1400', 'com.docker.network.driver.overlay.vxlanid_list': '5000', attachable: 'true' }))
      .toEqual({ mtu: 1400, vni: 5000, attachable: true });
    expect(() => normalizeOverlayOptions({ vni: '0' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => normalizeOverlayOptions({ vni: 1 << 24 })).toThrow(/VXLAN id/);
    expect(() => normalizeOverlayOptions({ mtu: 1000 })).toThrow(/1280/);
    expect(() => normalizeOverlayOptions({ bridge_name: 'x' })).toThrow(/unknown overlay option/);
    expect(() => normalizeOverlayOptions({ vni: 5, 'com.docker.network.driver.overlay.vxlanid_list': '6' })).toThrow(/contradicts/);
  });

  it('MTU is the underlay minus 50 bytes of encapsulation, or a lower asked one', () => {
    expect(VXLAN_OVERHEAD).toBe(50);
    expect(overlayMtu(1500)).toBe(1450);
    expect(overlayMtu(9000)).toBe(8950);
    expect(overlayMtu(1500, 1400)).toBe(1400);
    expect(overlayMtu(1500, 1480)).toBe(1450);
    expect(overlayMtu(1500, undefined, true)).toBe(1430); // an IPv6 underlay: 20 bytes more of outer header
  });

  it('makes the VXLAN device with learning off, proxy on, port 4789, marked, on the bridge', () => {
    const ops = planAddVxlan({ networkId: 'abcdef0123456789ffff', vxlan: vxlanName('abcdef0123456789'), bridge: overlayBridgeName('abcdef0123456789'), vni: 4096, local: '172.30.1.10', mtu: 1450 });
    expect(ops.map(bridgePlan.renderOp)).toEqual([
      'link add vx-abcdef012345 mtu 1450 address 06:ab:cd:ef:01:23 type vxlan id 4096 local 172.30.1.10 dstport 4789 nolearning proxy',
      'link set vx-abcdef012345 alias sandns:ov:abcdef0123456789ffff',
      'link set vx-abcdef012345 master ov-abcdef012345 up',
    ]);
  });
});

describe('overlay plan: entries (O3, O5)', () => {
  it('one forwarding entry per MAC and one neighbour entry per address, IPv6 included', () => {
    const e = desiredEntries([peer(2, '172.30.1.11', true), peer(3, '172.30.1.12')]);
    expect(e.fdb).toEqual([{ mac: '02:42:0a:58:00:02', dst: '172.30.1.11' }, { mac: '02:42:0a:58:00:03', dst: '172.30.1.12' }]);
    expect(e.neigh).toEqual([
      { address: '10.88.0.2', mac: '02:42:0a:58:00:02' }, { address: 'fd00:88::2', mac: '02:42:0a:58:00:02' }, { address: '10.88.0.3', mac: '02:42:0a:58:00:03' },
    ]);
  });

  it('conflicting records (one MAC at two VTEPs) resolve the same way on every host, whatever their order', () => {
    const a = { ...peer(2, '172.30.1.12') };
    const b = { ...peer(2, '172.30.1.11'), ipv4: '10.88.0.9' };
    expect(desiredEntries([a, b])).toEqual(desiredEntries([b, a]));
    expect(desiredEntries([a, b]).fdb).toEqual([{ mac: '02:42:0a:58:00:02', dst: '172.30.1.11' }]);
  });

  it('from nothing: only sets; to nothing: only deletes (a host whose lease expired leaves no entry)', () => {
    const want = desiredEntries([peer(2, '172.30.1.11'), peer(3, '172.30.1.11')]);
    const add = diffEntries('vx-1', { fdb: [], neigh: [] }, want);
    expect(add.map((o) => o.kind)).toEqual(['fdb-set', 'fdb-set', 'neigh-set', 'neigh-set']);
    const del = diffEntries('vx-1', want, desiredEntries([]));
    expect(del.map((o) => o.kind)).toEqual(['fdb-del', 'fdb-del', 'neigh-del', 'neigh-del']);
    expect(del.map(bridgePlan.renderOp)).toContain('bridge fdb del 02:42:0a:58:00:02 dev vx-1 dst 172.30.1.11 self');
  });

  it('a moved endpoint (new VTEP, new MAC for an address) is deleted before it is set again; unchanged entries are left alone', () => {
    const before = desiredEntries([peer(2, '172.30.1.11'), peer(3, '172.30.1.11')]);
    const after = desiredEntries([peer(2, '172.30.1.12'), { ...peer(4, '172.30.1.11'), ipv4: '10.88.0.3' }]);
    const ops = diffEntries('vx-1', before, after);
    const firstSet = ops.findIndex((o) => o.kind.endsWith('-set'));
    expect(ops.slice(0, firstSet).every((o) => o.kind.endsWith('-del'))).toBe(true);
    expect(ops).toContainEqual({ kind: 'fdb-del', dev: 'vx-1', mac: '02:42:0a:58:00:02', dst: '172.30.1.11' });
    expect(ops).toContainEqual({ kind: 'fdb-set', dev: 'vx-1', mac: '02:42:0a:58:00:02', dst: '172.30.1.12' });
    expect(ops).toContainEqual({ kind: 'neigh-set', dev: 'vx-1', address: '10.88.0.3', mac: '02:42:0a:58:00:04' });
    expect(ops.some((o) => o.kind === 'neigh-set' && o.address === '10.88.0.2')).toBe(false);
  });

  it('converges from any kernel state in one plan, and the plan of the result is empty (no duplicates, ever)', () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let round = 0; round < 200; round++) {
      const peers = Array.from({ length: rnd(8) }, () => peer(1 + rnd(20), `172.30.1.${10 + rnd(4)}`, rnd(2) === 1));
      const junk: OverlayEntries = {
        fdb: Array.from({ length: rnd(6) }, () => ({ mac: peer(1 + rnd(20), '').mac, dst: `172.30.1.${10 + rnd(6)}` })),
        neigh: Array.from({ length: rnd(6) }, () => ({ address: `10.88.0.${1 + rnd(25)}`, mac: peer(1 + rnd(20), '').mac })),
      };
      const want = desiredEntries(peers);
      const got = apply(junk, diffEntries('vx', junk, want));
      expect(sorted(got)).toEqual(sorted(want));
      expect(diffEntries('vx', got, want)).toEqual([]);
    }
  });

  it('compares MACs case-insensitively (the kernel prints lowercase)', () => {
    const want = desiredEntries([{ ...peer(2, '172.30.1.11'), mac: '02:42:0A:58:00:02' }]);
    expect(diffEntries('vx', { fdb: [{ mac: '02:42:0a:58:00:02', dst: '172.30.1.11' }], neigh: [{ address: '10.88.0.2', mac: '02:42:0a:58:00:02' }] }, want)).toEqual([]);
  });
});
