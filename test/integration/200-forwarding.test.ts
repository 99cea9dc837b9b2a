/**
 * Forwarding in real namespaces (R10, R11, R13, C5): names a sandbox does not
 * know go to its external servers: host-file servers from the host namespace,
 * the sandbox's own `dns` servers from inside its namespace. Every upstream
 * here is a fake server this test started on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { waitFor } from '../helpers/wait.js';
import { digShort, digStatus, getentHosts, inNetns } from '../helpers/exec.js';
import { randomLoopback, startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { Network } from '../../controller/index.js';


describe('200 forwarding to external servers', () => {
  let t: TestController;
  const tag = uniqueName('w');
  const ups: TestUpstream[] = [];
  let hostUp: TestUpstream;
  let net: Network;

  beforeAll(async () => {
    hostUp = await startTestUpstream(randomLoopback(), { 'example.test': '192.0.2.10', 'cached.test': '192.0.2.11' });
    ups.push(hostUp);
    t = await testController(`nameserver ${hostUp.address}\n`);
    net = await t.controller.newNetwork('bridge', `${tag}net`, {});
    const sb = await t.controller.newSandbox(`${tag}-web`, { hostname: 'web' });
    await (await net.createEndpoint('web')).join(sb);
  });

  afterAll(async () => {
    await t?.cleanup();
    for (const u of ups) await u.close();
  });

  it('R10 an unknown name is forwarded to the host-file server over UDP and TCP', async () => {
    expect((await digShort(`${tag}-web`, ['example.test'])).stdout).toBe('192.0.2.10');
    expect((await digShort(`${tag}-web`, ['+tcp', 'EXAMPLE.test'])).stdout).toBe('192.0.2.10');
    expect(await getentHosts(`${tag}-web`, 'example.test')).toEqual(['192.0.2.10']);
    expect(hostUp.seen.map((n) => n.toLowerCase())).toContain('example.test');
  });

  it('R10 NXDOMAIN from upstream is relayed, never invented; R6 a known name never leaks upstream', async () => {
    expect(await digStatus(`${tag}-web`, ['nothing.test'])).toBe('NXDOMAIN');
    const before = hostUp.seen.length;
    expect(await digStatus(`${tag}-web`, ['web', 'TXT'])).toBe('NOERROR');
    expect(await digStatus(`${tag}-web`, ['web', 'AAAA'])).toBe('NOERROR');
    expect(hostUp.seen.length).toBe(before);
  });

  it('R13 a repeated query is answered from the cache with a decremented TTL', async () => {
    await digShort(`${tag}-web`, ['cached.test']);
    const count = hostUp.seen.filter((n) => n === 'cached.test').length;
    await new Promise((r) => setTimeout(r, 1100));
    const r = await inNetns(`${tag}-web`, ['dig', '+noall', '+answer', '+time=2', '+tries=1', '@127.0.0.11', 'cached.test']);
    expect(hostUp.seen.filter((n) => n === 'cached.test').length).toBe(count);
    const ttl = Number(r.stdout.split(/\s+/)[1]);
    expect(ttl).toBeLessThan(300);
    expect(ttl).toBeGreaterThan(290);
  });

  it('R11 a sandbox dns server is queried from inside the sandbox namespace, not from the host', async () => {
    const sb = await t.controller.newSandbox(`${tag}-own`, { hostname: 'own', dns: ['127.0.0.1'] });
    await (await net.createEndpoint('own')).join(sb);
    const inner = await startTestUpstream('127.0.0.1', { 'example.test': '198.51.100.7' }, sb.netnsPath);
    ups.push(inner);
    expect((await digShort(`${tag}-own`, ['example.test'])).stdout).toBe('198.51.100.7');
    expect((await digShort(`${tag}-own`, ['+tcp', 'example.test'])).stdout).toBe('198.51.100.7');
    expect(inner.seen.length).toBeGreaterThanOrEqual(1);
  });

  it('R11 a sandbox on internal networks only does not use host-side servers', async () => {
    const internal = await t.controller.newNetwork('bridge', `${tag}int`, { internal: true });
    const sb = await t.controller.newSandbox(`${tag}-int`, { hostname: 'isolated' });
    await (await internal.createEndpoint('isolated')).join(sb);
    const before = hostUp.seen.length;
    expect(await digStatus(`${tag}-int`, ['example.test'])).toBe('SERVFAIL');
    expect(hostUp.seen.length).toBe(before);
  });

  it('R11 a network dns server on an internal network is reached from inside each sandbox (Docker TestInternalNetworkLocalDNS)', async () => {
    const third = 100 + Math.floor(Math.random() * 150);
    const subnet = `10.${third}.${Math.floor(Math.random() * 250)}.0/24`;
    const prefix = subnet.slice(0, subnet.lastIndexOf('.'));
    const dnsNet = await t.controller.newNetwork('bridge', `${tag}dns`, { internal: true, subnet, dns: [`${prefix}.53`] });
    const srv = await t.controller.newSandbox(`${tag}-dnsd`, { hostname: 'dnsd', dns: ['127.0.0.1'] });
    await (await dnsNet.createEndpoint('dnsd', { ip: `${prefix}.53` })).join(srv);
    const dnsd = await startTestUpstream(`${prefix}.53`, { 'foo.example': '192.0.2.42' }, srv.netnsPath);
    ups.push(dnsd);
    const client = await t.controller.newSandbox(`${tag}-cli`, { hostname: 'cli' });
    await (await dnsNet.createEndpoint('cli')).join(client);
    expect(client.view.upstreams).toEqual([{ address: `${prefix}.53`, port: 53, origin: 'sandbox' }]);
    const before = hostUp.seen.length;
    expect((await digShort(`${tag}-cli`, ['foo.example'])).stdout).toBe('192.0.2.42');
    expect(dnsd.seen).toContain('foo.example');
    expect(hostUp.seen.length).toBe(before);
  });

  it('C5 changing the origin file moves forwarding to the new server within 1 s, without restart', async () => {
    const next = await startTestUpstream(randomLoopback(), { 'moved.test': '203.0.113.5' });
    ups.push(next);
    await writeFile(t.originPath, `nameserver ${next.address}\n`);
    const sb = t.controller.sandbox(`${tag}-web`);
    expect(await waitFor(() => sb.view.upstreams[0]?.address === next.address, 1000)).toBe(true);
    expect((await digShort(`${tag}-web`, ['moved.test'])).stdout).toBe('203.0.113.5');
    expect(next.seen).toContain('moved.test');
  });
});
