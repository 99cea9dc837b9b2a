/**
 * Lifecycle over rtnetlink: links, addresses and routes over rtnetlink, in-process. A connect
 * spawns no process; the kernel objects are exactly what the plan says (read
 * back with iproute2, the diagnostic); a refused operation is a typed
 * ERR_NETLINK_FAILED with nothing left behind; an interface deleted behind the
 * controller's back is noticed from link events (no polling) and its endpoint
 * leaves at once (R15).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcess } from 'node:child_process';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { digShort, hostLinks } from '../helpers/exec.js';
import { waitFor } from '../helpers/wait.js';
import type { Network, Sandbox } from '../../controller/index.js';

/** Every process this test process starts goes through ChildProcess.prototype.spawn (spawn, exec, execa alike): count them. */
function countSpawns<T>(fn: () => Promise<T>): Promise<{ result: T; spawned: string[] }> {
  const proto = ChildProcess.prototype as unknown as { spawn: (o: { file: string }) => unknown };
  const real = proto.spawn;
  const spawned: string[] = [];
  proto.spawn = function (this: unknown, o: { file: string }) {
    spawned.push(o.file);
    return real.call(this, o);
  };
  return fn().then((result) => ({ result, spawned }), (err: unknown) => Promise.reject(err)).finally(() => (proto.spawn = real));
}

const ipJson = async <T>(args: string[]): Promise<T> => JSON.parse((await execa('ip', ['-j', ...args])).stdout) as T;

describe('130 links over rtnetlink', () => {
  let t: TestController;
  const tag = uniqueName('nl');
  const ns = (n: string): string => `${tag}-${n}`;
  let net: Network;
  const sbs: Record<string, Sandbox> = {};

  beforeAll(async () => {
    t = await testController();
    net = await t.controller.newNetwork('bridge', `${tag}net`, { subnet: '10.251.13.0/24', subnet6: 'fd00:13:13::/64' });
    for (const name of ['alpha', 'bravo', 'charlie']) sbs[name] = await t.controller.newSandbox(ns(name), { hostname: name });
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('L2 create + connect spawns no process, and the links are what the plan says', async () => {
    const probe = await countSpawns(() => execa('true'));
    expect(probe.spawned).toEqual(['true']); // the counter sees execa's children
    const { result: ep, spawned } = await countSpawns(async () => {
      const sb = await t.controller.newSandbox(ns('delta'), { hostname: 'delta' });
      const e = await net.createEndpoint('delta', {});
      await e.join(sb);
      return e;
    });
    expect(spawned).toEqual([]);
    const [eth0] = await ipJson<{ ifname: string; address: string; operstate: string; addr_info: { local: string; prefixlen: number }[] }[]>(['-n', ns('delta'), 'addr', 'show', 'dev', 'eth0']);
    expect(eth0!.address).toBe(ep.joinInfo!.mac);
    expect(eth0!.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(expect.arrayContaining([`${ep.ipv4}/24`, `${ep.ipv6}/64`]));
    const routes4 = await ipJson<{ dst: string; gateway?: string; dev: string }[]>(['-n', ns('delta'), 'route', 'show', 'default']);
    expect(routes4).toEqual([expect.objectContaining({ dst: 'default', gateway: '10.251.13.1', dev: 'eth0' })]);
    const routes6 = await ipJson<{ dst: string; gateway?: string }[]>(['-n', ns('delta'), '-6', 'route', 'show', 'default']);
    expect(routes6).toEqual([expect.objectContaining({ dst: 'default', gateway: net.driverNetwork.gateway6 })]);
    const lo = await ipJson<{ flags: string[] }[]>(['-n', ns('delta'), 'link', 'show', 'dev', 'lo']);
    expect(lo[0]!.flags).toContain('UP');
    const host = await ipJson<{ master?: string; flags: string[] }[]>(['link', 'show', 'dev', ep.joinInfo!.hostIfname]);
    expect(host[0]!.master).toBe(`sd-${net.id.slice(0, 12)}`);
    expect(host[0]!.flags).toContain('UP');
  });

  it('L2 R3 peers resolve each other after connects made concurrently (host rtnetlink socket pool)', async () => {
    await Promise.all(['alpha', 'bravo', 'charlie'].map(async (n) => (await net.createEndpoint(n, {})).join(sbs[n]!)));
    for (const [from, n] of [['alpha', 'bravo'], ['alpha', 'charlie'], ['bravo', 'alpha'], ['charlie', 'delta']] as const) {
      const r = await digShort(ns(from), [n]);
      expect(r.stdout, `${n}: ${r.stderr}`).toMatch(/^10\.251\.13\.\d+$/);
    }
  });

  it('G7 L4 the interface name the join wants exists in the namespace: 409 ERR_LINK_EXISTS naming it (the kernel\'s EEXIST as the cause), and nothing is left behind', async () => {
    const sb = await t.controller.newSandbox(ns('echo'), { hostname: 'echo' });
    await execa('ip', ['-n', ns('echo'), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'e0peer']); // the interface name the join wants
    const ep = await net.createEndpoint('echo', {});
    const err = await ep.join(sb).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_LINK_EXISTS', status: 409, details: { link: 'eth0', kind: 'sandbox' } });
    expect(String((err as Error).message)).toMatch(/eth0 exists already in the sandbox's namespace: connect with another ifname/);
    // The cause is the refused request itself, named as its ip line with the kernel's errno.
    expect((err as Error).cause).toMatchObject({ code: 'ERR_NETLINK_FAILED', details: expect.objectContaining({ errno: 'EEXIST' }) });
    expect(String(((err as Error).cause as Error).message)).toMatch(/link add sv\w+ master \S+ up type veth peer name eth0 /);
    expect((await hostLinks()).filter((l) => l === `sv${ep.id.slice(0, 12)}`)).toEqual([]);
    expect(ep.sandbox).toBeUndefined();
  });

  it('R15 an interface deleted behind the controller: link events make its endpoint leave at once, name gone, address free', async () => {
    const ep = [...net.endpoints.values()].find((e) => e.name === 'charlie')!;
    const ip = ep.ipv4;
    expect((await digShort(ns('alpha'), ['charlie'])).stdout).toBe(ip);
    await execa('ip', ['-n', ns('charlie'), 'link', 'del', 'eth0']); // the pair dies with its sandbox end
    expect(await waitFor(() => !net.endpoints.has(ep.id), 5_000, 20)).toBe(true);
    expect((await digShort(ns('alpha'), ['charlie'])).stdout).toBe('');
    const again = await net.createEndpoint('charlie2', { ip });
    expect(again.ipv4).toBe(ip);
    await again.delete();
  });
});
