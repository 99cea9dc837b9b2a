/**
 * Managed files in real sandboxes (H2, H3, C2, C3, C4, C5): hosts lines follow
 * join and leave; a user's resolv.conf edit survives; origin changes reach
 * the file at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { waitFor } from '../helpers/wait.js';
import { inNetns } from '../helpers/exec.js';
import type { Network, Sandbox } from '../../controller/index.js';

async function ahosts(netns: string, name: string): Promise<string[]> {
  const r = await inNetns(netns, ['getent', 'ahostsv4', name]);
  return [...new Set(r.stdout.split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean))].sort();
}


describe('400 managed files in real sandboxes', () => {
  let t: TestController;
  const tag = uniqueName('f');
  let n1: Network;
  let n2: Network;
  let sb: Sandbox;
  const ns = `${tag}-app`;

  beforeAll(async () => {
    t = await testController('nameserver 192.0.2.53\nsearch corp.example\n');
    n1 = await t.controller.newNetwork('bridge', `${tag}n1`, {});
    n2 = await t.controller.newNetwork('bridge', `${tag}n2`, {});
    sb = await t.controller.newSandbox(ns, {
      hostname: 'app', domainname: 'example.internal',
      extraHosts: [{ name: 'otherhost.invalid', ip: '192.0.2.3' }],
    });
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('H2 H3 after joining a second network the own hostname has both addresses; after leave only the other', async () => {
    const e1 = await n1.createEndpoint('app');
    const e2 = await n2.createEndpoint('app');
    await e1.join(sb);
    await e2.join(sb);
    const hostsPath = `/etc/netns/${ns}/hosts`;
    const text = await readFile(hostsPath, 'utf8');
    expect(text).toContain('192.0.2.3\totherhost.invalid\n');
    expect(text).toContain(`${e1.ipv4}\tapp.example.internal app\n`);
    expect(text).toContain(`${e2.ipv4}\tapp.example.internal app\n`);
    expect(await ahosts(ns, 'app')).toEqual([e1.ipv4, e2.ipv4].sort());
    await e1.leave(sb);
    expect(await ahosts(ns, 'app')).toEqual([e2.ipv4]);
    expect(await readFile(hostsPath, 'utf8')).toContain('192.0.2.3\totherhost.invalid\n');
    await e1.delete();
  });

  it('C2 resolv.conf names 127.0.0.11, keeps the search list and records the external server', async () => {
    const rc = await readFile(`/etc/netns/${ns}/resolv.conf`, 'utf8');
    expect(rc).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(rc).toMatch(/^search corp\.example$/m);
    expect(rc).toContain('# ExtServers: [host(192.0.2.53)]');
    expect(sb.view.upstreams).toEqual([{ address: '192.0.2.53', port: 53, origin: 'host' }]);
  });

  it('C5 a change of the origin file refreshes the upstreams and the file within 1 s, without restart', async () => {
    await writeFile(t.originPath, 'nameserver 192.0.2.54\nsearch corp.example\n');
    const ok = await waitFor(async () => sb.view.upstreams[0]?.address === '192.0.2.54', 1000);
    expect(ok).toBe(true);
    expect(await readFile(`/etc/netns/${ns}/resolv.conf`, 'utf8')).toContain('# ExtServers: [host(192.0.2.54)]');
  });

  it('C4 a user edit of resolv.conf survives a join and an origin change', async () => {
    const rcPath = `/etc/netns/${ns}/resolv.conf`;
    const mine = 'nameserver 127.0.0.11\noptions ndots:2\n# edited by hand\n';
    await writeFile(rcPath, mine);
    const sb2 = await t.controller.newSandbox(`${tag}-peer`, { hostname: 'peer' });
    const ep = await n1.createEndpoint('app2');
    await ep.join(sb);
    await (await n1.createEndpoint('peer')).join(sb2);
    await writeFile(t.originPath, 'nameserver 192.0.2.55\n');
    await waitFor(async () => sb.view.upstreams[0]?.address === '192.0.2.55', 1000);
    expect(sb.view.upstreams[0]?.address).toBe('192.0.2.55'); // servers still follow the origin
    expect(await readFile(rcPath, 'utf8')).toBe(mine);
  });

  it('C3 a sandbox without the resolver gets the legacy file: loopback servers dropped, no public fallback', async () => {
    await writeFile(t.originPath, 'nameserver 127.0.0.53\n');
    await t.controller.refreshOrigin();
    const legacy = await t.controller.newSandbox(`${tag}-leg`, { hostname: 'leg', disableResolution: true });
    const ep = await n2.createEndpoint('leg');
    await ep.join(legacy);
    const rc = await readFile(`/etc/netns/${tag}-leg/resolv.conf`, 'utf8');
    expect(rc).not.toMatch(/^nameserver/m);
    expect(rc).not.toContain('8.8.8.8');
    expect(rc).toContain('NO USABLE NAMESERVERS');
    expect(legacy.listening).toBe(false);
  });

  it('H1 the IPv6 lines follow whether the namespace has ::1: a namespace with IPv6 disabled gets none', async () => {
    const dual = await t.controller.newNetwork('bridge', `${tag}n4`, {});
    const off = `${tag}-v6off`;
    await execa('ip', ['netns', 'add', off]);
    try {
      await execa('ip', ['netns', 'exec', off, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      const without = await t.controller.newSandbox(off, { hostname: 'nov6', netnsPath: `/run/netns/${off}` });
      const withV6 = await t.controller.newSandbox(`${tag}-v6on`, { hostname: 'v6' });
      const a = await dual.createEndpoint('nov6');
      const b = await dual.createEndpoint('v6');
      await a.join(without);
      await b.join(withV6);
      const offHosts = await readFile(`/etc/netns/${off}/hosts`, 'utf8');
      expect(offHosts).toBe(`127.0.0.1\tlocalhost\n${a.ipv4}\tnov6\n`);
      const onHosts = await readFile(`/etc/netns/${tag}-v6on/hosts`, 'utf8');
      expect(onHosts).toContain('::1\tlocalhost ip6-localhost ip6-loopback\n');
      expect(onHosts).toContain(`${b.ipv4}\tv6\n`);
      // A dual-stack network: its IPv6 address cannot go there (the kernel says EACCES); refused first, nothing made.
      const n6 = await t.controller.newNetwork('bridge', `${tag}n6`, { subnet6: 'fd00:400:11::/64' });
      const c = await n6.createEndpoint('nov6b');
      await expect(c.join(without)).rejects.toMatchObject({ code: 'ERR_SANDBOX_IPV6_DISABLED', status: 409 });
      expect(c.sandbox).toBeUndefined();
      expect((await execa('ip', ['link', 'show', 'dev', `sv${c.id.slice(0, 12)}`], { reject: false })).exitCode).not.toBe(0);
      expect((await execa('ip', ['-n', off, '-o', 'link', 'show'])).stdout.split('\n')).toHaveLength(2); // lo and the IPv4 network's eth0
      await c.delete();
      await n6.delete();
      await without.delete();
      await withV6.delete();
      await dual.delete();
    } finally {
      await execa('ip', ['netns', 'del', off], { reject: false });
    }
  });
});
