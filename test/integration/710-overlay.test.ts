/**
 * Overlay networks across hosts (docs/overlay.md O1–O6), on
 * the simulated cluster of 700 (hosts are namespaces on an underlay bridge,
 * etcd members too): ping and TCP both ways between containers on hosts A
 * and B, names across hosts, nothing on a host without endpoints, two
 * overlays isolated, overlapping subnets refused anywhere, entries gone
 * within 1 s of a disconnect and within TTL + 1 s of a host's death, DF
 * pings of 1,400 bytes crossing with the overlay MTU = underlay − 50, a
 * kill -9 restart reconciling entries with no duplicates, egress through
 * the local host (none for internal networks). Figures: TCP goodput and
 * latency container-to-container vs the underlay in the same run, and the
 * time from a connect on B to the first ping from A.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildCli } from '../helpers/daemon.js';
import { ClusterLab, type LabHost } from '../helpers/cluster-lab.js';
import { connectSandbox, digA, removeSandboxLeftovers, startCluster, type ClusterHost } from '../helpers/cluster-hosts.js';
import { benchTcp, hostSwitches, probe, startBenchServer, startEcho, type EchoServer } from '../helpers/netprobe.js';
import { uniqueName } from '../helpers/names.js';
import { waitFor } from '../helpers/wait.js';

const TTL = 8;
const tag = uniqueName('v');
const NET = `${tag}o`;
const NET2 = `${tag}p`;
const INTERNAL = `${tag}i`;
const sb = (h: string, i: number | string): string => `${tag}-${h}${i}`;
const nsOf = (name: string): string => `/run/netns/${name}`;

let build: { bin: string; remove(): Promise<void> };
let lab: ClusterLab;
let A: ClusterHost;
let B: ClusterHost;
let C: ClusterHost;
let before: Awaited<ReturnType<typeof hostSwitches>>;
const servers: EchoServer[] = [];

interface Ep { ipv4: string; mac: string; macAddress?: string }
interface NetInfo { id: string; scope: string; driver: string; vni: number; mtu?: number; vxlan: string; bridge: string; attachable: boolean }
type Http = { status: number; body: unknown };
const code = (r: Http): unknown => (r.body as { code?: string } | undefined)?.code;

const inHost = (h: LabHost, argv: readonly string[]) => execa('nsenter', [`--net=${h.netnsPath}`, '--', ...argv], { reject: false });
const links = async (h: LabHost): Promise<{ ifname: string; mtu: number }[]> => JSON.parse((await inHost(h, ['ip', '-j', 'link', 'show'])).stdout) as { ifname: string; mtu: number }[];
const fdb = async (h: LabHost, dev: string): Promise<{ mac: string; dst?: string }[]> => {
  const r = await inHost(h, ['bridge', '-j', 'fdb', 'show', 'dev', dev]);
  return r.exitCode === 0 ? (JSON.parse(r.stdout || '[]') as { mac: string; dst?: string }[]).filter((e) => e.dst !== undefined) : [];
};
const neigh = async (h: LabHost, dev: string): Promise<{ dst: string; lladdr?: string; state?: string[] }[]> => {
  const r = await inHost(h, ['ip', '-j', 'neigh', 'show', 'dev', dev]);
  return r.exitCode === 0 ? JSON.parse(r.stdout || '[]') as { dst: string; lladdr?: string; state?: string[] }[] : [];
};
/**
 * A global create on this loaded 2-core machine: etcd may miss a call deadline, which is a 503 by design (M8);
 * asked again for up to 15 s, as a user would. The final answer, whatever it is.
 */
async function askGlobal(h: ClusterHost, body: Record<string, unknown>): Promise<Http> {
  const end = Date.now() + 15_000;
  for (;;) {
    const r = await h.daemon.http('POST', '/networks', body);
    if (r.status !== 503 || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 300));
  }
}

async function createGlobal<T>(h: ClusterHost, body: Record<string, unknown>): Promise<T> {
  const r = await askGlobal(h, body);
  if (r.status !== 201) throw new Error(`POST /networks -> ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}

/** One ping from sandbox `from` to `to` (DF set; `size` payload bytes): true when answered. */
const ping = async (from: string, to: string, size = 56, waitS = 1): Promise<boolean> =>
  (await execa('nsenter', [`--net=${nsOf(from)}`, '--', 'ping', '-n', '-c', '1', '-W', String(waitS), '-M', 'do', '-s', String(size), to], { reject: false })).exitCode === 0;

beforeAll(async () => {
  before = await hostSwitches();
  build = await buildCli();
  lab = await ClusterLab.create(tag.slice(0, 7));
  [A, B, C] = (await startCluster(lab, build.bin, ['a', 'b', 'c'], TTL, 1)) as [ClusterHost, ClusterHost, ClusterHost];
}, 240_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const h of [A, B, C]) await h?.daemon.kill('SIGKILL');
  if (process.env.SANDNS_KEEP_LOGS) await execa('bash', ['-c', `mkdir -p ${process.env.SANDNS_KEEP_LOGS} && for d in ${lab.dir}/d-*; do for f in $d/daemon-*.log; do cp $f ${process.env.SANDNS_KEEP_LOGS}/710-$(basename $d)-$(basename $f); done; done`], { reject: false });
  await lab?.destroy();
  await removeSandboxLeftovers(tag);
  await build?.remove();
  // The machine's own ruleset and forwarding switch: every rule and sysctl lived in the lab's namespaces.
  expect(await hostSwitches()).toEqual(before);
}, 60_000);

describe('710 overlay driver: VXLAN across hosts', () => {
  let net: NetInfo;
  let a1: Ep;
  let b1: Ep;
  let vx2 = '';

  it('O1 network create --driver overlay: global, a VNI from the cluster, the same on every host; needs --attachable to connect', async () => {
    let out = await A.daemon.cli(['network', 'create', NET, '--driver', 'overlay', '--subnet', '10.88.0.0/24', '--attachable']);
    for (let i = 0; i < 20 && out.exitCode !== 0 && out.stderr.includes('ERR_CLUSTER_UNAVAILABLE'); i++) {
      await new Promise((r) => setTimeout(r, 500)); // a missed etcd deadline on this loaded machine (M8): asked again
      out = await A.daemon.cli(['network', 'create', NET, '--driver', 'overlay', '--subnet', '10.88.0.0/24', '--attachable']);
    }
    expect(out.exitCode, out.stderr).toBe(0);
    net = await A.daemon.api<NetInfo>('GET', `/networks/${NET}`);
    expect(net).toMatchObject({ scope: 'global', driver: 'overlay', attachable: true });
    expect(net.vni).toBeGreaterThanOrEqual(4096);
    for (const h of [B, C]) {
      expect(await waitFor(async () => (await h.daemon.http('GET', `/networks/${NET}`)).status === 200, 2_000)).toBe(true);
      expect((await h.daemon.api<NetInfo>('GET', `/networks/${NET}`)).vni).toBe(net.vni);
    }
    expect((await lab.etcdctl(['get', '--print-value-only', `/sandns/networks/${NET}`])).stdout).toContain(`"vni":${net.vni}`);
    const local = await B.daemon.http('POST', '/networks', { name: `${tag}x`, driver: 'overlay', scope: 'local' });
    expect([local.status, code(local)]).toEqual([400, 'ERR_INVALID_OPTION']);
    const fixed = await askGlobal(B, { name: `${tag}y`, driver: 'overlay', subnet: '10.91.0.0/24', driverOptions: { vni: String(net.vni) } });
    expect([fixed.status, code(fixed)]).toEqual([409, 'ERR_OVERLAY_VNI_IN_USE']);
    // Without --attachable a connect by hand is refused, as Docker's "not manually attachable".
    await createGlobal(C, { name: `${tag}n`, driver: 'overlay', subnet: '10.92.0.0/24' });
    await C.daemon.api('POST', '/sandboxes', { name: sb('c', 'na') });
    const na = await C.daemon.http('POST', `/networks/${tag}n/connect`, { sandbox: sb('c', 'na') });
    expect([na.status, code(na)]).toEqual([403, 'ERR_NETWORK_NOT_ATTACHABLE']);
    await C.daemon.api('DELETE', `/networks/${tag}n`);
  }, 60_000);

  it('O1 a VXLAN id that a device of someone else\'s holds on a host (same id and port): the first connect there is 409 ERR_OVERLAY_VNI_IN_USE and leaves nothing; once it is gone, the connect works', async () => {
    const foreign = `fv${tag.slice(1)}`;
    const vni = 7777;
    expect((await inHost(C.host, ['ip', 'link', 'add', foreign, 'type', 'vxlan', 'id', String(vni), 'dstport', '4789', 'local', C.host.ip])).exitCode).toBe(0);
    try {
      await createGlobal(A, { name: `${tag}f`, driver: 'overlay', subnet: '10.93.0.0/24', attachable: true, driverOptions: { vni: String(vni) } });
      await C.daemon.api('POST', '/sandboxes', { name: sb('c', 'fv') });
      expect(await waitFor(async () => (await C.daemon.http('GET', `/networks/${tag}f`)).status === 200, 5_000)).toBe(true);
      const r = await C.daemon.http('POST', `/networks/${tag}f/connect`, { sandbox: sb('c', 'fv') });
      expect([r.status, code(r)]).toEqual([409, 'ERR_OVERLAY_VNI_IN_USE']);
      expect((r.body as { message: string }).message).toMatch(/VXLAN id 7777 on UDP port 4789 is used by another VXLAN device on this host/);
      expect((await links(C.host)).map((l) => l.ifname).filter((n) => n.startsWith('vx-') || n.startsWith('ov-') || n.startsWith('sv'))).toEqual([]);
      expect((await links(C.host)).map((l) => l.ifname)).toContain(foreign); // theirs stays
      await inHost(C.host, ['ip', 'link', 'del', foreign]);
      const ok = await C.daemon.http('POST', `/networks/${tag}f/connect`, { sandbox: sb('c', 'fv') });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    } finally {
      await C.daemon.http('DELETE', `/sandboxes/${sb('c', 'fv')}`);
      await A.daemon.http('DELETE', `/networks/${tag}f`);
      await inHost(C.host, ['ip', 'link', 'del', foreign]);
    }
    expect(await waitFor(async () => (await links(C.host)).every((l) => !l.ifname.startsWith('vx-') && !l.ifname.startsWith('ov-')), 5_000)).toBe(true);
  }, 60_000);

  /**
   * L5 on a global network: a connect's addresses are claimed in the store and the network's devices made on the host
   * over round trips, during which the network's delete saw no endpoint yet. Both answering success (an endpoint on a
   * network that is gone, devices and a veth leaked, its address unclaimed) fits no serial order: the connect must
   * answer 404 when the delete won, or the delete 403 when the connect did.
   */
  it('L5 a connect and a delete of the same global network at once: one serial order, nothing left behind', async () => {
    const outcomes = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const name = `${tag}r${i}`;
      await createGlobal(A, { name, driver: 'overlay', subnet: '10.94.0.0/24', attachable: true });
      expect(await waitFor(async () => (await C.daemon.http('GET', `/networks/${name}`)).status === 200, 5_000)).toBe(true);
      const box = sb('c', `r${i}`);
      await C.daemon.api('POST', '/sandboxes', { name: box });
      try {
        const [conn, del] = await Promise.all([
          C.daemon.http('POST', `/networks/${name}/connect`, { sandbox: box }),
          C.daemon.http('DELETE', `/networks/${name}`),
        ]);
        const pair = `${conn.status}/${del.status}`;
        outcomes.add(pair);
        // 503: etcd missed a deadline on this loaded machine (M8), an answer that changed nothing; any other pair is one order.
        if (conn.status !== 503 && del.status !== 503) expect(['201/403', '404/204', '404/200'], `connect ${JSON.stringify(conn.body)} delete ${JSON.stringify(del.body)}`).toContain(pair);
      } finally {
        await C.daemon.http('DELETE', `/sandboxes/${box}`);
        await C.daemon.http('DELETE', `/networks/${name}`);
      }
      expect(await waitFor(async () => (await links(C.host)).every((l) => !l.ifname.startsWith('vx-') && !l.ifname.startsWith('ov-')), 5_000)).toBe(true);
    }
    console.log(`[710] connect/delete races: ${[...outcomes].join(', ')}`);
  }, 120_000);

  it('O2 containers on A and B: ping and TCP both ways, names across hosts; devices only where endpoints are', async () => {
    a1 = await connectSandbox<Ep>(A, sb('a', 1), NET);
    const t0 = performance.now();
    b1 = await connectSandbox<Ep>(B, sb('b', 1), NET);
    let first = false;
    while (!first && performance.now() - t0 < 5_000) first = await ping(sb('a', 1), b1.ipv4, 56, 0.2);
    console.info(`[710] connect on B -> first ping from A answered: ${Math.round(performance.now() - t0)} ms`);
    expect(first).toBe(true);
    expect(await ping(sb('b', 1), a1.ipv4)).toBe(true);
    servers.push(await startEcho(nsOf(sb('a', 1)), a1.ipv4, 7000), await startEcho(nsOf(sb('b', 1)), b1.ipv4, 7000));
    expect(await probe(nsOf(sb('a', 1)), 'tcp', b1.ipv4, 7000)).toBe(a1.ipv4);
    expect(await probe(nsOf(sb('b', 1)), 'tcp', a1.ipv4, 7000)).toBe(b1.ipv4);
    expect(await probe(nsOf(sb('b', 1)), 'udp', a1.ipv4, 7000)).toBe(b1.ipv4);
    for (const name of [sb('b', 1), `${sb('b', 1)}.${NET}`]) expect(await waitFor(async () => (await digA(sb('a', 1), name)).includes(b1.ipv4), 1_000, 20)).toBe(true);
    expect(await digA(sb('b', 1), sb('a', 1))).toEqual([a1.ipv4]);
    const ptr = await execa('nsenter', [`--net=${nsOf(sb('a', 1))}`, '--', 'dig', '+short', '+time=1', '+tries=2', '@127.0.0.11', '-x', b1.ipv4], { reject: false });
    expect(ptr.stdout).toContain(sb('b', 1));
    // A and B have the bridge and the VXLAN device; C, without endpoints, has nothing of the network.
    for (const h of [A, B]) expect((await links(h.host)).map((l) => l.ifname)).toEqual(expect.arrayContaining([net.bridge, net.vxlan]));
    expect((await links(C.host)).map((l) => l.ifname).filter((n) => n === net.bridge || n === net.vxlan)).toEqual([]);
    const vx = JSON.parse((await inHost(A.host, ['ip', '-d', '-j', 'link', 'show', net.vxlan])).stdout) as { linkinfo: { info_data: { id: number; port: number; learning: boolean; proxy: boolean; local: string } } }[];
    expect(vx[0]!.linkinfo.info_data).toMatchObject({ id: net.vni, port: 4789, learning: false, proxy: true, local: A.host.ip });
  }, 60_000);

  it('O3 A holds exactly one forwarding entry (MAC -> B\'s VTEP) and one permanent neighbour entry for B\'s container', async () => {
    const mac = b1.mac ?? b1.macAddress;
    expect(await fdb(A.host, net.vxlan)).toEqual([expect.objectContaining({ mac, dst: B.host.ip })]);
    expect(await neigh(A.host, net.vxlan)).toEqual([expect.objectContaining({ dst: b1.ipv4, lladdr: mac, state: ['PERMANENT'] })]);
    expect(await fdb(B.host, net.vxlan)).toEqual([expect.objectContaining({ mac: a1.mac ?? a1.macAddress, dst: A.host.ip })]);
  }, 30_000);

  it('O4 MTU: underlay − 50 on bridge, VXLAN device and veths; a 1,400-byte ping with DF crosses, one past the MTU does not', async () => {
    const under = (await links(A.host)).find((l) => l.ifname === 'eth0')!.mtu;
    const mine = (await links(A.host)).filter((l) => l.ifname === net.bridge || l.ifname === net.vxlan || l.ifname.startsWith('sv'));
    expect(mine.length).toBeGreaterThanOrEqual(3);
    for (const l of mine) expect(l.mtu).toBe(under - 50);
    const eth = JSON.parse((await execa('nsenter', [`--net=${nsOf(sb('a', 1))}`, '--', 'ip', '-j', 'link', 'show', 'eth0'])).stdout) as { mtu: number }[];
    expect(eth[0]!.mtu).toBe(under - 50);
    expect((await A.daemon.api<NetInfo>('GET', `/networks/${NET}`)).mtu).toBe(under - 50);
    expect(await ping(sb('a', 1), b1.ipv4, 1400)).toBe(true);
    expect(await ping(sb('b', 1), a1.ipv4, 1400)).toBe(true);
    // 1423 payload + 28 = 1451 > 1450: refused at the sender with DF, never fragmented on the underlay.
    expect(await ping(sb('a', 1), b1.ipv4, under - 50 - 28 + 1)).toBe(false);
  }, 30_000);

  it('O6 two overlay networks (different VNIs) do not reach each other; M3 an overlapping subnet is refused on any host', async () => {
    const second = await createGlobal<NetInfo>(B, { name: NET2, driver: 'overlay', subnet: '10.89.0.0/24', attachable: true });
    expect(second.vni).not.toBe(net.vni);
    vx2 = second.vxlan;
    const b2 = await connectSandbox<Ep>(B, sb('b', 2), NET2);
    const a2 = await connectSandbox<Ep>(A, sb('a', 2), NET2);
    expect(await waitFor(() => ping(sb('a', 2), b2.ipv4), 3_000, 100)).toBe(true);
    servers.push(await startEcho(nsOf(sb('b', 2)), b2.ipv4, 7000));
    // From NET on A to NET2 on B and on A itself: nothing gets through, by ping or TCP.
    expect(await ping(sb('a', 1), b2.ipv4)).toBe(false);
    expect(await ping(sb('a', 1), a2.ipv4)).toBe(false);
    expect(await probe(nsOf(sb('a', 1)), 'tcp', b2.ipv4, 7000, 1000)).not.toBe(a1.ipv4);
    expect(await ping(sb('b', 2), a1.ipv4)).toBe(false);
    for (const h of [A, B, C]) {
      for (const body of [{ driver: 'overlay', subnet: '10.88.0.128/25' }, { scope: 'global', subnet: '10.89.0.0/16' }]) {
        const r = await askGlobal(h, { name: `${tag}v${h.host.name}`, ...body });
        expect([r.status, code(r)]).toEqual([409, 'ERR_NETWORK_SUBNET_OVERLAP']);
      }
    }
  }, 60_000);

  it('O6 egress through the local host for a non-internal overlay; none for an internal one, which still spans hosts', async () => {
    // A server on host C's underlay address stands for "outside": A's container reaches it masqueraded as A.
    servers.push(await startEcho(C.host.netnsPath, C.host.ip, 7100));
    expect(await probe(nsOf(sb('a', 1)), 'tcp', C.host.ip, 7100)).toBe(A.host.ip);
    // A port published on A reaches a container of the overlay there from outside (C), the client's address kept.
    const pub = await connectSandbox<Ep>(A, sb('a', 'p'), NET, { publish: [{ hostPort: 8088, containerPort: 7000, protocol: 'tcp' }] });
    servers.push(await startEcho(nsOf(sb('a', 'p')), pub.ipv4, 7000));
    expect(await probe(C.host.netnsPath, 'tcp', A.host.ip, 8088)).toBe(C.host.ip);
    await createGlobal(A, { name: INTERNAL, driver: 'overlay', subnet: '10.90.0.0/24', internal: true, attachable: true });
    const ai = await connectSandbox<Ep>(A, sb('a', 'i'), INTERNAL);
    const bi = await connectSandbox<Ep>(B, sb('b', 'i'), INTERNAL);
    expect(await waitFor(() => ping(sb('a', 'i'), bi.ipv4), 3_000, 100)).toBe(true);
    expect(await ping(sb('b', 'i'), ai.ipv4)).toBe(true);
    expect(await probe(nsOf(sb('a', 'i')), 'tcp', C.host.ip, 7100, 1000)).not.toBe(A.host.ip);
  }, 60_000);

  it('N7 a dual-stack overlay: IPv6 across hosts (neighbour solicitations answered from the IPv6 entries), AAAA by name', async () => {
    const ds = `${tag}d`;
    await createGlobal(B, { name: ds, driver: 'overlay', subnet: '10.93.0.0/24', subnet6: 'fd00:93::/64', attachable: true });
    const a6 = await connectSandbox<Ep & { ipv6: string }>(A, sb('a', 6), ds);
    const b6 = await connectSandbox<Ep & { ipv6: string }>(B, sb('b', 6), ds);
    const vx = (await A.daemon.api<NetInfo>('GET', `/networks/${ds}`)).vxlan;
    expect(await waitFor(async () => (await neigh(A.host, vx)).some((e) => e.dst === b6.ipv6 && e.state?.includes('PERMANENT') === true), 2_000, 50)).toBe(true);
    const ping6 = async (from: string, to: string): Promise<boolean> =>
      (await execa('nsenter', [`--net=${nsOf(from)}`, '--', 'ping', '-6', '-n', '-c', '1', '-W', '1', to], { reject: false })).exitCode === 0;
    expect(await waitFor(() => ping6(sb('a', 6), b6.ipv6), 4_000, 100)).toBe(true);
    expect(await ping6(sb('b', 6), a6.ipv6)).toBe(true);
    const aaaa = await execa('nsenter', [`--net=${nsOf(sb('a', 6))}`, '--', 'dig', '+short', '+time=1', '+tries=2', '@127.0.0.11', sb('b', 6), 'AAAA'], { reject: false });
    expect(aaaa.stdout.trim()).toBe(b6.ipv6);
    for (const [h, s] of [[A, sb('a', 6)], [B, sb('b', 6)]] as const) await h.daemon.api('DELETE', `/sandboxes/${s}`);
    await B.daemon.api('DELETE', `/networks/${ds}`);
  }, 60_000);

  it('O3 disconnect on B: A\'s forwarding and neighbour entries for it are gone within 1 s', async () => {
    const b3 = await connectSandbox<Ep>(B, sb('b', 3), NET);
    const mac = b3.mac ?? b3.macAddress;
    expect(await waitFor(async () => (await fdb(A.host, net.vxlan)).some((e) => e.mac === mac), 2_000, 20)).toBe(true);
    await B.daemon.api('POST', `/networks/${NET}/disconnect`, { sandbox: sb('b', 3) });
    const t0 = performance.now();
    const gone = await waitFor(async () => !(await fdb(A.host, net.vxlan)).some((e) => e.mac === mac)
      && !(await neigh(A.host, net.vxlan)).some((e) => e.dst === b3.ipv4), 1_000, 20);
    console.info(`[710] disconnect on B -> A's entries gone after ${Math.round(performance.now() - t0)} ms`);
    expect(gone).toBe(true);
    expect(await ping(sb('a', 1), b1.ipv4)).toBe(true); // the others stay
  }, 30_000);

  it('figures: TCP goodput and latency container-to-container across hosts vs the underlay (same run)', async () => {
    servers.push(await startBenchServer(nsOf(sb('b', 1)), b1.ipv4, 7200));
    servers.push(await startBenchServer(B.host.netnsPath, B.host.ip, 7200));
    const bytes = 64 * 1024 * 1024;
    const rounds: { overlay: number; underlay: number; rttO: number; rttU: number }[] = [];
    for (let i = 0; i < 3; i++) {
      rounds.push({
        underlay: await benchTcp(A.host.netnsPath, B.host.ip, 7200, 'bulk', bytes),
        overlay: await benchTcp(nsOf(sb('a', 1)), b1.ipv4, 7200, 'bulk', bytes),
        rttU: await benchTcp(A.host.netnsPath, B.host.ip, 7200, 'pingpong', 2000),
        rttO: await benchTcp(nsOf(sb('a', 1)), b1.ipv4, 7200, 'pingpong', 2000),
      });
    }
    const med = (k: keyof (typeof rounds)[number]): number => rounds.map((r) => r[k]).sort((x, y) => x - y)[1]!;
    console.info(`[710] TCP goodput overlay/underlay ${(med('overlay') / med('underlay')).toFixed(2)} (${med('overlay').toFixed(0)} vs ${med('underlay').toFixed(0)} Mbit/s); `
      + `median RTT overlay/underlay ${(med('rttO') / med('rttU')).toFixed(2)} (${med('rttO').toFixed(0)} vs ${med('rttU').toFixed(0)} µs)`);
    expect(med('overlay')).toBeGreaterThan(0);
  }, 180_000);

  it('O5 restart (kill -9, start): devices and entries reconciled from the store, none leaked or duplicated', async () => {
    const ifindex = async (): Promise<number[]> => (JSON.parse((await inHost(A.host, ['ip', '-j', 'link', 'show'])).stdout) as { ifindex: number; ifname: string }[])
      .filter((l) => l.ifname === net.vxlan || l.ifname === net.bridge).map((l) => l.ifindex);
    const devices = await ifindex();
    // A restart leaves the data path alone: pings every 50 ms from A's container to B's across a kill -9 and start.
    const loop = execa('nsenter', [`--net=${nsOf(sb('a', 1))}`, '--', 'ping', '-n', '-i', '0.05', '-W', '1', '-w', '6', b1.ipv4], { reject: false });
    await new Promise((r) => setTimeout(r, 500));
    const member = (await A.daemon.api<{ member: string }>('GET', '/cluster')).member;
    await A.daemon.kill('SIGKILL');
    await A.daemon.start();
    const pings = (await loop).stdout;
    const [sent, got] = [/(\d+) packets transmitted/.exec(pings)?.[1], /(\d+) received/.exec(pings)?.[1]].map(Number);
    const kept = (await A.daemon.api<{ member: string }>('GET', '/cluster')).member === member;
    console.info(`[710] kill -9 and start of A under a 50 ms ping loop: ${got}/${sent} answered (${kept ? 'back inside its lease' : 'its lease expired meanwhile'})`);
    expect(sent).toBeGreaterThan(50);
    // Back inside its lease (M5), nothing is lost; after it expired, the others rightly dropped A's entries (O3) meanwhile.
    if (kept) expect(got).toBe(sent);
    await A.daemon.kill('SIGKILL');
    // While A is down: B's entry deleted by hand, a stale one added (what a crash mid-sync could leave).
    const mac = b1.mac ?? b1.macAddress;
    await inHost(A.host, ['bridge', 'fdb', 'del', mac!, 'dev', net.vxlan, 'dst', B.host.ip, 'self']);
    await inHost(A.host, ['bridge', 'fdb', 'add', '02:42:de:ad:be:ef', 'dev', net.vxlan, 'dst', '172.31.255.1', 'self', 'permanent']);
    await inHost(A.host, ['ip', 'neigh', 'add', '10.88.0.250', 'lladdr', '02:42:de:ad:be:ef', 'dev', net.vxlan, 'nud', 'permanent']);
    await A.daemon.start();
    expect(await waitFor(async () => {
      const f = await fdb(A.host, net.vxlan);
      return f.length === 1 && f[0]!.mac === mac && f[0]!.dst === B.host.ip;
    }, 5_000, 50)).toBe(true);
    expect((await neigh(A.host, net.vxlan)).map((e) => e.dst)).toEqual([b1.ipv4]);
    expect(await ifindex()).toEqual(devices); // the same devices: not remade, not doubled
    expect(await ping(sb('a', 1), b1.ipv4)).toBe(true);
    expect(await ping(sb('b', 1), a1.ipv4)).toBe(true);
  }, 60_000);

  it('O2 O5 a host whose containers went while it was down (a reboot) keeps no overlay devices after its restart; the network stays listed, and the next connect makes them again', async () => {
    const devices = async (): Promise<string[]> => (await links(C.host)).map((l) => l.ifname).filter((n) => n === net.vxlan || n === net.bridge);
    await connectSandbox(C, sb('c', 1), NET);
    expect(await devices()).toHaveLength(2);
    await C.daemon.kill('SIGKILL');
    await execa('ip', ['netns', 'del', sb('c', 1)], { reject: false });
    await C.daemon.start();
    expect(await devices()).toEqual([]);
    expect((await C.daemon.http('GET', `/networks/${NET}`)).status).toBe(200);
    await connectSandbox(C, sb('c', 2), NET);
    expect(await devices()).toHaveLength(2);
    await C.daemon.api('DELETE', `/sandboxes/${sb('c', 2)}`);
    expect(await devices()).toEqual([]);
  }, 60_000);

  it('O5 kill host B: within TTL + 1 s, A has no entries pointing at B\'s VTEP', async () => {
    expect((await fdb(A.host, net.vxlan)).some((e) => e.dst === B.host.ip)).toBe(true);
    await B.daemon.kill('SIGKILL');
    const t0 = performance.now();
    await lab.removeHost(B.host);
    const gone = await waitFor(async () => {
      for (const n of [net.vxlan, vx2]) if ((await fdb(A.host, n)).some((e) => e.dst === B.host.ip)) return false;
      return (await neigh(A.host, net.vxlan)).length === 0;
    }, (TTL + 1) * 1000, 50);
    console.info(`[710] dead host B's entries gone on A after ${Math.round(performance.now() - t0)} ms (TTL ${TTL} s)`);
    expect(gone).toBe(true);
  }, 60_000);

  it('O5 devices a crash left after the last leave are swept at restore; look-alikes not marked as ours are left alone', async () => {
    await C.daemon.kill('SIGKILL');
    const id = 'feedc0de0123456789abcdef01234567';
    const fake = ['ip', 'link', 'add', `vx-${id.slice(0, 12)}`, 'type', 'vxlan', 'id', '777', 'dstport', '4789', 'local', C.host.ip, 'nolearning'];
    for (const argv of [['ip', 'link', 'add', `ov-${id.slice(0, 12)}`, 'type', 'bridge'], fake, ['ip', 'link', 'add', 'vx-notours0', 'type', 'vxlan', 'id', '778', 'dstport', '4789']]) {
      expect((await inHost(C.host, argv)).exitCode).toBe(0);
    }
    await inHost(C.host, ['ip', 'link', 'set', `ov-${id.slice(0, 12)}`, 'alias', `sandns:net:${id}`]);
    await inHost(C.host, ['ip', 'link', 'set', `vx-${id.slice(0, 12)}`, 'alias', `sandns:ov:${id}`]);
    await C.daemon.start();
    const names = (await links(C.host)).map((l) => l.ifname);
    expect(names).not.toContain(`vx-${id.slice(0, 12)}`);
    expect(names).not.toContain(`ov-${id.slice(0, 12)}`);
    expect(names).toContain('vx-notours0');
    await inHost(C.host, ['ip', 'link', 'del', 'vx-notours0']);
  }, 60_000);

  it('O2 the last leave on a host removes its devices; C never had any', async () => {
    for (const s of [sb('a', 1), sb('a', 2), sb('a', 'i'), sb('a', 'p')]) await A.daemon.api('DELETE', `/sandboxes/${s}`);
    const names = (await links(A.host)).map((l) => l.ifname);
    expect(names.filter((n) => n.startsWith('vx-') || n.startsWith('ov-') || n.startsWith('sv'))).toEqual([]);
    expect((await links(C.host)).map((l) => l.ifname).filter((n) => n.startsWith('vx-') || n.startsWith('ov-'))).toEqual([]);
  }, 60_000);
});
