/**
 * L4, L7, L9 on real kernels: sandns refuses names that exist
 * (bridges, veths, namespaces) with a typed 409 and never touches them;
 * managed files on a full or read-only file system are typed refusals; the
 * default hostname is never a cut-down name. (Symlinks, paths and taken-over
 * files: 421.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { refused } from '../helpers/refused.js';
import { randomSubnet } from '../helpers/daemon.js';
import { BridgeDriver } from '../../drivers/index.js';
import { bridgeNameFor } from '../../drivers/bridge/options.js';
import { discardSandbox } from '../../sandbox/index.js';
import { createNetns, netnsMadeFor, netnsMark } from '../../sandbox/io/netns.js';
import { requireNativeHelper } from '../../common/io/native.js';
import type { SandnsError } from '../../common/errors.js';

const tag = uniqueName('o');
let t: TestController;
/** A namespace of the test's own, given as an external key where a sandbox needs no namespace of its own. */
const extNs = `${tag}-ext`;
const EXT = `/run/netns/${extNs}`;
const links: string[] = [];
const namespaces: string[] = [];

async function linkUp(name: string): Promise<boolean> {
  return (await execa('ip', ['link', 'show', 'dev', name], { reject: false })).exitCode === 0;
}
beforeAll(async () => {
  await execa('ip', ['netns', 'add', extNs]);
  namespaces.push(extNs);
  t = await testController('nameserver 192.0.2.53\n');
});

afterAll(async () => {
  await t?.cleanup();
  for (const l of links) await execa('ip', ['link', 'del', l], { reject: false });
  for (const n of namespaces) await execa('ip', ['netns', 'del', n], { reject: false });
});

describe('420 L4 names that exist are refused up front and never touched', () => {
  it('L4 a namespace sandns makes has lo up and marked from its first answer (one native call); a bad mark makes nothing', async () => {
    const name = `${tag}-mk`;
    namespaces.push(name);
    const path = await createNetns(name, netnsMark('sb-mk'));
    const [lo] = JSON.parse((await execa('ip', ['-n', name, '-j', 'link', 'show', 'lo'])).stdout) as { flags: string[]; ifalias?: string }[];
    expect(lo).toMatchObject({ flags: expect.arrayContaining(['UP', 'LOWER_UP']), ifalias: 'sandns:sb:sb-mk' });
    expect(await netnsMadeFor(name, netnsMark('sb-mk'))).toBe(true);
    expect(await netnsMadeFor(name, netnsMark('sb-other'))).toBe(false);
    // The name is taken now: a second create is refused as existing, and the first namespace is untouched.
    await expect(createNetns(name, netnsMark('sb-mk2'))).rejects.toMatchObject({ code: 'ERR_SANDBOX_NETNS_EXISTS' });
    expect(await netnsMadeFor(name, netnsMark('sb-mk'))).toBe(true);
    expect(existsSync(path)).toBe(true);
    // A mark the kernel cannot hold (IFALIASZ is 256 with its NUL) is refused before anything is made.
    const bad = `${tag}-mb`;
    namespaces.push(bad);
    expect(() => requireNativeHelper().createNetns(`/run/netns/${bad}`, 'x'.repeat(300))).toThrow(TypeError);
    expect(existsSync(`/run/netns/${bad}`)).toBe(false);
  });

  it('L4 bridgeName of an existing dummy, a veth end, or another network\'s bridge: 409 ERR_LINK_EXISTS, all still there', async () => {
    const dummy = `${tag}d`;
    const veth = `${tag}v`;
    links.push(dummy, veth);
    await execa('ip', ['link', 'add', dummy, 'type', 'bridge']);
    await execa('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${tag}p`]);
    const other = await t.controller.newNetwork('bridge', `${tag}n0`, { subnet: randomSubnet().subnet });
    const otherBridge = bridgeNameFor(other.id, other.driverOptions);
    for (const name of [dummy, veth, `${tag}p`, otherBridge, 'lo']) {
      expect(await refused(t.controller.newNetwork('bridge', `${tag}x`, { subnet: randomSubnet().subnet, driverOptions: { bridgeName: name } }))).toEqual({ code: 'ERR_LINK_EXISTS', status: 409 });
      expect(await linkUp(name)).toBe(true);
    }
    expect(t.controller.networks().map((n) => n.name)).toEqual([`${tag}n0`]);
    expect(await linkUp(otherBridge)).toBe(true);
    await other.delete();
  });

  it('L4 two concurrent creates naming the same new bridge: one 201, one 409; the bridge belongs to the one', async () => {
    const br = `${tag}b`;
    links.push(br);
    const results = await Promise.allSettled([0, 1, 2].map((i) => t.controller.newNetwork('bridge', `${tag}c${i}`, { subnet: randomSubnet().subnet, driverOptions: { bridgeName: br } })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as SandnsError).code).toBe('ERR_LINK_EXISTS');
    expect(await linkUp(br)).toBe(true);
    for (const n of t.controller.networks()) await n.delete();
    expect(await linkUp(br)).toBe(false);
  });

  it('L4 netnsName of an existing namespace: 409 ERR_SANDBOX_NETNS_EXISTS; the namespace and its links survive, nothing is written', async () => {
    const ns = `${tag}-ns`;
    namespaces.push(ns);
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'add', 'keepme', 'type', 'bridge']);
    expect(await refused(t.controller.newSandbox(`${tag}-a`, { netnsName: ns }))).toEqual({ code: 'ERR_SANDBOX_NETNS_EXISTS', status: 409 });
    expect(await refused(t.controller.newSandbox(ns))).toEqual({ code: 'ERR_SANDBOX_NETNS_EXISTS', status: 409 });
    expect((await execa('ip', ['-n', ns, 'link', 'show', 'keepme'], { reject: false })).exitCode).toBe(0);
    expect(existsSync(`/etc/netns/${ns}`)).toBe(false);
    expect(t.controller.sandboxes()).toHaveLength(0);
  });

  it('L4 concurrent sandboxes asking for one namespace name: one made, the others 409, the made one intact', async () => {
    const ns = `${tag}-race`;
    namespaces.push(ns);
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => t.controller.newSandbox(`${tag}-r${i}`, { netnsName: ns })));
    const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(made).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as SandnsError).code).toBe('ERR_SANDBOX_NETNS_EXISTS');
    expect(existsSync(`/run/netns/${ns}`)).toBe(true);
    await made[0]!.delete();
    expect(existsSync(`/run/netns/${ns}`)).toBe(false);
  });

  it('L4 a veth name that exists: the join is refused (409) and the link is not deleted', async () => {
    const driver = new BridgeDriver();
    const id = `${tag.slice(1)}00000000000000000000`.slice(0, 16);
    const net = { id: `${tag.slice(1)}ffffffffffffff`, name: 'x', subnet: '10.254.254.0/24', gateway: '10.254.254.1', internal: true, options: {} };
    const host = `sv${id.slice(0, 12)}`;
    links.push(host);
    await execa('ip', ['link', 'add', host, 'type', 'bridge']);
    expect(await refused(driver.join({ network: net, endpointId: id, ipv4: '10.254.254.2', netnsPath: EXT, ifname: 'eth9', defaultRoute: false }))).toEqual({ code: 'ERR_LINK_EXISTS', status: 409 });
    expect(await linkUp(host)).toBe(true);
  });

  it('L4 an adopted namespace that has an eth0 of its own: the connect is 409 ERR_LINK_EXISTS naming it, that link stays, nothing is left; another ifname works', async () => {
    const own = `${tag}-ad`;
    await execa('ip', ['netns', 'add', own]);
    namespaces.push(own);
    await execa('ip', ['-n', own, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    const sb = await t.controller.newSandbox(`${tag}-ad`, { netnsPath: `/run/netns/${own}` });
    const net = await t.controller.newNetwork('bridge', `${tag}ad`, {});
    try {
      const hostBefore = (await execa('ip', ['-o', 'link', 'show'])).stdout.split('\n').length;
      const err = (await net.connect(sb, 'ad').then(() => undefined, (e: unknown) => e)) as SandnsError | undefined;
      expect({ code: err?.code, status: err?.status }).toEqual({ code: 'ERR_LINK_EXISTS', status: 409 });
      expect(err?.message).toMatch(/eth0 exists already in the sandbox's namespace: connect with another ifname/);
      const inside = (JSON.parse((await execa('ip', ['-n', own, '-j', 'link', 'show'])).stdout) as { ifname: string }[]).map((l) => l.ifname).sort();
      expect(inside).toEqual(['eth0', 'lo', 'other0']);
      expect((await execa('ip', ['-o', 'link', 'show'])).stdout.split('\n').length).toBe(hostBefore);
      expect(sb.endpoints.size).toBe(0);
      await net.connect(sb, 'ad', {}, { ifname: 'eth5' });
      const after = (JSON.parse((await execa('ip', ['-n', own, '-j', 'link', 'show'])).stdout) as { ifname: string }[]).map((l) => l.ifname).sort();
      expect(after).toEqual(['eth0', 'eth5', 'lo', 'other0']);
    } finally {
      await sb.delete().catch(() => undefined);
      await net.delete().catch(() => undefined);
    }
  });

  it('L4 an adopted namespace where another DNS server holds port 53: the connect is 409 ERR_SANDBOX_LISTENER_IN_USE and leaves nothing; once it is gone the connect works', async () => {
    const own = `${tag}-dn`;
    await execa('ip', ['netns', 'add', own]);
    namespaces.push(own);
    // A UDP server on 0.0.0.0:53 (no SO_REUSEADDR), as dnsmasq or coredns would be: held until killed.
    const server = execa('ip', ['netns', 'exec', own, 'python3', '-c', "import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',53))\nprint('bound',flush=True)\ntime.sleep(120)"], { reject: false });
    const sb = await t.controller.newSandbox(`${tag}-dn`, { netnsPath: `/run/netns/${own}` });
    // The network brings its own DNS server: a refused first join must not leave it in the sandbox's resolv.conf or upstreams.
    const net = await t.controller.newNetwork('bridge', `${tag}dn`, { dns: ['192.0.2.153'] });
    const resolvBefore = await readFile(sb.info().resolvConfPath, 'utf8');
    const serversBefore = sb.info().extServers;
    try {
      await new Promise<void>((res) => server.stdout!.once('data', () => res()));
      const err = (await net.connect(sb, 'dn').then(() => undefined, (e: unknown) => e)) as SandnsError | undefined;
      expect({ code: err?.code, status: err?.status }).toEqual({ code: 'ERR_SANDBOX_LISTENER_IN_USE', status: 409 });
      expect(err?.message).toMatch(/127\.0\.0\.11:53 is in use inside .*: another process listens there/);
      const inside = (JSON.parse((await execa('ip', ['-n', own, '-j', 'link', 'show'])).stdout) as { ifname: string }[]).map((l) => l.ifname);
      expect(inside).toEqual(['lo']);
      expect(sb.endpoints.size).toBe(0);
      expect(await readFile(sb.info().resolvConfPath, 'utf8')).toBe(resolvBefore);
      expect(sb.info().extServers).toEqual(serversBefore);
      server.kill('SIGKILL');
      await server;
      await net.connect(sb, 'dn');
      expect((await execa('ip', ['netns', 'exec', own, 'dig', '+short', '+time=2', '+tries=1', '@127.0.0.11', 'dn'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    } finally {
      server.kill('SIGKILL');
      await sb.delete().catch(() => undefined);
      await net.delete().catch(() => undefined);
    }
  });

  it('L1 network values the kernel would refuse are 400s before anything is made: an IPv6 network under MTU 1280, a special-purpose subnet', async () => {
    const br = `${tag}v6`;
    const asked = { subnet: '10.254.240.0/24', subnet6: 'fd00:254:240::/64', driverOptions: { bridgeName: br, mtu: 1279 } };
    expect(await refused(t.controller.newNetwork('bridge', `${tag}v6`, asked))).toEqual({ code: 'ERR_INVALID_OPTION', status: 400 });
    expect(await linkUp(br)).toBe(false);
    expect(await refused(t.controller.newNetwork('bridge', `${tag}lb`, { subnet: '127.77.0.0/24' }))).toEqual({ code: 'ERR_IPAM_INVALID_SUBNET', status: 400 });
    expect(await refused(t.controller.newNetwork('bridge', `${tag}mc`, { subnet: '10.254.241.0/24', subnet6: 'ff05::/64' }))).toEqual({ code: 'ERR_IPAM_INVALID_SUBNET', status: 400 });
    expect(t.controller.networks().filter((n) => n.name.startsWith(tag))).toEqual([]);
    // The least IPv6 allows works, and without subnet6 a small MTU stays the user's choice.
    for (const [name, o] of [[`${tag}v6`, { ...asked, driverOptions: { bridgeName: br, mtu: 1280 } }], [`${tag}m4`, { subnet: '10.254.242.0/24', driverOptions: { mtu: 1000 } }]] as const) {
      const net = await t.controller.newNetwork('bridge', name, o);
      await net.delete();
    }
  });

  it('L7 a managed file on a full file system is 507, on a read-only one 409, both naming the fix; nothing is left', async () => {
    const mnt = join(t.dir, 'small');
    await mkdir(mnt);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', `sandns-420-${tag}`, mnt]);
    try {
      await execa('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=4k'], { reject: false }); // until ENOSPC
      const full = (await t.controller.newSandbox(`${tag}-fs`, { hostsPath: join(mnt, 'hosts'), netnsPath: EXT }).then(() => undefined, (e: unknown) => e)) as SandnsError | undefined;
      expect({ code: full?.code, status: full?.status }).toEqual({ code: 'ERR_HOSTS_IO', status: 507 });
      expect(full?.message).toMatch(/ENOSPC.*the file system is full/);
      await execa('mount', ['-o', 'remount,ro', mnt]);
      const ro = (await t.controller.newSandbox(`${tag}-fs`, { resolvConfPath: join(mnt, 'resolv.conf'), netnsPath: EXT }).then(() => undefined, (e: unknown) => e)) as SandnsError | undefined;
      expect({ code: ro?.code, status: ro?.status }).toEqual({ code: 'ERR_RESOLVCONF_IO', status: 409 });
      expect(ro?.message).toMatch(/EROFS.*read-only; give a path on a writable one/);
      expect(t.controller.sandboxes().map((x) => x.id)).not.toContain(`${tag}-fs`);
      expect((await readdir(mnt)).sort()).toEqual(['fill']);
      // The default directory the create made for the other file goes too (a removal on the read-only file system,
      // of a file that is not there, answers EROFS, not ENOENT).
      expect(existsSync(`/etc/netns/${tag}-fs`)).toBe(false);
    } finally {
      await execa('umount', [mnt], { reject: false });
      await rm(`/etc/netns/${tag}-fs`, { recursive: true, force: true });
    }
  });

  it('L4 restore undoes a cut-short create only for what carries its mark: a same-named foreign bridge and namespace stay', async () => {
    const driver = new BridgeDriver();
    const net = { id: `${tag.slice(1)}eeeeeeeeeeeeee`, name: 'y', subnet: '10.254.253.0/24', gateway: '10.254.253.1', internal: false, options: { bridgeName: `${tag}f` } };
    links.push(`${tag}f`);
    await execa('ip', ['link', 'add', `${tag}f`, 'type', 'bridge']);
    expect(await driver.discardNetwork(net)).toBe(false);
    expect(await linkUp(`${tag}f`)).toBe(true);
    await execa('ip', ['link', 'del', `${tag}f`]);
    await driver.createNetwork(net);
    expect(await driver.discardNetwork(net)).toBe(true);
    expect(await linkUp(`${tag}f`)).toBe(false);
    const ns = `${tag}-foreign`;
    namespaces.push(ns);
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const files = { hostsPath: join(t.dir, 'nohosts'), resolvConfPath: join(t.dir, 'noresolv'), resolvConfHashPath: join(t.dir, 'nohash'), originResolvConf: t.originPath, ownedDirs: [], dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], legacy: false };
    expect(await discardSandbox('other-id', ns, files, true)).toBe(false);
    expect(existsSync(`/run/netns/${ns}`)).toBe(true);
  });
});

describe('420 L9 default hostname', () => {
  it('L9 a plain label (underscores too) is the hostname untruncated; dotted or 64-char names get none; a hex id its short id', async () => {
    const net = await t.controller.newNetwork('bridge', `${tag}nh`, { subnet: randomSubnet().subnet });
    const long = `${tag}_${'a'.repeat(64)}`.slice(0, 64);
    const hex = 'abcdef0123456789'.repeat(4);
    const cases: [string, string | undefined][] = [[`${tag}_web_1`, `${tag}_web_1`], [`${tag}.web.1`, undefined], [long, undefined], [hex, 'abcdef012345'], [`${tag}-db`, `${tag}-db`]];
    for (const [name, want] of cases) {
      namespaces.push(name);
      const sb = await t.controller.newSandbox(name);
      expect(sb.info().hostname).toBe(want);
      const ep = await net.createEndpoint(name.replace(/\./g, '-').slice(0, 63));
      await ep.join(sb);
      const names = ep.dnsNames(sb);
      if (want !== undefined) expect(names).toContain(want);
      else expect(names.filter((n) => n !== ep.name)).toEqual([]);
      expect(names.every((n) => n === ep.name || n === want)).toBe(true);
      await sb.delete();
      await ep.delete();
    }
    await net.delete();
  });
});
