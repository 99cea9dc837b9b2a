/**
 * L2, in-process: a leave answers when the kernel reports the endpoint's veth
 * deleted (RTM_DELLINK), not when the deletion request returns: the kernel
 * unlists both ends first and then waits for RCU grace periods (15–40 ms on a
 * small VM), which the request's sender thread sits out. What must hold: both
 * ends gone when leave resolves, every time; a join into the same namespace
 * right after (same interface name, same network) works at once; a network
 * deleted right after its last leave leaves no veth; close() waits for every
 * deletion request still running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { digShort } from '../helpers/exec.js';
import type { Network, Sandbox } from '../../controller/index.js';
import { hostNetlinkStats } from '../../common/io/rtnetlink.js';
import { linkExists } from '../../drivers/bridge/io/netlink.js';

interface IpLink { ifname: string; flags: string[] }

/** The link `dev` (in namespace `ns`, else the host's), or undefined when there is none. */
async function link(dev: string, ns?: string): Promise<IpLink | undefined> {
  const r = await execa('ip', [...(ns === undefined ? [] : ['-n', ns]), '-j', 'link', 'show', 'dev', dev], { reject: false });
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as IpLink[])[0] : undefined;
}

describe('133 leave answers when the veth is gone, not when the kernel has freed it', () => {
  let t: TestController;
  const tag = uniqueName('lc');
  let net: Network;
  let a: Sandbox;
  let b: Sandbox;

  beforeAll(async () => {
    t = await testController();
    net = await t.controller.newNetwork('bridge', `${tag}net`, { subnet: '10.251.133.0/24' });
    a = await t.controller.newSandbox(`${tag}-a`, { hostname: 'alpha' });
    b = await t.controller.newSandbox(`${tag}-b`, { hostname: 'bravo' });
    await (await net.createEndpoint('bravo')).join(b);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('when leave resolves both ends of the veth are gone, every time', async () => {
    for (let i = 0; i < 10; i++) {
      const ep = await net.createEndpoint(`alpha${i}`);
      await ep.join(a);
      const host = ep.joinInfo!.hostIfname!;
      expect((await link(host))?.flags).toContain('UP');
      expect((await link('eth0', a.id))?.flags).toContain('UP');
      await ep.leave(a);
      // Asked in-process (one rtnetlink request each, well under a millisecond), before anything else runs.
      expect([await linkExists(host), await linkExists('eth0', a.netnsPath)]).toEqual([false, false]);
      await ep.delete();
    }
  });

  it('a join into the same namespace right after a leave gets eth0 again and resolves its peer', async () => {
    for (let i = 0; i < 5; i++) {
      const ep = await net.createEndpoint(`again${i}`);
      await ep.join(a);
      await ep.leave(a);
      await ep.delete();
      const next = await net.createEndpoint(`again${i}b`);
      await next.join(a);
      expect(next.joinInfo!.ifname).toBe('eth0');
      expect((await link(next.joinInfo!.hostIfname!))?.flags).toContain('UP');
      expect((await digShort(a.id, ['bravo'])).stdout.trim()).toMatch(/^10\.251\.133\.\d+$/);
      await next.leave(a);
      await next.delete();
    }
  });

  it('a network deleted right after its last leave leaves no veth and no bridge', async () => {
    const other = await t.controller.newNetwork('bridge', `${tag}tmp`, { subnet: '10.251.134.0/24' });
    const br = String(other.info().bridge);
    const eps = await Promise.all([a, b].map(async (sb) => {
      const ep = await other.createEndpoint(`${sb.id}tmp`);
      await ep.join(sb);
      return ep;
    }));
    const hosts = eps.map((e) => e.joinInfo!.hostIfname!);
    await Promise.all(eps.map(async (ep) => (await ep.leave(ep.sandbox!), await ep.delete())));
    await other.delete();
    for (const h of [...hosts, br]) expect(await link(h)).toBeUndefined();
  });

  it('close() waits for every veth deletion request still running', async () => {
    const c = await testController();
    const name = `${tag}c`;
    const n = await c.controller.newNetwork('bridge', `${name}net`, { subnet: '10.251.139.0/24' });
    const br = String(n.info().bridge);
    const sb = await c.controller.newSandbox(`${name}-s`);
    try {
      const ep = await n.createEndpoint('x');
      await ep.join(sb);
      const host = ep.joinInfo!.hostIfname!;
      await ep.leave(sb);
      await c.controller.close();
      // The deletion's request has returned: its host socket is back in the pool, not held by the kernel's wait.
      expect(hostNetlinkStats().busy).toBe(0);
      expect(await link(host)).toBeUndefined();
    } finally {
      // close() keeps namespaces and bridges (a restart re-attaches): remove them by name.
      await execa('ip', ['netns', 'del', sb.id], { reject: false });
      await execa('ip', ['link', 'del', br], { reject: false });
      await execa('rm', ['-rf', c.dir, `/etc/netns/${sb.id}`, `/run/sandns/sandboxes/${sb.id}`], { reject: false });
    }
  });
});
