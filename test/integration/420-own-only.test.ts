/**
 * L4, L7, L9 on real kernels: sandns refuses names that exist
 * (bridges, veths, namespaces) with a typed 409 and never touches them; it
 * writes managed files without following symlinks, only at absolute paths
 * (inside the allowed root when one is set), and gives a file it took over
 * its original content back instead of deleting it; the default hostname is
 * never a cut-down name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
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
let guarded: TestController;
const links: string[] = [];
const namespaces: string[] = [];
const dirs: string[] = [];

async function linkUp(name: string): Promise<boolean> {
  return (await execa('ip', ['link', 'show', 'dev', name], { reject: false })).exitCode === 0;
}
async function refused(p: Promise<unknown>): Promise<{ code: string; status: number }> {
  const err = (await p.then(() => undefined, (e: unknown) => e)) as SandnsError | undefined;
  expect(err, 'expected a refusal').toBeDefined();
  return { code: err!.code, status: err!.status };
}

beforeAll(async () => {
  await execa('ip', ['netns', 'add', extNs]);
  namespaces.push(extNs);
  t = await testController('nameserver 192.0.2.53\n');
  guarded = await testController('nameserver 192.0.2.53\n', { allowedFilesRoot: join(t.dir, 'allowed') });
  await mkdir(join(t.dir, 'allowed'), { recursive: true });
});

afterAll(async () => {
  await guarded?.cleanup();
  await t?.cleanup();
  for (const l of links) await execa('ip', ['link', 'del', l], { reject: false });
  for (const n of namespaces) await execa('ip', ['netns', 'del', n], { reject: false });
  for (const d of dirs) await rm(d, { recursive: true, force: true });
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
    } finally {
      await execa('umount', [mnt], { reject: false });
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

describe('420 L7 files as root', () => {
  it('L7 a symlink at the default hosts or resolv.conf path, or as the default directory: 409 ERR_FILE_SYMLINK, target untouched, nothing made', async () => {
    const target = join(t.dir, 'precious');
    await writeFile(target, 'precious\n');
    for (const [i, plant] of ['hosts', 'resolv.conf', ''].entries()) {
      const ns = `${tag}-l${i}`;
      dirs.push(`/etc/netns/${ns}`);
      if (plant === '') await symlink(t.dir, `/etc/netns/${ns}`);
      else {
        await mkdir(`/etc/netns/${ns}`, { recursive: true });
        await symlink(target, `/etc/netns/${ns}/${plant}`);
      }
      expect(await refused(t.controller.newSandbox(ns))).toEqual({ code: 'ERR_FILE_SYMLINK', status: 409 });
      expect(existsSync(`/run/netns/${ns}`)).toBe(false);
    }
    expect(await readFile(target, 'utf8')).toBe('precious\n');
    expect(existsSync(join(t.dir, 'hosts'))).toBe(false);
  });

  it('L7 a symlink planted after create is never written through: not by an origin change, not by a join', async () => {
    const ns = `${tag}-late`;
    const net = await t.controller.newNetwork('bridge', `${tag}nl`, { subnet: randomSubnet().subnet });
    const sb = await t.controller.newSandbox(ns);
    const target = join(t.dir, 'precious2');
    await writeFile(target, 'precious\n');
    for (const f of ['resolv.conf', 'hosts']) {
      await rm(`/etc/netns/${ns}/${f}`);
      await symlink(target, `/etc/netns/${ns}/${f}`);
    }
    await writeFile(t.originPath, 'nameserver 192.0.2.54\n');
    await t.controller.refreshOrigin();
    expect(await refused(net.createEndpoint(ns).then((ep) => ep.join(sb)))).toEqual({ code: 'ERR_FILE_SYMLINK', status: 409 });
    expect(await readFile(target, 'utf8')).toBe('precious\n');
    for (const ep of [...net.endpoints.values()]) await ep.delete();
    await sb.delete();
    expect(await readFile(target, 'utf8')).toBe('precious\n');
    await net.delete();
  });

  it('L7 a directory on a managed path replaced by a symlink after create: no write, put-back or delete goes through it (the default directory, and one under the allowed root)', async () => {
    const decoy = join(t.dir, 'decoy');
    await mkdir(decoy, { recursive: true });
    const precious = async (): Promise<string[]> => Promise.all(['hosts', 'resolv.conf'].map((f) => readFile(join(decoy, f), 'utf8')));
    for (const f of ['hosts', 'resolv.conf']) await writeFile(join(decoy, f), 'precious\n');
    // Under the allowed root: hosts existed (its original is put back at delete), resolv.conf is sandns's own.
    const allowed = join(t.dir, 'allowed');
    await mkdir(join(allowed, 'v'), { recursive: true });
    await writeFile(join(allowed, 'v', 'hosts'), 'original\n');
    const g = await guarded.controller.newSandbox(`${tag}-v`, { hostsPath: join(allowed, 'v', 'hosts'), resolvConfPath: join(allowed, 'v', 'resolv.conf'), netnsPath: EXT });
    await rename(join(allowed, 'v'), join(allowed, 'v-moved'));
    await symlink(decoy, join(allowed, 'v'));
    // The default directory of a sandbox of its own.
    const ns = `${tag}-dir`;
    const sb = await t.controller.newSandbox(ns);
    await rename(`/etc/netns/${ns}`, `/etc/netns/${ns}-moved`);
    await symlink(decoy, `/etc/netns/${ns}`);
    try {
      for (const c of [guarded, t]) {
        await writeFile(c.originPath, 'nameserver 192.0.2.55\n');
        await c.controller.refreshOrigin();
      }
      expect(await precious()).toEqual(['precious\n', 'precious\n']);
      await g.delete();
      await sb.delete();
      expect(await precious(), 'a delete put back or removed a file through the swapped directory').toEqual(['precious\n', 'precious\n']);
    } finally {
      await rm(join(allowed, 'v'), { force: true });
      await rm(join(allowed, 'v-moved'), { recursive: true, force: true });
      await rm(`/etc/netns/${ns}`, { force: true });
      await rm(`/etc/netns/${ns}-moved`, { recursive: true, force: true });
    }
  });

  it('L7 relative, dotted or root-escaping paths: 400 ERR_FILE_PATH; the origin resolv.conf and a shared path are refused', async () => {
    for (const hostsPath of ['hosts', './x/hosts', `${t.dir}/a/../hosts`, `${t.dir}//hosts`, `${t.dir}/hosts/`]) {
      expect(await refused(t.controller.newSandbox(`${tag}-p`, { hostsPath, netnsPath: EXT }))).toEqual({ code: 'ERR_FILE_PATH', status: 400 });
    }
    expect(await refused(t.controller.newSandbox(`${tag}-p`, { resolvConfPath: t.originPath, netnsPath: EXT }))).toMatchObject({ status: 400 });
    // Names past NAME_MAX (255 bytes; 128 × 'é' is 256) or paths past PATH_MAX: 400 before any file call (ENAMETOOLONG was a 500).
    for (const hostsPath of [join(t.dir, 'x'.repeat(256)), join(t.dir, 'é'.repeat(128)), `${t.dir}/${'d/'.repeat(2100)}hosts`]) {
      expect(await refused(t.controller.newSandbox(`${tag}-p`, { hostsPath, netnsPath: EXT }))).toEqual({ code: 'ERR_FILE_PATH', status: 400 });
    }
    expect(await refused(t.controller.newSandbox(`${tag}-p`, { resolvConfPath: join(t.dir, 'y'.repeat(300)), netnsPath: EXT }))).toEqual({ code: 'ERR_FILE_PATH', status: 400 });
    expect(await refused(t.controller.newSandbox(`${tag}-p`, { hostsPath: join(t.dir, 'same'), resolvConfPath: join(t.dir, 'same'), netnsPath: EXT }))).toMatchObject({ status: 400 });
    const allowed = join(t.dir, 'allowed');
    await symlink('/etc', join(allowed, 'escape'));
    expect(await refused(guarded.controller.newSandbox(`${tag}-g`, { hostsPath: join(t.dir, 'outside'), netnsPath: EXT }))).toEqual({ code: 'ERR_FILE_PATH', status: 400 });
    expect(await refused(guarded.controller.newSandbox(`${tag}-g`, { hostsPath: join(allowed, 'escape', 'hosts'), netnsPath: EXT }))).toEqual({ code: 'ERR_FILE_PATH', status: 400 });
    const ok = await guarded.controller.newSandbox(`${tag}-g`, { hostsPath: join(allowed, 'g', 'hosts'), resolvConfPath: join(allowed, 'g', 'resolv.conf'), netnsPath: EXT });
    expect(await refused(guarded.controller.newSandbox(`${tag}-g2`, { hostsPath: join(allowed, 'g', 'hosts'), resolvConfPath: join(allowed, 'g2'), netnsPath: EXT }))).toEqual({ code: 'ERR_SANDBOX_FILE_IN_USE', status: 409 });
    await ok.delete();
    expect(existsSync(join(allowed, 'g', 'hosts'))).toBe(false);
  });

  it('L7 a file that existed is taken over and its content and mode put back on delete; a file sandns made is deleted', async () => {
    const hostsPath = join(t.dir, 'mine', 'hosts');
    const resolvConfPath = join(t.dir, 'mine', 'resolv.conf');
    await mkdir(join(t.dir, 'mine'));
    await writeFile(hostsPath, '10.0.0.1 users-own-line\n');
    await chmod(hostsPath, 0o640);
    const net = await t.controller.newNetwork('bridge', `${tag}nm`, { subnet: randomSubnet().subnet });
    const sb = await t.controller.newSandbox(`${tag}-m`, { hostsPath, resolvConfPath, hostname: 'mine' });
    const ep = await net.createEndpoint(sb.id);
    await ep.join(sb);
    expect(await readFile(hostsPath, 'utf8')).toContain('mine');
    expect(existsSync(resolvConfPath)).toBe(true);
    await sb.delete();
    await ep.delete();
    expect(await readFile(hostsPath, 'utf8')).toBe('10.0.0.1 users-own-line\n');
    expect((await stat(hostsPath)).mode & 0o777).toBe(0o640);
    expect(existsSync(resolvConfPath)).toBe(false);
    expect(existsSync(`/run/sandns/originals/${tag}-m`)).toBe(false); // where the originals were kept meanwhile
    await net.delete();
  });

  it('L7 a failed create gives a taken-over file back too', async () => {
    const hostsPath = join(t.dir, 'fail-hosts');
    await writeFile(hostsPath, 'original\n');
    await writeFile(join(t.dir, 'notadir'), 'x');
    // resolv.conf cannot be written (its parent is a file): the create fails after the hosts file was written.
    expect(await refused(t.controller.newSandbox(`${tag}-f`, { hostsPath, resolvConfPath: join(t.dir, 'notadir', 'resolv.conf'), netnsPath: EXT }))).toMatchObject({ code: expect.any(String) });
    expect(await readFile(hostsPath, 'utf8')).toBe('original\n');
    expect(t.controller.sandboxes()).toHaveLength(0);
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
