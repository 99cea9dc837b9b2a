/**
 * The CNI plugin driven like libcni drives it (test/helpers/libcni.ts), in a
 * scratch "host" namespace where the daemon, the bridges and Debian's plugins
 * run: chained after bridge + host-local, and as the main plugin. Two
 * containers resolve each other's name and alias through 127.0.0.11; CHECK
 * passes, then names the difference; DEL twice and with an empty CNI_NETNS
 * succeed and leave no record, sandbox, veth or IPAM file; a /proc/<pid>/ns/net
 * namespace (ctr) is pinned and unpinned; with the daemon down ADD and CHECK
 * fail with code 11 and DEL is deferred until the daemon's next start.
 * runtimeConfig.portMappings become published ports (the daemon's firewall
 * runs in the scratch host namespace).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect as connectUnix, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { probe, startEcho } from '../helpers/netprobe.js';
import { CniCallError, cniAdd, cniCheck, cniDel, installSandnsPlugin, type CniRuntime, type ConfList } from '../helpers/libcni.js';

const tag = uniqueName('k');
const host = `${tag}h`;
const ctrs = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'ca', 'cb', 'cc', 'cd'].map((c) => `${tag}${c}`);
const nsPath = (n: string): string => `/run/netns/${n}`;
let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;
let rt: CniRuntime;
let sleeper: ChildProcess | undefined;
/** Processes holding /proc/<pid>/ns/net namespaces; killed in afterAll even when a test fails. */
const sleepers: ChildProcess[] = [];

async function dig(ns: string, name: string, type = 'A'): Promise<string> {
  const r = await execa('nsenter', [`--net=${ns}`, '--', 'dig', '+short', '+time=2', '+tries=1', '@127.0.0.11', name, type], { reject: false });
  return r.stdout.trim();
}

async function cniError(p: Promise<unknown>): Promise<{ code?: number; msg?: string; details?: string }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CniCallError);
  return (err as CniCallError).result;
}

async function rows(network: string): Promise<{ name: string; value: string; sandbox?: string }[]> {
  return d.api('GET', `/records?network=${network}`);
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-800-'));
  await execa('ip', ['netns', 'add', host]);
  await execa('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
  for (const c of ctrs) await execa('ip', ['netns', 'add', c]);
  d = await stateDaemon(build.bin, join(dir, 'daemon'), { netns: nsPath(host) });
  await d.start();
  const plugins = join(dir, 'plugins');
  await installSandnsPlugin(plugins, join(build.bin, '..', 'sandns-cni.js'));
  rt = { pluginDirs: [plugins, '/usr/lib/cni'], hostNetns: nsPath(host), cacheDir: join(dir, 'cache') };
});

afterAll(async () => {
  sleeper?.kill('SIGKILL');
  for (const p of sleepers) p.kill('SIGKILL');
  if (d?.alive()) {
    for (const s of await d.api<{ id: string }[]>('GET', '/sandboxes').catch(() => [])) await d.http('DELETE', `/sandboxes/${s.id}`);
    for (const n of await d.api<{ name: string }[]>('GET', '/networks').catch(() => [])) await d.http('DELETE', `/networks/${n.name}`);
    await d.kill('SIGTERM');
  }
  for (const c of ctrs) await execa('ip', ['netns', 'del', c], { reject: false });
  for (const pin of (await readdir('/run/netns')).filter((n) => n.startsWith(`sandns-pin-${tag}`))) await execa('ip', ['netns', 'del', pin], { reject: false });
  await execa('ip', ['netns', 'del', host], { reject: false }); // its bridges and veths go with it
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
});

/** `sleep` inside namespace `ns`; resolves once its /proc/<pid>/ns/net is that namespace (nsenter has done its setns). */
async function sleeperIn(ns: string): Promise<{ proc: ChildProcess; procNs: string }> {
  const proc = spawn('nsenter', [`--net=${nsPath(ns)}`, '--', 'sleep', '600'], { stdio: 'ignore' });
  const procNs = `/proc/${proc.pid}/ns/net`;
  const want = (await stat(nsPath(ns))).ino;
  for (let i = 0; i < 200; i++) {
    if ((await stat(procNs).catch(() => undefined))?.ino === want) return { proc, procNs };
    await new Promise((r) => setTimeout(r, 25));
  }
  proc.kill('SIGKILL');
  throw new Error(`nsenter into ${ns} did not enter it within 5 s`);
}

describe('chained after bridge + host-local', () => {
  const { subnet, prefix } = randomSubnet();
  const list = (): ConfList => ({
    cniVersion: '1.0.0', name: `${tag}ch`, plugins: [
      { type: 'bridge', bridge: `${tag}br`, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet, gateway: `${prefix}.1` }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') } },
      { type: 'sandns', socket: d.socket, capabilities: { aliases: true } },
    ],
  });
  const web = { containerId: `${tag}-web-0123456789`, netns: nsPath(ctrs[0]!), args: 'IgnoreUnknown=1;K8S_POD_NAME=web', capabilityArgs: { aliases: { [`${tag}ch`]: ['www'] } } };
  const db = { containerId: `${tag}-db-0123456789`, netns: nsPath(ctrs[1]!), args: 'IgnoreUnknown=1;K8S_POD_NAME=db', capabilityArgs: { aliases: { [`${tag}ch`]: ['store'] } } };
  let webIp = '';
  let dbIp = '';

  it('K4 K5 K6 ADD returns the bridge result with dns 127.0.0.11, and both containers resolve each other by name and alias', async () => {
    const r1 = await cniAdd(rt, list(), web);
    const r2 = await cniAdd(rt, list(), db);
    expect(r1.dns).toEqual({ nameservers: ['127.0.0.11'], search: [], options: ['ndots:0'] });
    expect((r1.interfaces as { name: string }[]).map((i) => i.name)).toContain('eth0');
    webIp = (r1.ips as { address: string }[])[0]!.address.split('/')[0]!;
    dbIp = (r2.ips as { address: string }[])[0]!.address.split('/')[0]!;
    expect(webIp.startsWith(prefix)).toBe(true);
    expect(await dig(db.netns, 'web')).toBe(webIp);
    expect(await dig(db.netns, 'www')).toBe(webIp);
    expect(await dig(web.netns, 'db')).toBe(dbIp);
    expect(await dig(web.netns, 'store')).toBe(dbIp);
    expect(await dig(web.netns, webIp.split('.').reverse().join('.') + '.in-addr.arpa', 'PTR')).toBe(`web.${tag}ch.`);
  });

  it('K7 CHECK passes, then names what differs', async () => {
    await cniCheck(rt, list(), web);
    await d.api('POST', `/networks/${tag}ch/disconnect`, { sandbox: web.containerId });
    const e = await cniError(cniCheck(rt, list(), web));
    expect(e).toMatchObject({ code: 101, msg: expect.stringContaining(`not attached to network ${tag}ch`) });
    await d.api('POST', `/networks/${tag}ch/connect`, { sandbox: web.containerId, name: 'web', aliases: ['www'], ip: webIp, ifname: 'eth0' });
    await cniCheck(rt, list(), web);
  });

  it('K8 DEL twice and DEL with an empty CNI_NETNS succeed; records, sandboxes and host-local addresses are gone', async () => {
    await cniDel(rt, list(), web);
    await cniDel(rt, list(), web);
    expect(await dig(db.netns, 'web')).toBe('');
    await cniDel(rt, list(), { ...db, netns: '' });
    expect((await rows(`${tag}ch`)).length).toBe(0);
    expect(await d.api<unknown[]>('GET', '/sandboxes')).toEqual([]);
    const left = (await readdir(join(dir, 'ipam', `${tag}ch`)).catch(() => [])).filter((f) => f.startsWith(prefix));
    expect(left).toEqual([]);
  });

  it('K10 a /proc/<pid>/ns/net namespace (ctr) is pinned by the daemon and unpinned by DEL with an empty CNI_NETNS', async () => {
    const { proc, procNs } = await sleeperIn(ctrs[4]!);
    sleeper = proc;
    const ctr = { containerId: `${tag}-c5`, netns: procNs };
    await cniAdd(rt, list(), ctr);
    const sb = await d.api<{ netnsPath: string }>('GET', `/sandboxes/${ctr.containerId}`);
    expect(sb.netnsPath).toBe(`/run/netns/sandns-pin-${tag}-c5`);
    await cniAdd(rt, list(), web); // web's DEL had its netns: its eth0 is gone, so it can come back
    expect(await dig(web.netns, `${tag}-c5`)).toMatch(new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.`));
    await cniDel(rt, list(), { ...ctr, netns: '' });
    expect(existsSync(sb.netnsPath)).toBe(false);
    await cniDel(rt, list(), web);
    proc.kill('SIGKILL');
  });

  it('K8 K9 issue-review-3 DEL against a daemon answering 503 succeeds and leaves a record, so the bridge plugin\'s DEL still runs and host-local frees the address', async () => {
    const degraded = createServer((_req, res) => {
      res.statusCode = 503;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code: 'ERR_STORE_DEGRADED', message: 'the state cannot be written' }));
    });
    const sock = join(dir, 'degraded', 'api.sock');
    await mkdir(join(dir, 'degraded'), { recursive: true });
    await new Promise<void>((r) => degraded.listen(sock, r));
    const c = { containerId: `${tag}-deg`, netns: nsPath(ctrs[12]!), args: 'IgnoreUnknown=1;K8S_POD_NAME=deg' };
    const viaDegraded = (): ConfList => ({ ...list(), plugins: list().plugins.map((p) => (p.type === 'sandns' ? { ...p, socket: sock } : p)) });
    try {
      const ip = ((await cniAdd(rt, list(), c)).ips as { address: string }[])[0]!.address.split('/')[0]!;
      await cniDel(rt, viaDegraded(), c); // sandns first (reverse order), then bridge + host-local
      expect(existsSync(join(dir, 'ipam', `${tag}ch`, ip))).toBe(false);
      expect(await readdir(join(dir, 'degraded', 'deferred'))).toEqual([`${c.containerId}--eth0.json`]);
    } finally {
      await new Promise((r) => degraded.close(r));
      await cniDel(rt, list(), c); // the daemon that works removes the sandbox
    }
    expect(await d.api<unknown[]>('GET', '/sandboxes')).toEqual([]);
  });
});

describe('main plugin', () => {
  const { subnet, prefix } = randomSubnet();
  const list = (extra: Record<string, unknown> = {}): ConfList => ({
    cniVersion: '0.4.0', name: `${tag}mn`,
    plugins: [{ type: 'sandns', socket: d.socket, subnet, mtu: 1400, capabilities: { aliases: true, portMappings: true }, ...extra }],
  });
  const api = { containerId: `${tag}-api-0123456789`, netns: nsPath(ctrs[2]!), args: 'K8S_POD_NAME=api', capabilityArgs: { aliases: { [`${tag}mn`]: ['backend'] } } };
  const cli = { containerId: `${tag}-cli-0123456789`, netns: nsPath(ctrs[3]!), args: 'K8S_POD_NAME=cli' };

  it('K2 K3 ADD makes the network, the veth named CNI_IFNAME with its mac in the result, and the DNS', async () => {
    const r = await cniAdd(rt, list(), api);
    await cniAdd(rt, list(), cli);
    expect(r.cniVersion).toBe('0.4.0');
    const ifs = r.interfaces as { name: string; mac?: string; sandbox?: string }[];
    const eth0 = ifs.find((i) => i.sandbox !== undefined)!;
    const link = JSON.parse((await execa('nsenter', [`--net=${api.netns}`, '--', 'ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout) as { address: string; mtu: number }[];
    expect(eth0).toEqual({ name: 'eth0', mac: link[0]!.address, sandbox: api.netns });
    expect(link[0]!.mtu).toBe(1400);
    expect(r.ips).toEqual([{ version: '4', interface: ifs.indexOf(eth0), address: `${prefix}.2/24`, gateway: `${prefix}.1` }]);
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0', gw: `${prefix}.1` }]);
    expect(r.dns).toMatchObject({ nameservers: ['127.0.0.11'] });
    expect(await dig(cli.netns, 'api')).toBe(`${prefix}.2`);
    expect(await dig(cli.netns, 'backend')).toBe(`${prefix}.2`);
    expect(await dig(api.netns, 'cli')).toBe(`${prefix}.3`);
    const ping = await execa('nsenter', [`--net=${cli.netns}`, '--', '/bin/busybox', 'ping', '-c1', '-W2', `${prefix}.2`], { reject: false });
    expect(ping.exitCode).toBe(0);
  });

  it('K7 CHECK passes, then names what is wrong: a link down inside; a vanished host veth drops the attachment', async () => {
    await cniCheck(rt, list(), api);
    const r = (await cniAdd(rt, list(), api)) as { interfaces: { name: string; sandbox?: string }[] }; // ADD again: the same attachment
    const hostVeth = r.interfaces.find((i) => i.sandbox === undefined)!.name;
    await execa('nsenter', [`--net=${api.netns}`, '--', 'ip', 'link', 'set', 'eth0', 'down']);
    expect(await cniError(cniCheck(rt, list(), api))).toMatchObject({ code: 101, msg: expect.stringContaining('eth0 is down') });
    await execa('nsenter', [`--net=${api.netns}`, '--', 'ip', 'link', 'set', 'eth0', 'up']);
    await cniCheck(rt, list(), api);
    await execa('ip', ['-n', host, 'link', 'del', hostVeth]);
    // The daemon's link watch drops an endpoint whose host veth vanished (its names stop resolving at once);
    // until it has, CHECK names the missing veth; after, it says the container is not attached.
    const e = await cniError(cniCheck(rt, list(), api));
    expect(e.code).toBe(101);
    expect(e.msg).toMatch(new RegExp(`${hostVeth} is missing|is not attached`));
    await expect.poll(async () => (await cniError(cniCheck(rt, list(), api))).msg, { timeout: 3000 }).toMatch(/is not attached/);
    expect(await dig(cli.netns, 'api')).toBe('');
  });

  it('K3 keys that contradict the existing network are code 7 naming them', async () => {
    const e = await cniError(cniAdd(rt, list({ mtu: 9000, internal: true }), { ...cli, containerId: `${tag}-x` }));
    expect(e.code).toBe(7);
    expect(e.details).toMatch(/internal is false.*mtu is 1400, the configuration says 9000/);
  });

  it('K12 portMappings reach the daemon as published ports: the host port leads to the container, DEL takes it back', async () => {
    const pm = { containerId: `${tag}-pm`, netns: nsPath(ctrs[6]!), capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] } };
    const r = await cniAdd(rt, list(), pm);
    const addr = (r.ips as { address: string }[])[0]!.address.split('/')[0]!;
    const echo = await startEcho(pm.netns, '0.0.0.0', 80);
    try {
      const net = await d.api<{ endpoints: { ipv4: string; ports: unknown[] }[] }>('GET', `/networks/${tag}mn`);
      expect(net.endpoints.find((e) => e.ipv4 === addr)?.ports).toEqual([expect.objectContaining({ hostPort: 18080, containerPort: 80, protocol: 'tcp' })]);
      // From the host namespace to its own address on the network: DNATed to the container (no proxy process).
      expect(await probe(nsPath(host), 'tcp', `${prefix}.1`, 18080)).not.toMatch(/^(error|timeout)/);
      // From another container of the network through the gateway's address.
      expect(await probe(cli.netns, 'tcp', `${prefix}.1`, 18080)).not.toMatch(/^(error|timeout)/);
    } finally {
      await echo.stop();
    }
    await cniDel(rt, list(), pm);
    expect(await probe(nsPath(host), 'tcp', `${prefix}.1`, 18080, 800)).toMatch(/^(error|timeout)/);
    try {
      const taken = await cniError(cniAdd(rt, list(), { ...pm, containerId: `${tag}-pm2`, netns: nsPath(ctrs[7]!) }).then(() => cniAdd(rt, list(), { ...pm, containerId: `${tag}-pm3`, netns: nsPath(ctrs[6]!) })));
      // The second claim of host port 18080 is refused with the daemon's typed 409 (a resource taken: code 102, not 7).
      expect(taken).toMatchObject({ code: 102, details: expect.stringContaining('ERR_PORT_ALLOCATED') });
    } finally {
      await cniDel(rt, list(), { ...pm, containerId: `${tag}-pm2`, netns: nsPath(ctrs[7]!) });
      await cniDel(rt, list(), { ...pm, containerId: `${tag}-pm3`, netns: nsPath(ctrs[6]!) });
    }
  });

  it('K5 K10 issue-review-1 ADD again with the same id in another /proc namespace (ctr run -d twice, no DEL) replaces the stale sandbox', async () => {
    const inNs = async (ns: string): Promise<string> => {
      const { proc, procNs } = await sleeperIn(ns);
      sleepers.push(proc);
      return procNs;
    };
    const again = { containerId: `${tag}-again`, args: 'K8S_POD_NAME=again' };
    try {
      await cniAdd(rt, list(), { ...again, netns: await inNs(ctrs[8]!) });
      const second = await cniAdd(rt, list(), { ...again, netns: await inNs(ctrs[9]!) });
      const ip = (second.ips as { address: string }[])[0]!.address.split('/')[0]!;
      const sb = await d.api<{ netnsPath: string }>('GET', `/sandboxes/${again.containerId}`);
      expect((await stat(sb.netnsPath)).ino).toBe((await stat(nsPath(ctrs[9]!))).ino); // the pin holds the new namespace
      expect(await dig(nsPath(ctrs[9]!), 'again')).toBe(ip); // its own listener answers its new address
      expect(await dig(cli.netns, 'again')).toBe(ip);
    } finally {
      await cniDel(rt, list(), { ...again, netns: '' });
    }
  });

  it('K5 issue-review-2 ctr ids sharing their first 12 characters, and two pods of one name, all join and resolve', async () => {
    const redis = [1, 2].map((i) => ({ containerId: `${tag}-redis-${i}`, netns: nsPath(ctrs[9 + i]!) })); // once both cut to <tag>-redi
    const pods = [1, 2].map((i) => ({ containerId: `${tag}-pod-${i}`, netns: nsPath(ctrs[9 + i]!), args: 'K8S_POD_NAME=dup' }));
    try {
      const ips: string[] = [];
      for (const a of redis) ips.push((((await cniAdd(rt, list(), a)).ips as { address: string }[])[0]!.address.split('/')[0]!));
      expect(await dig(cli.netns, `${tag}-redis-1`)).toBe(ips[0]);
      expect(await dig(cli.netns, `${tag}-redis-2`)).toBe(ips[1]);
      await cniDel(rt, list(), redis[0]!);
      await cniDel(rt, list(), redis[1]!);
      const p1 = ((await cniAdd(rt, list(), pods[0]!)).ips as { address: string }[])[0]!.address.split('/')[0]!;
      const p2 = ((await cniAdd(rt, list(), pods[1]!)).ips as { address: string }[])[0]!.address.split('/')[0]!;
      expect(await dig(cli.netns, 'dup')).toBe(p1); // the first keeps the name
      const second = (await rows(`${tag}mn`)).find((r) => r.value === p2 && r.name.startsWith('dup-'));
      expect(second?.name).toMatch(/^dup-[0-9a-f]{8}$/);
      expect(await dig(cli.netns, second!.name)).toBe(p2);
      await cniCheck(rt, list(), pods[1]!);
    } finally {
      for (const a of [...redis, ...pods]) await cniDel(rt, list(), a);
    }
  });

  it('K8 issue-review-5 DEL of eth1 after a failed ADD of eth1 on the same network leaves the working eth0 alone', async () => {
    const two = { containerId: `${tag}-two-if`, netns: nsPath(ctrs[12]!), args: 'K8S_POD_NAME=twoif' };
    try {
      const ip = ((await cniAdd(rt, list(), two)).ips as { address: string }[])[0]!.address.split('/')[0]!;
      const e = await cniError(cniAdd(rt, list(), { ...two, ifname: 'eth1' }));
      expect(e).toMatchObject({ code: 103, details: expect.stringContaining('ERR_SANDBOX_ALREADY_ON_NETWORK') });
      await cniDel(rt, list(), { ...two, ifname: 'eth1' });
      expect(await dig(cli.netns, 'twoif')).toBe(ip);
      await cniCheck(rt, list(), two);
    } finally {
      await cniDel(rt, list(), two);
    }
    expect(await dig(cli.netns, 'twoif')).toBe('');
  });

  it('K12 issue-review-7 an ADD whose connect answer is lost (the daemon connected, the exchange broke) is code 11 and leaves nothing', async () => {
    // A proxy to the daemon that forwards everything but cuts the connection where the answer to a connect would come.
    const proxy = createNetServer((client) => {
      const up = connectUnix(d.socket);
      let lose = false;
      client.on('data', (c: Buffer) => {
        if (/^POST \/networks\/[^ ]+\/connect /m.test(c.toString('latin1'))) lose = true;
        up.write(c);
      });
      up.on('data', (c: Buffer) => (lose ? (client.destroy(), up.destroy()) : client.write(c)));
      for (const [a, b] of [[client, up], [up, client]] as const) {
        a.on('close', () => b.destroy());
        a.on('error', () => undefined);
      }
    });
    const sock = join(dir, 'lossy.sock');
    await new Promise<void>((r) => proxy.listen(sock, r));
    const lossy = (): ConfList => ({ ...list(), plugins: list().plugins.map((p) => ({ ...p, socket: sock })) });
    const lostAdd = { containerId: `${tag}-lost`, netns: nsPath(ctrs[12]!), args: 'K8S_POD_NAME=lost' };
    try {
      expect(await cniError(cniAdd(rt, lossy(), lostAdd))).toMatchObject({ code: 11 });
      expect((await d.http('GET', `/sandboxes/${lostAdd.containerId}`)).status).toBe(404);
      expect(await dig(cli.netns, 'lost')).toBe('');
    } finally {
      await new Promise((r) => proxy.close(r));
      await cniDel(rt, list(), lostAdd);
    }
  });

  it('K8 DEL twice and with an empty CNI_NETNS; the veths go', async () => {
    await cniDel(rt, list(), api);
    await cniDel(rt, list(), api);
    await cniDel(rt, list(), { ...cli, netns: '' });
    expect(await d.api<unknown[]>('GET', '/sandboxes')).toEqual([]);
    const links = JSON.parse((await execa('ip', ['-n', host, '-j', 'link', 'show'])).stdout) as { ifname: string }[];
    expect(links.filter((l) => l.ifname.startsWith('sv'))).toEqual([]);
  });
});

describe('daemon down', () => {
  const { subnet } = randomSubnet();
  const list = (): ConfList => ({ cniVersion: '1.0.0', name: `${tag}dn`, plugins: [{ type: 'sandns', socket: d.socket, subnet }] });
  const one = { containerId: `${tag}-one`, netns: nsPath(ctrs[2]!), args: 'K8S_POD_NAME=one' };

  it('K9 ADD and CHECK fail with code 11 saying how to start it; DEL succeeds and the daemon applies it at its next start', async () => {
    await cniAdd(rt, list(), one);
    // A chained container through the restart: its external network, records and pinned namespace come back (L3).
    const { subnet: s2, prefix: p2 } = randomSubnet();
    const chain: ConfList = { cniVersion: '1.0.0', name: `${tag}dc`, plugins: [
      { type: 'bridge', bridge: `${tag}b3`, isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: s2 }]], dataDir: join(dir, 'ipam') } },
      { type: 'sandns', socket: d.socket },
    ] };
    // A namespace of its own: DEL with an empty CNI_NETNS leaves the bridge plugin's eth0 in c5 (it cannot find it).
    const { proc: sleeper2, procNs: keptNs } = await sleeperIn(ctrs[5]!);
    const kept = { containerId: `${tag}-kept`, netns: keptNs, args: 'IgnoreUnknown=1;K8S_POD_NAME=kept' };
    await cniAdd(rt, chain, kept);
    sleeper2.kill('SIGKILL'); // only the daemon's pin holds the namespace now
    await d.kill('SIGTERM');
    const add = await cniError(cniAdd(rt, list(), { ...one, containerId: `${tag}-two`, netns: nsPath(ctrs[3]!) }));
    expect(add).toMatchObject({ code: 11, details: expect.stringContaining(`sandns --socket ${d.socket} daemon`) });
    expect(await cniError(cniCheck(rt, list(), one))).toMatchObject({ code: 11 });
    await cniDel(rt, list(), one);
    const deferred = join(d.socket, '..', 'deferred');
    expect(await readdir(deferred)).toEqual([`${one.containerId}--eth0.json`]);
    await d.start();
    expect(await readdir(deferred)).toEqual([]);
    expect((await d.api<{ endpoints: unknown[] }>('GET', `/networks/${tag}dn`)).endpoints).toEqual([]);
    const back = await d.api<{ id: string; netnsPath: string; listening: boolean }[]>('GET', '/sandboxes');
    expect(back).toEqual([expect.objectContaining({ id: kept.containerId, netnsPath: `/run/netns/sandns-pin-${tag}-kept`, listening: true })]);
    expect(await dig(back[0]!.netnsPath, 'kept')).toMatch(new RegExp(`^${p2.replace(/\./g, '\\.')}\\.`));
    await cniDel(rt, chain, { ...kept, netns: '' });
    expect(await d.api<unknown[]>('GET', '/sandboxes')).toEqual([]);
    expect(existsSync(back[0]!.netnsPath)).toBe(false);
  });
});
