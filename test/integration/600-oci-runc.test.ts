/**
 * The OCI hook with the real runc (L1 external key, L3): a busybox-static
 * container started by runc, whose config.json runs `sandns oci-hook` as its
 * createRuntime and poststop hooks and bind-mounts the sandbox's hosts and
 * resolv.conf, resolves its peer (a sandbox the daemon made) by name with
 * busybox nslookup. The peer resolves the container back; poststop releases
 * the sandbox (back to pending, pin gone); a daemon killed while a container
 * runs re-attaches it at restart. runc runs with a private --root; every
 * container, pin and object is removed in afterAll. No upstream server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import type { NetworkInfo, SandboxInfo } from '../../controller/index.js';
import { pinName } from '../../bin/cli/commands-hook.js';

const tag = uniqueName('o');
const net = `${tag}n`;
const peer = `${tag}-peer`;
const web = `${tag}-web`; // the external sandbox; the containers name it by annotation
const ctrs = [1, 2, 3, 4, 5, 6].map((i) => `${tag}-c${i}`);
/** Each container's pin of its namespace (the hook names it after the sandbox and the container). */
const pinOf = (i: number): string => `/run/netns/${pinName(web, ctrs[i]!)}`;
const { subnet, prefix } = randomSubnet();
let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;
let netId = '';
let webInfo: SandboxInfo;

const runc = (args: string[], timeout = 30_000) => execa('runc', ['--root', join(dir, 'runc'), ...args], { reject: false, timeout });
/** `runc create` hands its stdio to the container: give it none, or the pipes stay open as long as the container runs. */
const runcDetached = (args: string[]) => execa('runc', ['--root', join(dir, 'runc'), ...args], { reject: false, timeout: 30_000, stdio: 'ignore' });

/** A bundle: busybox-static rootfs, config.json from `runc spec` with the hooks, the mounts and the command. */
async function bundle(name: string, args: string[]): Promise<string> {
  const b = join(dir, name);
  await mkdir(join(b, 'rootfs', 'bin'), { recursive: true });
  await mkdir(join(b, 'rootfs', 'etc'), { recursive: true });
  await copyFile('/bin/busybox', join(b, 'rootfs', 'bin', 'busybox'));
  for (const tool of ['sh', 'nslookup', 'cat', 'sleep', 'ip', 'hostname']) await symlink('busybox', join(b, 'rootfs', 'bin', tool));
  for (const f of ['hosts', 'resolv.conf']) await writeFile(join(b, 'rootfs', 'etc', f), '');
  await execa('runc', ['spec'], { cwd: b });
  const config = JSON.parse(await readFile(join(b, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  const hook = (phase: string) => ({ path: process.execPath, args: ['node', build.bin, '--socket', d.socket, 'oci-hook', phase], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], timeout: 30 });
  config.process!.terminal = false;
  config.process!.args = args;
  config.hostname = 'web' as never;
  config.annotations = { 'sandns.sandbox': web } as never;
  config.hooks = { createRuntime: [hook('createRuntime')], poststop: [hook('poststop')] } as never;
  (config.mounts as unknown as object[]).push(
    { destination: '/etc/hosts', type: 'bind', source: webInfo.hostsPath, options: ['rbind', 'rw'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: webInfo.resolvConfPath, options: ['rbind', 'rw'] },
  );
  await writeFile(join(b, 'config.json'), JSON.stringify(config, null, 2));
  return b;
}

async function digA(sb: string, name: string): Promise<string> {
  const r = await execa('nsenter', [`--net=/run/netns/${sb}`, '--', 'dig', '+short', '+time=2', '+tries=1', '@127.0.0.11', name], { reject: false });
  return r.stdout.trim();
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-600-'));
  d = await stateDaemon(build.bin, join(dir, 'daemon'));
  await d.start();
  netId = (await d.api<NetworkInfo>('POST', '/networks', { name: net, subnet })).id;
  await d.api('POST', '/sandboxes', { name: peer });
  await d.api('POST', `/networks/${net}/connect`, { sandbox: peer, aliases: ['db'], ip: `${prefix}.20` });
});

afterAll(async () => {
  for (const c of ctrs) await runc(['delete', '-f', c]);
  for (const c of ctrs) await execa('ip', ['netns', 'del', pinName(web, c)], { reject: false });
  if (d?.alive()) {
    for (const s of [web, peer]) await d.http('DELETE', `/sandboxes/${s}`);
    await d.http('DELETE', `/networks/${net}`);
  }
  await d?.kill('SIGTERM');
  await execa('ip', ['netns', 'del', peer], { reject: false });
  await execa('ip', ['link', 'del', `sd-${netId.slice(0, 12)}`], { reject: false });
  for (const s of [web, peer]) {
    await rm(`/etc/netns/${s}`, { recursive: true, force: true });
    await rm(`/run/sandns/sandboxes/${s}`, { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
});

describe('600 OCI hook with runc', () => {
  it('L1 an external sandbox: files now, no namespace; connect claims the endpoint until the key arrives', async () => {
    const c = await d.cli(['--json', 'sandbox', 'create', web, '--external', '--hostname', 'web']);
    expect(c.exitCode, c.stderr).toBe(0);
    webInfo = JSON.parse(c.stdout) as SandboxInfo;
    expect(webInfo).toMatchObject({ netnsPath: '', keyMode: 'late', endpoints: [] });
    expect(await readFile(webInfo.resolvConfPath, 'utf8')).toMatch(/^nameserver 127\.0\.0\.11$/m);
    await d.api('POST', `/networks/${net}/connect`, { sandbox: web, aliases: ['www'], ip: `${prefix}.30` });
    expect(await digA(peer, 'www')).toBe('');
  });

  it('L1 runc run: the container resolves its peer by name with busybox nslookup; hosts and resolv.conf are the sandbox\'s', async () => {
    const b = await bundle('b1', ['sh', '-c', `nslookup ${peer}; nslookup db; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf; ip -4 -o addr show eth0`]);
    const r = await runc(['run', '--bundle', b, ctrs[0]!]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Name:\\s+${peer}\\s+Address:\\s+${prefix.replace(/\./g, '\\.')}\\.20`));
    expect(r.stdout).toMatch(new RegExp(`Name:\\s+db\\s+Address:\\s+${prefix.replace(/\./g, '\\.')}\\.20`));
    expect(r.stdout).toMatch(new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.30\\tweb$`, 'm'));
    expect(r.stdout).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(r.stdout).toContain(`inet ${prefix}.30/24`);
  });

  it('L1 poststop released it: back to pending, the pin and the veth gone, the name no longer resolves', async () => {
    const info = await d.api<SandboxInfo>('GET', `/sandboxes/${web}`);
    // Its endpoint waits for the next key, claimed: listed, with no interface.
    expect(info.netnsPath).toBe('');
    expect(info.endpoints.map((e) => [e.name, e.ipv4, e.ifname])).toEqual([[web, `${prefix}.30`, undefined]]);
    expect(existsSync(pinOf(0))).toBe(false);
    expect(await digA(peer, 'www')).toBe('');
    expect(await readFile(webInfo.hostsPath, 'utf8')).not.toContain(`${prefix}.30`);
  });

  it('L1 L3 runc create + start: the peer resolves the container; a daemon killed meanwhile re-attaches it; runc delete -f releases it', async () => {
    const b = await bundle('b2', ['sleep', '300']);
    const created = await runcDetached(['create', '--bundle', b, ctrs[1]!]);
    expect(created.exitCode).toBe(0);
    expect((await runc(['start', ctrs[1]!])).exitCode).toBe(0);
    expect(await digA(peer, 'www')).toBe(`${prefix}.30`);
    expect((await d.api<SandboxInfo>('GET', `/sandboxes/${web}`)).netnsPath).toBe(pinOf(1));
    await d.kill('SIGKILL');
    await d.start();
    expect((await d.logLines()).find((l) => String(l.msg).startsWith('state restored'))).toMatchObject({ sandboxes: 2, pending: 0, joined: 2, problems: [] });
    expect(await digA(peer, 'www')).toBe(`${prefix}.30`);
    const inCtr = await runc(['exec', ctrs[1]!, 'nslookup', peer]);
    expect(inCtr.stdout).toMatch(new RegExp(`Address:\\s+${prefix.replace(/\./g, '\\.')}\\.20`));
    expect((await runc(['delete', '-f', ctrs[1]!])).exitCode).toBe(0);
    expect(existsSync(pinOf(1))).toBe(false);
    expect((await d.api<SandboxInfo>('GET', `/sandboxes/${web}`)).netnsPath).toBe('');
    expect(await digA(peer, 'www')).toBe('');
  });

  it('L1 L3 the container stops while the daemon is down: the hook still unpins; at restart the sandbox waits again and the next container gets it', async () => {
    const b = await bundle('b3', ['sleep', '300']);
    expect((await runcDetached(['create', '--bundle', b, ctrs[2]!])).exitCode).toBe(0);
    expect((await runc(['start', ctrs[2]!])).exitCode).toBe(0);
    expect(await digA(peer, 'www')).toBe(`${prefix}.30`);
    await d.kill('SIGKILL');
    await runc(['delete', '-f', ctrs[2]!]); // poststop cannot reach the daemon: it unpins anyway
    expect(existsSync(pinOf(2))).toBe(false);
    await d.start();
    expect((await d.logLines()).find((l) => String(l.msg).startsWith('state restored'))).toMatchObject({ sandboxes: 2, pending: 1, joined: 1, problems: [] });
    expect((await d.api<SandboxInfo>('GET', `/sandboxes/${web}`)).netnsPath).toBe('');
    expect(await readFile(webInfo.hostsPath, 'utf8')).not.toContain(`${prefix}.30`);
    const again = await runc(['run', '--bundle', await bundle('b4', ['nslookup', 'db']), ctrs[3]!]);
    expect(again.stdout).toMatch(new RegExp(`Address:\\s+${prefix.replace(/\./g, '\\.')}\\.20`));
  });

  it('L1 a second container given the running one\'s sandbox is refused, and its poststop leaves the first one\'s network alone', async () => {
    expect((await runcDetached(['create', '--bundle', await bundle('b5', ['sleep', '300']), ctrs[4]!])).exitCode).toBe(0);
    expect((await runc(['start', ctrs[4]!])).exitCode).toBe(0);
    expect(await digA(peer, 'www')).toBe(`${prefix}.30`);
    // The same annotation: its createRuntime hook is refused (the runtime aborts it and runs its poststop).
    const second = await runcDetached(['create', '--bundle', await bundle('b6', ['sleep', '300']), ctrs[5]!]);
    expect(second.exitCode).not.toBe(0);
    await runc(['delete', '-f', ctrs[5]!]);
    expect((await d.api<SandboxInfo>('GET', `/sandboxes/${web}`)).netnsPath).toBe(pinOf(4));
    expect(existsSync(pinOf(4))).toBe(true);
    expect(existsSync(pinOf(5))).toBe(false);
    expect(await digA(peer, 'www')).toBe(`${prefix}.30`);
    const inCtr = await runc(['exec', ctrs[4]!, 'nslookup', peer]);
    expect(inCtr.stdout).toMatch(new RegExp(`Address:\\s+${prefix.replace(/\./g, '\\.')}\\.20`));
    expect((await runc(['delete', '-f', ctrs[4]!])).exitCode).toBe(0);
    expect((await d.api<SandboxInfo>('GET', `/sandboxes/${web}`)).netnsPath).toBe('');
  });
});
