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
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { waitFor } from '../helpers/wait.js';
import { createLogger } from '../../common/log.js';
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

  it('a port detached from its bridge (nomaster: an AF_BRIDGE RTM_DELLINK names it) is no vanished veth: the endpoint stays; a deletion still drops it', async () => {
    const c = await t.controller.newSandbox(`${tag}-c`, { hostname: 'charlie' });
    const ep = await net.createEndpoint('charlie');
    await ep.join(c);
    const host = ep.joinInfo!.hostIfname!;
    await execa('ip', ['link', 'set', host, 'nomaster']);
    await new Promise((r) => setTimeout(r, 500));
    expect([ep.sandbox, net.endpoints.has(ep.id)]).toEqual([c, true]);
    await execa('ip', ['link', 'del', host]);
    expect(await waitFor(async () => !net.endpoints.has(ep.id), 3_000, 20)).toBe(true);
    await c.delete();
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

  /**
   * One endpoint, several leaves at once: the API's disconnect, a vanished-link drop (link watch), a cluster
   * disconnect and a sandbox delete all reach Controller.leaveAndDelete, and only the API serialises its own. The
   * endpoint must leave once (one 'endpoint left', one veth deletion): the later callers wait for the leave in
   * flight, then find it done and succeed.
   */
  describe('concurrent leaves of one endpoint', () => {
    let c: TestController;
    let cnet: Network;
    const lines: { msg?: string; endpoint?: string; level?: number }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as (typeof lines)[number]);
        done();
      },
    });
    const leftLines = (name: string): number => lines.filter((l) => l.msg === 'endpoint left' && l.endpoint === name).length;
    const failed = (settled: PromiseSettledResult<unknown>[]): string[] => settled.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok'));

    beforeAll(async () => {
      c = await testController(undefined, { logger: createLogger({ level: 'info', destination: sink }) });
      cnet = await c.controller.newNetwork('bridge', `${tag}cl`, { subnet: '10.251.135.0/24' });
      const peer = await c.controller.newSandbox(`${tag}-cp`, { hostname: 'charlie' });
      await (await cnet.createEndpoint('charlie')).join(peer);
    });

    afterAll(async () => {
      await c?.cleanup();
    });

    type Ep = Awaited<ReturnType<Network['createEndpoint']>>;
    const rivals: [string, (ep: Ep, sb: Sandbox) => Promise<unknown>[]][] = [
      ['disconnect + drop', (ep) => [ep.disconnect(), c.controller.leaveAndDelete(ep)]],
      ['drop + drop', (ep) => [c.controller.leaveAndDelete(ep), c.controller.leaveAndDelete(ep)]],
      ['drop + disconnect', (ep) => [c.controller.leaveAndDelete(ep), ep.disconnect()]],
      ['leave + disconnect', (ep, sb) => [ep.leave(sb), ep.disconnect()]],
      ['disconnect ×3', (ep) => [ep.disconnect(), ep.disconnect(), ep.disconnect()]],
    ];
    it.each(rivals)('%s: one leave, every caller succeeds, nothing left', async (what, race) => {
      const sb = await c.controller.newSandbox(`${tag}-r${rivals.findIndex((r) => r[0] === what)}`);
      try {
        const ep = await cnet.createEndpoint(`racer${rivals.findIndex((r) => r[0] === what)}`);
        await ep.join(sb);
        const host = ep.joinInfo!.hostIfname!;
        const settled = await Promise.allSettled(race(ep, sb));
        expect(failed(settled)).toEqual(settled.map(() => 'ok'));
        expect(leftLines(ep.name)).toBe(1);
        if (cnet.endpoints.has(ep.id)) await ep.delete(); // 'leave + disconnect': the plain leave keeps it
        expect(ep.sandbox).toBeUndefined();
        expect(sb.endpoints.size).toBe(0);
        expect([await linkExists(host), await linkExists('eth0', sb.netnsPath)]).toEqual([false, false]);
        expect(await readFile(sb.info().hostsPath, 'utf8')).not.toContain(ep.ipv4);
        // Nothing left claimed: the sandbox joins the network again, as eth0, and resolves its peer.
        const again = await cnet.createEndpoint(`${ep.name}b`);
        await again.join(sb);
        expect(again.joinInfo!.ifname).toBe('eth0');
        expect((await digShort(sb.id, ['charlie'])).stdout.trim()).toMatch(/^10\.251\.135\.\d+$/);
        await again.disconnect();
      } finally {
        await sb.delete();
      }
    });

    it('a disconnect arriving once a sandbox delete has detached the endpoint answers only after its veth is gone', async () => {
      for (let i = 0; i < 5; i++) {
        const sb = await c.controller.newSandbox(`${tag}-late${i}`);
        const ep = await cnet.createEndpoint(`late${i}`);
        await ep.join(sb);
        const host = ep.joinInfo!.hostIfname!;
        const deleting = sb.delete();
        while (ep.sandbox !== undefined) await new Promise((r) => setImmediate(r)); // detached: the leave's slow steps run now
        // Read as it answers (synchronously): the other leave must have ended by then.
        const late = ep.disconnect().then(async () => ({ leaving: ep.leaving !== undefined, kept: cnet.endpoints.has(ep.id), veth: await linkExists(host) }));
        expect(await late).toEqual({ leaving: false, kept: false, veth: false });
        await deleting;
        expect(leftLines(ep.name)).toBe(1);
        expect(c.controller.sandboxes().some((s) => s.id === sb.id)).toBe(false);
      }
    });

    it.each(['delete', 'disconnect'] as const)('a sandbox delete and a disconnect at once (%s first) both succeed, one leave', async (first) => {
      const sb = await c.controller.newSandbox(`${tag}-d${first.slice(0, 3)}`);
      const ep = await cnet.createEndpoint(`dr${first}`);
      await ep.join(sb);
      const host = ep.joinInfo!.hostIfname!;
      const settled = await Promise.allSettled(first === 'delete' ? [sb.delete(), ep.disconnect()] : [ep.disconnect(), sb.delete()]);
      expect(failed(settled)).toEqual(['ok', 'ok']);
      expect(leftLines(ep.name)).toBe(1);
      expect(cnet.endpoints.has(ep.id)).toBe(false);
      expect(c.controller.sandboxes().some((s) => s.id === sb.id)).toBe(false);
      expect(await linkExists(host)).toBe(false);
    });
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
