/**
 * Walking skeleton, end to end in real namespaces: sandboxes on a bridge
 * network resolve each other through their own 127.0.0.11 listeners
 * (R1, R3, R4, R5, R15, L1, L2, H2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { digShort, digStatus, getentHosts, hostLinks, inNetns, netnsNames } from '../helpers/exec.js';
import type { Endpoint, Network, Sandbox } from '../../controller/index.js';

describe('100 peers on one bridge network', () => {
  let t: TestController;
  const tag = uniqueName('p');
  const ns = (n: string): string => `${tag}-${n}`;
  const netName = `${tag}net`;
  let net: Network;
  let other: Network;
  const sbs: Record<string, Sandbox> = {};
  const eps: Record<string, Endpoint> = {};

  beforeAll(async () => {
    t = await testController();
    const c = t.controller;
    net = await c.newNetwork('bridge', netName, {});
    other = await c.newNetwork('bridge', `${tag}oth`, {});
    for (const name of ['web', 'db', 'cache']) {
      sbs[name] = await c.newSandbox(ns(name), { hostname: name });
      eps[name] = await net.createEndpoint(name, name === 'db' ? { aliases: ['database'] } : {});
      await eps[name]!.join(sbs[name]!);
    }
    sbs.lone = await c.newSandbox(ns('lone'), { hostname: 'lone' });
    eps.lone = await other.createEndpoint('lone');
    await eps.lone.join(sbs.lone);
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('R3 glibc resolves a peer by name, alias and name.network', async () => {
    const dbIp = eps.db!.ipv4;
    expect(await getentHosts(ns('web'), 'db')).toEqual([dbIp]);
    expect(await getentHosts(ns('web'), 'database')).toEqual([dbIp]);
    expect(await getentHosts(ns('web'), `db.${netName}`)).toEqual([dbIp]);
    expect(await getentHosts(ns('db'), 'cache')).toEqual([eps.cache!.ipv4]);
  });

  it('R1 dig answers over UDP and TCP through 127.0.0.11', async () => {
    const udp = await digShort(ns('web'), ['db']);
    const tcp = await digShort(ns('web'), ['DataBase.'], true);
    expect(udp.stdout).toBe(eps.db!.ipv4);
    expect(tcp.stdout).toBe(eps.db!.ipv4);
  });

  it('R5 PTR of a peer answers name.network.', async () => {
    const r = await digShort(ns('web'), ['-x', eps.db!.ipv4]);
    expect(r.stdout).toBe(`db.${netName}.`);
  });

  it('R4 a sandbox does not see a peer on a network it does not share', async () => {
    expect(await getentHosts(ns('lone'), 'db')).toEqual([]);
    expect(await digStatus(ns('lone'), ['db'])).toBe('SERVFAIL');
    expect(await getentHosts(ns('web'), 'lone')).toEqual([]);
  });

  it('R1 each sandbox has its own listener: not reachable from the host namespace', async () => {
    const host = await execa('dig', ['+time=1', '+tries=1', '@127.0.0.11', 'db'], { reject: false });
    expect(host.stdout).not.toContain(eps.db!.ipv4);
    const listen = await inNetns(ns('web'), ['ss', '-Hlun']);
    expect(listen.stdout).toContain('127.0.0.11:53');
    // 'lone' answers its own records through its own listener, not web's
    expect((await digShort(ns('lone'), ['lone'])).stdout).toBe(eps.lone!.ipv4);
  });

  it('R2 a malformed datagram does not crash the controller; the next query answers', async () => {
    await inNetns(ns('web'), ['bash', '-c', 'echo InvalidQuery > /dev/udp/127.0.0.11/53; printf "\\x00\\x01\\xff" > /dev/udp/127.0.0.11/53']);
    expect((await digShort(ns('web'), ['cache'])).stdout).toBe(eps.cache!.ipv4);
  });

  it('H2 the hosts file holds the defaults and the own address; resolv.conf points at 127.0.0.11', async () => {
    const hosts = await readFile(`/etc/netns/${ns('web')}/hosts`, 'utf8');
    expect(hosts).toContain('127.0.0.1\tlocalhost\n');
    expect(hosts).toContain(`${eps.web!.ipv4}\tweb\n`);
    expect(hosts).not.toContain(eps.db!.ipv4); // peers resolve by DNS, never written (H3)
    const rc = await readFile(`/etc/netns/${ns('web')}/resolv.conf`, 'utf8');
    expect(rc).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(rc).toMatch(/^options ndots:0$/m);
  });

  it('R15 after leave, the peer name stops resolving at once; after delete, nothing is left', async () => {
    const cacheIp = eps.cache!.ipv4;
    await eps.cache!.leave(sbs.cache!);
    expect(await digStatus(ns('web'), ['cache'])).toBe('SERVFAIL');
    expect(await getentHosts(ns('web'), 'cache')).toEqual([]);
    expect(cacheIp).not.toBe('');
    const hostIf = `sv${eps.cache!.id.slice(0, 12)}`;
    expect(await hostLinks()).not.toContain(hostIf);
    await eps.cache!.delete();
    await sbs.cache!.delete();
    expect(await netnsNames()).not.toContain(ns('cache'));
    expect(existsSync(`/etc/netns/${ns('cache')}`)).toBe(false);
    for (const name of ['web', 'db', 'lone']) await sbs[name]!.delete();
    await net.delete();
    await other.delete();
    const links = await hostLinks();
    expect(links.filter((l) => l.startsWith(`sd-${net.id.slice(0, 12)}`) || l.startsWith(`sd-${other.id.slice(0, 12)}`))).toEqual([]);
    expect((await netnsNames()).filter((n) => n.startsWith(tag))).toEqual([]);
  });
});
