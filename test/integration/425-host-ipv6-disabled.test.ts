/**
 * A host whose new links get IPv6 disabled (net.ipv6.conf.default.
 * disable_ipv6=1): a network with subnet6 is refused with 409
 * ERR_NETWORK_IPV6_DISABLED before anything is made (the kernel would answer
 * EACCES to the bridge's IPv6 address: a 500 before); an IPv4-only network
 * still works. The sysctl is changed only inside a scratch "host" namespace
 * where the daemon runs; the machine's own is never touched.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';

const tag = uniqueName('i6');
const HOST = `${tag}-host`;
let build: { bin: string; remove(): Promise<void> };
let d: TestDaemon | undefined;

async function bridges(): Promise<string[]> {
  const r = await execa('ip', ['-n', HOST, '-j', 'link', 'show', 'type', 'bridge']);
  return (JSON.parse(r.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname);
}

beforeAll(async () => {
  build = await buildCli();
  await execa('ip', ['netns', 'add', HOST]);
  await execa('ip', ['netns', 'exec', HOST, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  d = await startDaemon(build.bin, undefined, { netns: `/run/netns/${HOST}` });
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await execa('ip', ['netns', 'del', HOST], { reject: false });
  await build?.remove();
}, 120_000);

describe('425 a host with IPv6 disabled', () => {
  it('L1 a network with subnet6: 409 ERR_NETWORK_IPV6_DISABLED, nothing made; IPv4 only: created', async () => {
    const r = await d!.http('POST', '/networks', JSON.stringify({ name: `${tag}v6`, driver: 'bridge', subnet: '10.254.231.0/24', subnet6: 'fd00:254:231::/64' }));
    expect(r.status).toBe(409);
    expect(JSON.parse(r.text)).toMatchObject({ code: 'ERR_NETWORK_IPV6_DISABLED', message: expect.stringMatching(/IPv6 is disabled on this host.*leave out subnet6/) });
    expect(await bridges()).toEqual([]);
    expect(JSON.parse((await d!.http('GET', '/networks')).text)).toEqual([]);
    const ok = await d!.http('POST', '/networks', JSON.stringify({ name: `${tag}v4`, driver: 'bridge', subnet: '10.254.232.0/24' }));
    expect(ok.status).toBe(201);
    expect((await bridges()).length).toBe(1);
  });
});
