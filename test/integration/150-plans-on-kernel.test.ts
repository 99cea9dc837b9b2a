/**
 * The network stack (N1–N10): every plan the bridge driver and the firewall produce runs
 * against the real kernel and nft, in scratch namespaces (a "host" and a
 * sandbox), not only compared as text — `-6 route replace …` passed every
 * text test and failed under `ip -batch`. Bridge plans go through the
 * driver's own executor (rtnetlink, drivers/bridge/io/netlink.ts) and are
 * read back with iproute2, the diagnostic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { bridgePlan, firewallPlan, type DriverJoin, type DriverNetwork, type FirewallEndpoint, type FirewallNetwork, type LinkOp } from '../../drivers/index.js';
import { applyOps } from '../../drivers/bridge/io/netlink.js';
import { uniqueName } from '../helpers/names.js';
import { inNs } from '../helpers/netprobe.js';

const H = uniqueName('h12p');
const S = uniqueName('s12p');
const HP = `/run/netns/${H}`;
const SP = `/run/netns/${S}`;

/** Run a plan in the namespace at `ns` with the driver's executor. */
async function apply(ns: string, ops: readonly LinkOp[]): Promise<void> {
  await applyOps(ns, ops);
}

async function nft(commands: readonly firewallPlan.NftCommand[], check = false): Promise<void> {
  const json = JSON.stringify(firewallPlan.nftDocument(commands));
  const r = await execa('nsenter', [`--net=${HP}`, '--', 'nft', ...(check ? ['-c'] : []), '-j', json], { reject: false });
  if (r.exitCode !== 0) throw new Error(`nft failed (${r.exitCode}): ${r.stderr}`);
}

const ipJ = async (ns: string, args: string[]): Promise<Record<string, unknown>[]> => JSON.parse(await inNs(ns, ['ip', '-j', ...args]) || '[]') as Record<string, unknown>[];

/** A bridge port's hairpin mode as the kernel reports it, two ways: `ip -d link show` (IFLA_INFO_SLAVE_DATA) and `bridge -d link show` (IFLA_PROTINFO). */
async function hairpin(ns: string, dev: string): Promise<{ ip: unknown; bridge: unknown }> {
  const [link] = (await ipJ(ns, ['-d', 'link', 'show', 'dev', dev])) as { linkinfo?: { info_slave_kind?: string; info_slave_data?: { hairpin?: boolean } } }[];
  const [port] = JSON.parse(await inNs(ns, ['bridge', '-j', '-d', 'link', 'show', 'dev', dev]) || '[]') as { hairpin?: boolean }[];
  return { ip: link?.linkinfo?.info_slave_kind === 'bridge' ? link.linkinfo.info_slave_data?.hairpin : 'not a bridge port', bridge: port?.hairpin };
}

const net: DriverNetwork = {
  id: 'c0ffee0012345678', name: 'plans', subnet: '10.98.7.0/24', gateway: '10.98.7.1', subnet6: 'fd98:7::/64', gateway6: 'fd98:7::1',
  internal: false, options: { mtu: 1400 },
};
const opts = { mtu: 1400, bridgeName: 'br12plans' };
const join = (ifname: string, id: string, ipv4: string, ipv6?: string, defaultRoute = true): DriverJoin => ({
  network: net, endpointId: id, ipv4, ...(ipv6 ? { ipv6 } : {}), netnsPath: SP, ifname, defaultRoute, mac: '02:42:0a:62:07:02',
});

beforeAll(async () => {
  await execa('ip', ['netns', 'add', H]);
  await execa('ip', ['netns', 'add', S]);
});

afterAll(async () => {
  for (const ns of [H, S]) await execa('ip', ['netns', 'del', ns], { reject: false });
});

describe('network stack: bridge plans on the real kernel', () => {
  it('create: a bridge with its MTU, its mark and both gateway addresses, up', async () => {
    await apply(HP, [...bridgePlan.planAddBridge(net, opts), ...bridgePlan.planCreateNetwork(net, opts)]);
    const [br] = await ipJ(HP, ['addr', 'show', 'dev', 'br12plans']);
    expect(br).toMatchObject({ mtu: 1400, operstate: expect.any(String) });
    expect(await ipJ(HP, ['link', 'show', 'dev', 'br12plans'])).toMatchObject([{ ifalias: bridgePlan.bridgeMark(net) }]);
    const addrs = (br!.addr_info as { local: string }[]).map((a) => a.local);
    expect(addrs).toEqual(expect.arrayContaining(['10.98.7.1', 'fd98:7::1']));
  });

  it('join (IPv4 and IPv6, MAC, default routes of both families), with a hairpin port on the bridge', async () => {
    const j = join('eth0', 'e1e1e1e1e1e1e1e1', '10.98.7.2', 'fd98:7::2');
    await apply(HP, bridgePlan.planAddVeth(j, opts));
    // One request made the pair: the host end on the bridge and up, the peer inside with its MAC (down until its addresses).
    expect(await ipJ(HP, ['link', 'show', 'dev', 'sve1e1e1e1e1e1'])).toMatchObject([{ master: 'br12plans', flags: expect.arrayContaining(['UP']) }]);
    expect(await ipJ(SP, ['link', 'show', 'dev', 'eth0'])).toMatchObject([{ address: '02:42:0a:62:07:02', flags: expect.not.arrayContaining(['UP']) }]);
    await apply(HP, bridgePlan.planJoinHost(j));
    await apply(SP, bridgePlan.planJoinSandbox(j));
    const [eth] = await ipJ(SP, ['addr', 'show', 'dev', 'eth0']);
    expect(eth).toMatchObject({ mtu: 1400, address: '02:42:0a:62:07:02', flags: expect.arrayContaining(['UP', 'LOWER_UP']) });
    expect((eth!.addr_info as { local: string }[]).map((a) => a.local)).toEqual(expect.arrayContaining(['10.98.7.2', 'fd98:7::2']));
    expect(await ipJ(SP, ['route', 'show', 'default'])).toMatchObject([{ gateway: '10.98.7.1', dev: 'eth0' }]);
    expect(await ipJ(SP, ['-6', 'route', 'show', 'default'])).toMatchObject([{ gateway: 'fd98:7::1', dev: 'eth0' }]);
    expect(await ipJ(HP, ['link', 'show', 'dev', 'sve1e1e1e1e1e1'])).toMatchObject([{ master: 'br12plans' }]);
    expect(await hairpin(HP, 'sve1e1e1e1e1e1')).toEqual({ ip: true, bridge: true });
  });

  it('hairpin mode is set over rtnetlink, both ways, and only on a bridge port (a typed error otherwise)', async () => {
    await apply(HP, [{ kind: 'port-set', dev: 'sve1e1e1e1e1e1', hairpin: false }]);
    expect(await hairpin(HP, 'sve1e1e1e1e1e1')).toEqual({ ip: false, bridge: false });
    await apply(HP, [{ kind: 'port-set', dev: 'sve1e1e1e1e1e1', hairpin: true }]);
    expect(await hairpin(HP, 'sve1e1e1e1e1e1')).toEqual({ ip: true, bridge: true });
    await expect(apply(HP, [{ kind: 'port-set', dev: 'br12plans', hairpin: true }])).rejects.toMatchObject({
      code: 'ERR_NETLINK_FAILED', message: expect.stringContaining('link set dev br12plans type bridge_slave hairpin on'),
    });
    await expect(apply(HP, [{ kind: 'port-set', dev: 'nosuchport0', hairpin: true }])).rejects.toMatchObject({ code: 'ERR_NETLINK_FAILED', errno: 'ENODEV' });
  });

  it('a pipelined sandbox side (every request sent before any answer) leaves what the sequential one does; its first failure in plan order is the error', async () => {
    const j = { ...join('eth2', 'e3e3e3e3e3e3e3e3', '10.98.7.4', 'fd98:7::4'), mac: '02:42:0a:62:07:04' };
    await apply(HP, bridgePlan.planAddVeth(j, opts));
    await applyOps(SP, bridgePlan.planJoinSandbox({ ...j, defaultRoute: false }), undefined, true);
    const [eth] = await ipJ(SP, ['addr', 'show', 'dev', 'eth2']);
    expect(eth).toMatchObject({ address: '02:42:0a:62:07:04', flags: expect.arrayContaining(['UP']) });
    expect((eth!.addr_info as { local: string }[]).map((a) => a.local)).toEqual(expect.arrayContaining(['10.98.7.4', 'fd98:7::4']));
    // The same address again (EEXIST) fails first; the requests after it were sent and answered too, and the error names the first.
    const again = bridgePlan.planJoinSandbox({ ...j, ipv6: undefined, defaultRoute: true });
    await expect(applyOps(SP, again, undefined, true)).rejects.toMatchObject({
      code: 'ERR_NETLINK_FAILED', errno: 'EEXIST', message: expect.stringContaining('addr add 10.98.7.4/24 dev eth2'),
    });
    // A kind that could change what the plan did not make is refused before anything is sent.
    await expect(applyOps(SP, [{ kind: 'link-del', dev: 'eth2' }], undefined, true)).rejects.toThrow(/cannot be pipelined/);
    expect((await ipJ(SP, ['link', 'show', 'dev', 'eth2'])).length).toBe(1);
    await apply(HP, [{ kind: 'link-del', dev: 'sve3e3e3e3e3e3' }]);
  });

  it('join without a default route, then both default routes move to it (leave of the gateway)', async () => {
    const j = { ...join('eth1', 'e2e2e2e2e2e2e2e2', '10.98.7.3', 'fd98:7::3', false), mac: '02:42:0a:62:07:03' };
    await apply(HP, [...bridgePlan.planAddVeth(j, opts), ...bridgePlan.planJoinHost(j)]);
    await apply(SP, bridgePlan.planJoinSandbox(j));
    expect(await ipJ(SP, ['link', 'show', 'dev', 'eth1'])).toMatchObject([{ address: '02:42:0a:62:07:03' }]);
    await apply(HP, [{ kind: 'link-del', dev: 'sve1e1e1e1e1e1' }]);
    await apply(SP, bridgePlan.planDefaultRoute(net, 'eth1'));
    expect(await ipJ(SP, ['route', 'show', 'default'])).toMatchObject([{ gateway: '10.98.7.1', dev: 'eth1' }]);
    expect(await ipJ(SP, ['-6', 'route', 'show', 'default'])).toMatchObject([{ gateway: 'fd98:7::1', dev: 'eth1' }]);
  });

  it('reattach after a bridge was made again, then leave and delete leave nothing', async () => {
    await apply(HP, bridgePlan.planDeleteNetwork(net, opts));
    await apply(HP, [...bridgePlan.planAddBridge(net, opts), ...bridgePlan.planCreateNetwork(net, opts)]);
    await apply(HP, bridgePlan.planReattach('br12plans', ['sve2e2e2e2e2e2']));
    expect(await ipJ(HP, ['link', 'show', 'dev', 'sve2e2e2e2e2e2'])).toMatchObject([{ master: 'br12plans' }]);
    expect(await hairpin(HP, 'sve2e2e2e2e2e2')).toEqual({ ip: true, bridge: true }); // a new port of the new bridge
    await apply(HP, [{ kind: 'link-del', dev: 'sve2e2e2e2e2e2' }]);
    await apply(HP, bridgePlan.planDeleteNetwork(net, opts));
    const links = (await ipJ(HP, ['link', 'show'])).map((l) => l.ifname);
    expect(links).toEqual(['lo']);
    expect((await ipJ(SP, ['link', 'show'])).map((l) => l.ifname)).toEqual(['lo']);
  });
});

describe('network stack: firewall plans on the real nft', () => {
  const T = 'sandns';
  const a: FirewallNetwork = { id: 'a', bridge: 'br12a', internal: false, subnet: '10.98.8.0/24', subnet6: 'fd98:8::/64' };
  const i: FirewallNetwork = { id: 'i', bridge: 'br12i', internal: true, subnet: '10.98.9.0/24' };
  const ep: FirewallEndpoint = {
    endpointId: 'e', networkId: 'a', ipv4: '10.98.8.2', ipv6: 'fd98:8::2',
    mappings: [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostIp: '0.0.0.0', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      { hostIp: '192.0.2.1', hostPort: 8443, containerPort: 443, protocol: 'tcp' }, { hostIp: 'fd98::1', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
    ],
  };
  const list = async (): Promise<string> => inNs(HP, ['nft', 'list', 'ruleset']);

  it('rebuild (empty and full), add and delete a network, publish and unpublish, drop: each one transaction nft accepts', async () => {
    await nft(firewallPlan.planRebuild(T, [], []), true);
    await nft(firewallPlan.planRebuild(T, [a], []));
    await nft(firewallPlan.planAddNetwork(T, i));
    await nft(firewallPlan.planPublish(T, ep));
    const full = await list();
    for (const want of ['"br12a" : goto from_egress', '"br12i" : goto from_internal', 'tcp . 8080 : 10.98.8.2', 'tcp . 8080 : fd98:8::2', '192.0.2.1 . tcp . 8443', 'fd98::1 . tcp . 8443', 'udp . 5353 : 53', '10.98.8.0/24']) {
      expect(full).toContain(want);
    }
    expect(full).not.toContain('udp . 5353 : fd98:8::2'); // 0.0.0.0 is IPv4 only
    // The same state rebuilt from scratch in one transaction lists the same.
    await nft(firewallPlan.planRebuild(T, [a, i], [ep]));
    expect(await list()).toBe(full);
    await nft(firewallPlan.planUnpublish(T, ep));
    await nft(firewallPlan.planDeleteNetwork(T, i));
    expect(await list()).toBe((await (async () => {
      await nft(firewallPlan.planRebuild(T, [a], []));
      return list();
    })()));
    await nft(firewallPlan.planDropTable(T));
    expect(await list()).toBe('');
    await nft(firewallPlan.planDropTable(T)); // idempotent
  });
});

describe('overlay (O2–O4): operations on the real kernel (vxlan-add, fdb-set/del, neigh-set/del, read back)', () => {
  it('a VXLAN device as planned; entries set, read back by the driver exactly, replaced, deleted (missing ones too)', async () => {
    const { planAddVxlan } = await import('../../drivers/overlay/plan.js');
    const { vxlanEntries, mtuOfAddress } = await import('../../drivers/bridge/io/netlink.js');
    await inNs(HP, ['ip', 'link', 'add', 'ul16', 'mtu', '1600', 'type', 'bridge']);
    await inNs(HP, ['ip', 'addr', 'add', '10.98.8.1/24', 'dev', 'ul16']);
    await inNs(HP, ['ip', 'link', 'set', 'ul16', 'up']);
    await apply(HP, [{ kind: 'bridge-add', name: 'ov16plans', mtu: 1550 }]);
    await apply(HP, planAddVxlan({ networkId: 'c0ffee16', vxlan: 'vx16plans', bridge: 'ov16plans', vni: 4242, local: '10.98.8.1', mtu: 1550 }));
    const [vx] = (await ipJ(HP, ['-d', 'link', 'show', 'dev', 'vx16plans'])) as { mtu: number; master: string; ifalias: string; linkinfo: { info_data: Record<string, unknown> } }[];
    expect(vx).toMatchObject({ mtu: 1550, master: 'ov16plans', ifalias: 'sandns:ov:c0ffee16' });
    expect(vx!.linkinfo.info_data).toMatchObject({ id: 4242, local: '10.98.8.1', port: 4789, learning: false, proxy: true });
    expect(await mtuOfAddress('10.98.8.1', HP)).toBe(1600); // the underlay of the VTEP
    expect(await mtuOfAddress('10.98.8.9', HP)).toBeUndefined();
    const ops: LinkOp[] = [
      { kind: 'fdb-set', dev: 'vx16plans', mac: '02:42:0a:63:00:02', dst: '10.98.8.2' },
      { kind: 'fdb-set', dev: 'vx16plans', mac: '02:42:0a:63:00:03', dst: '10.98.8.3' },
      { kind: 'neigh-set', dev: 'vx16plans', address: '10.99.0.2', mac: '02:42:0a:63:00:02' },
      { kind: 'neigh-set', dev: 'vx16plans', address: 'fd99::2', mac: '02:42:0a:63:00:02' },
    ];
    await apply(HP, ops);
    await apply(HP, ops); // replace: idempotent, never doubled
    await apply(HP, [{ kind: 'fdb-set', dev: 'vx16plans', mac: '02:42:0a:63:00:03', dst: '10.98.8.4' }]); // moved VTEP
    const fdb = (JSON.parse(await inNs(HP, ['bridge', '-j', 'fdb', 'show', 'dev', 'vx16plans'])) as { mac: string; dst?: string; flags?: string[] }[]).filter((e) => e.dst);
    expect(fdb.map((e) => `${e.mac} ${e.dst}`).sort()).toEqual(['02:42:0a:63:00:02 10.98.8.2', '02:42:0a:63:00:03 10.98.8.4']);
    const neigh = await ipJ(HP, ['neigh', 'show', 'dev', 'vx16plans']);
    expect(neigh).toEqual(expect.arrayContaining([expect.objectContaining({ dst: '10.99.0.2', lladdr: '02:42:0a:63:00:02', state: ['PERMANENT'] }), expect.objectContaining({ dst: 'fd99::2', state: ['PERMANENT'] })]));
    // The driver's own read-back (what its diff starts from): exactly what was set, IPv6 in canonical text.
    const seen = await vxlanEntries('vx16plans', HP);
    expect(seen!.fdb.map((e) => `${e.mac} ${e.dst}`).sort()).toEqual(['02:42:0a:63:00:02 10.98.8.2', '02:42:0a:63:00:03 10.98.8.4']);
    expect(seen!.neigh.map((e) => `${e.address} ${e.mac}`).sort()).toEqual(['10.99.0.2 02:42:0a:63:00:02', 'fd99::2 02:42:0a:63:00:02']);
    expect(await vxlanEntries('nosuchvx0', HP)).toBeUndefined();
    const dels: LinkOp[] = [
      { kind: 'fdb-del', dev: 'vx16plans', mac: '02:42:0a:63:00:02', dst: '10.98.8.2' },
      { kind: 'neigh-del', dev: 'vx16plans', address: '10.99.0.2' },
      { kind: 'neigh-del', dev: 'vx16plans', address: 'fd99::2' },
    ];
    await apply(HP, dels);
    await apply(HP, dels); // deleting what is gone is not an error
    expect((JSON.parse(await inNs(HP, ['bridge', '-j', 'fdb', 'show', 'dev', 'vx16plans'])) as { dst?: string }[]).filter((e) => e.dst).length).toBe(1);
    expect((await ipJ(HP, ['neigh', 'show', 'dev', 'vx16plans'])).filter((e) => (e.state as string[] | undefined)?.includes('PERMANENT'))).toEqual([]);
    await apply(HP, [{ kind: 'link-del', dev: 'vx16plans' }, { kind: 'link-del', dev: 'ov16plans' }, { kind: 'link-del', dev: 'ul16' }]);
  });
});
