/**
 * L7 on a real file system, as root: sandns writes a sandbox's managed files
 * (hosts, resolv.conf) without following symlinks, only at absolute paths
 * (inside the allowed root when one is set), never through a directory that
 * was swapped for a symlink after the sandbox was made, and gives a file it
 * took over its original content and mode back instead of deleting it.
 * (Split from 420, which keeps the names-that-exist half of L4.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { refused } from '../helpers/refused.js';
import { randomSubnet } from '../helpers/daemon.js';

const tag = uniqueName('f');
let t: TestController;
/** A namespace of the test's own, given as an external key where a sandbox needs no namespace of its own. */
const extNs = `${tag}-ext`;
const EXT = `/run/netns/${extNs}`;
let guarded: TestController;
const dirs: string[] = [];

beforeAll(async () => {
  await execa('ip', ['netns', 'add', extNs]);
  t = await testController('nameserver 192.0.2.53\n');
  guarded = await testController('nameserver 192.0.2.53\n', { allowedFilesRoot: join(t.dir, 'allowed') });
  await mkdir(join(t.dir, 'allowed'), { recursive: true });
});

afterAll(async () => {
  await guarded?.cleanup();
  await t?.cleanup();
  await execa('ip', ['netns', 'del', extNs], { reject: false });
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('421 L7 files as root', () => {
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
    dirs.push(`/run/sandns/originals/${tag}-v`); // its put-back is refused (the swap): the original is kept there
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
    expect(existsSync(join(allowed, 'g'))).toBe(false); // made for it, so gone with it
    // Nested directories made for two given paths go too, deepest first; the allowed root, which was there, stays.
    const nested = await guarded.controller.newSandbox(`${tag}-n`, { hostsPath: join(allowed, 'n1', 'n2', 'hosts'), resolvConfPath: join(allowed, 'n1', 'n3', 'resolv.conf'), netnsPath: EXT });
    expect(existsSync(join(allowed, 'n1', 'n3', 'resolv.conf'))).toBe(true);
    await nested.delete();
    expect(existsSync(join(allowed, 'n1'))).toBe(false);
    expect(existsSync(allowed)).toBe(true);
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

  it('L7 C4 a create refused on a path that is not a regular file (/proc/version): 409, its hash file and directories go, and the next sandbox of that name gets its files', async () => {
    const ns = `${tag}-pv`;
    // The copy of /proc/version kept to be put back stays (the put-back is refused as the write was).
    dirs.push(`/etc/netns/${ns}`, `/run/sandns/sandboxes/${ns}`, `/run/sandns/originals/${ns}`);
    const before = await readFile('/proc/version', 'utf8');
    const r = await t.controller.newSandbox(ns, { resolvConfPath: '/proc/version', netnsPath: EXT }).then(() => undefined, (e: unknown) => e as { code?: string; status?: number; message?: string });
    expect(r).toMatchObject({ code: 'ERR_RESOLVCONF_IO', status: 409 });
    expect(r?.message).toContain('not a regular file');
    expect(await readFile('/proc/version', 'utf8')).toBe(before);
    expect(existsSync(`/run/sandns/sandboxes/${ns}`)).toBe(false); // the hash file and its directory
    expect(existsSync(`/etc/netns/${ns}`)).toBe(false);
    // The same name again, default paths: a fresh resolv.conf, never taken for a user's edit of a leftover.
    const sb = await t.controller.newSandbox(ns, { netnsPath: EXT });
    expect(await readFile(`/etc/netns/${ns}/resolv.conf`, 'utf8')).toMatch(/^nameserver 127\.0\.0\.11$/m);
    await t.controller.deleteSandbox(sb);
    expect(existsSync(`/etc/netns/${ns}`)).toBe(false);
  });

  it('C4 a new sandbox writes its resolv.conf even when a hash file of an earlier one of that name is left', async () => {
    const ns = `${tag}-hs`;
    dirs.push(`/etc/netns/${ns}`, `/run/sandns/sandboxes/${ns}`);
    await mkdir(`/run/sandns/sandboxes/${ns}`, { recursive: true });
    await writeFile(`/run/sandns/sandboxes/${ns}/resolv.conf.hash`, 'sha256:0000000000000000000000000000000000000000000000000000000000000000\n');
    const sb = await t.controller.newSandbox(ns, { netnsPath: EXT });
    expect(await readFile(`/etc/netns/${ns}/resolv.conf`, 'utf8')).toMatch(/^nameserver 127\.0\.0\.11$/m);
    await t.controller.deleteSandbox(sb);
  });
});
