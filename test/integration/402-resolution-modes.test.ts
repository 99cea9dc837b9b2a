/**
 * Which resolv.conf a sandbox gets follows its endpoints (R1, C2, C3; as Docker): while every endpoint
 * joined so far refuses resolution nothing listens on 127.0.0.11, so the file is the legacy one (the origin's
 * servers, IPv6 ones only while an endpoint has an IPv6 address); the first endpoint that wants resolution starts
 * the resolver and the file names 127.0.0.11, and both stay when it leaves. A late key (OCI hook) re-decides the
 * hosts file's IPv6 lines for the namespace it brings (H1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { setSandboxKey, type KeyDeps, type Network } from '../../controller/index.js';
import { silentLogger } from '../../common/log.js';

const tag = uniqueName('m');
let t: TestController;
const keyDeps = (): KeyDeps => ({ changed: () => t.controller.changed(), logger: silentLogger() });
const nameservers = async (id: string): Promise<string[]> =>
  (await readFile(`/etc/netns/${id}/resolv.conf`, 'utf8')).split('\n').filter((l) => l.startsWith('nameserver ')).map((l) => l.slice(11));
const listening53 = async (id: string): Promise<boolean> => (await execa('ip', ['netns', 'exec', id, 'ss', '-Hlun', 'sport = :53'])).stdout.includes('127.0.0.11');

beforeAll(async () => {
  t = await testController('nameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fd00:402::53\n');
});

afterAll(async () => {
  await t?.cleanup();
});

describe('402 resolv.conf kind and IPv6 lines follow what the sandbox has', () => {
  it('C3 R1 endpoints that all refuse resolution get the legacy file (no dead 127.0.0.11); the first that wants it switches to the resolver for good', async () => {
    const v4: Network = await t.controller.newNetwork('bridge', `${tag}v4`, {});
    const dual = await t.controller.newNetwork('bridge', `${tag}d`, { subnet6: 'fd00:402:1::/64' });
    const other = await t.controller.newNetwork('bridge', `${tag}o`, {});
    const id = `${tag}-a`;
    const sb = await t.controller.newSandbox(id, {});
    expect(await nameservers(id)).toEqual(['127.0.0.11']); // nothing joined yet: ready for the resolver

    const e1 = await v4.createEndpoint('e1', { disableResolution: true });
    await e1.join(sb);
    // The legacy file: the loopback server dropped (it would point into the container), IPv6 ones too (no IPv6 here).
    expect(await nameservers(id)).toEqual(['192.0.2.53']);
    expect(sb.listening).toBe(false);
    expect(await listening53(id)).toBe(false);

    const e2 = await dual.createEndpoint('e2', { disableResolution: true });
    await e2.join(sb);
    expect(await nameservers(id)).toEqual(['192.0.2.53', 'fd00:402::53']); // an IPv6 address now

    const e3 = await other.createEndpoint('e3');
    await e3.join(sb);
    expect(await nameservers(id)).toEqual(['127.0.0.11']);
    expect(sb.listening).toBe(true);
    expect(await listening53(id)).toBe(true);

    // The resolver, once started, stays (as Docker's), and a leave does not touch resolv.conf.
    await e3.leave(sb);
    await e3.delete();
    expect(await nameservers(id)).toEqual(['127.0.0.11']);
    expect(await listening53(id)).toBe(true);
    for (const e of [e1, e2]) {
      await e.leave(sb);
      await e.delete();
    }
    await sb.delete();
    for (const n of [v4, dual, other]) await n.delete();
  });

  it('C3 a sandbox that disables resolution keeps IPv6 servers only while an endpoint has an IPv6 address', async () => {
    const v4 = await t.controller.newNetwork('bridge', `${tag}w4`, {});
    const dual = await t.controller.newNetwork('bridge', `${tag}w6`, { subnet6: 'fd00:402:2::/64' });
    const id = `${tag}-l`;
    const sb = await t.controller.newSandbox(id, { disableResolution: true });
    const a = await v4.createEndpoint('l1');
    await a.join(sb);
    expect(await nameservers(id)).toEqual(['192.0.2.53']);
    const b = await dual.createEndpoint('l2');
    await b.join(sb);
    expect(await nameservers(id)).toEqual(['192.0.2.53', 'fd00:402::53']);
    expect(sb.listening).toBe(false);
    await sb.delete();
    for (const e of [a, b]) await e.delete();
    for (const n of [v4, dual]) await n.delete();
  });

  it('H1 a late key brings a namespace with IPv6 disabled: the hosts file loses its IPv6 lines; one with IPv6 keeps them', async () => {
    const off = `${tag}-k6off`;
    const on = `${tag}-k6on`;
    await execa('ip', ['netns', 'add', off]);
    await execa('ip', ['netns', 'add', on]);
    try {
      await execa('ip', ['netns', 'exec', off, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.lo.disable_ipv6=1']);
      for (const [ns, v6] of [[off, false], [on, true]] as const) {
        const sb = await t.controller.newSandbox(`${ns}-sb`, { external: true, hostname: 'late' });
        const hosts = `/etc/netns/${ns}-sb/hosts`;
        expect(await readFile(hosts, 'utf8')).toContain('::1\tlocalhost'); // no namespace yet: IPv6 assumed (as Docker)
        await setSandboxKey(sb, `/run/netns/${ns}`, keyDeps());
        const text = await readFile(hosts, 'utf8');
        expect(text.includes('::1'), ns).toBe(v6);
        expect(text).toMatch(/^127\.0\.0\.1\tlocalhost$/m);
        await sb.delete();
      }
    } finally {
      await execa('ip', ['netns', 'del', off], { reject: false });
      await execa('ip', ['netns', 'del', on], { reject: false });
    }
  });
});
