/**
 * L3, L6 for keys set late (OCI hook): an endpoint connected to a sandbox
 * that waits for its key was answered then, so nothing that happens to the
 * key afterwards may lose it. A key set (PUT /sandboxes/<id>/key) is cut by a
 * kill -9 at each of its steps in turn (crash points, SANDNS_CRASH_POINTS=1):
 * after each restart the sandbox has its key or not, and either way both of
 * its endpoints are still there, joined when the key is there (addresses in
 * the key's namespace, one default route), claimed when it is not (nothing
 * left in the namespace). Then the same with the key's namespace refusing one
 * endpoint's join (IPv6 disabled in it, and that endpoint has an IPv6
 * address): the refused endpoint stays claimed, at the key set, at each
 * restore and after one more restart, and joins once the namespace takes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';

const tag = uniqueName('lk');
const V6 = `${tag}6`; // dual-stack: its endpoint has an IPv6 address
const V4 = `${tag}4`;
const EXT = `${tag}-x`;
const KEY = `${tag}-k`;
const KEY_PATH = `/run/netns/${KEY}`;
let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;

interface EpInfo { name: string; sandbox?: string; ifname?: string; ipv4: string }
const endpointOn = async (net: string): Promise<EpInfo | undefined> =>
  (await d.api<{ endpoints: EpInfo[] }>('GET', `/networks/${net}`)).endpoints.find((e) => e.sandbox === EXT);
const keyOf = async (): Promise<string> => (await d.api<{ netnsPath: string }>('GET', `/sandboxes/${EXT}`)).netnsPath;
const linksInKey = async (): Promise<string[]> => (JSON.parse((await execa('ip', ['-n', KEY, '-j', 'link', 'show'])).stdout) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n !== 'lo').sort();
const addressesInKey = async (): Promise<string[]> => (JSON.parse((await execa('ip', ['-n', KEY, '-j', '-4', 'addr', 'show'])).stdout) as { addr_info: { local: string }[] }[]).flatMap((l) => l.addr_info.map((a) => a.local)).filter((a) => a !== '127.0.0.1');
const defaultRoutes = async (): Promise<number> => (JSON.parse((await execa('ip', ['-n', KEY, '-j', 'route', 'show', 'default'])).stdout) as unknown[]).length;
const ipv6InKey = (on: boolean): Promise<unknown> => execa('ip', ['netns', 'exec', KEY, 'sysctl', '-q', '-w', `net.ipv6.conf.all.disable_ipv6=${on ? 0 : 1}`, `net.ipv6.conf.default.disable_ipv6=${on ? 0 : 1}`]);

/**
 * What the API and the kernel show must agree: each endpoint still claimed by the sandbox; joined (its address in
 * the key's namespace) exactly when the sandbox has its key and the endpoint can join; one default route then.
 */
async function expectConsistent(where: string, v6Joins: boolean): Promise<void> {
  const key = await keyOf();
  const [v6, v4] = [await endpointOn(V6), await endpointOn(V4)];
  expect(v6, `${where}: the endpoint on ${V6} was lost`).toBeDefined();
  expect(v4, `${where}: the endpoint on ${V4} was lost`).toBeDefined();
  if (key === '') {
    expect([v6!.ifname, v4!.ifname], `${where}: no key, nothing joined`).toEqual([undefined, undefined]);
    expect(await linksInKey(), `${where}: no key, nothing left in its namespace`).toEqual([]);
    return;
  }
  expect(key).toBe(KEY_PATH);
  expect(v4!.ifname, `${where}: keyed, ${V4}'s endpoint joined`).toBeDefined();
  expect(v6!.ifname === undefined, `${where}: keyed, ${V6}'s endpoint joined: ${String(v6Joins)}`).toBe(!v6Joins);
  const want = v6Joins ? [v6!.ipv4, v4!.ipv4] : [v4!.ipv4];
  expect((await addressesInKey()).sort(), `${where}: addresses in the key's namespace`).toEqual(want.sort());
  expect(await linksInKey(), `${where}: links in the key's namespace`).toHaveLength(want.length);
  expect(await defaultRoutes(), `${where}: one default route`).toBe(1);
}

/** PUT the key with the crash armed at step `n` of it, until a run is not cut; after each cut, restart and check. */
async function cutEveryStep(v6Joins: boolean): Promise<{ cuts: number; keyed: number; status: number }> {
  let cuts = 0;
  let keyed = 0;
  for (let n = 1; ; n++) {
    expect(n, 'the key set never completed').toBeLessThan(80);
    const answer = await d.http('PUT', `/sandboxes/${EXT}/key`, { netnsPath: KEY_PATH }, { 'x-sandns-crash-at': String(n) }).catch(() => undefined);
    if (answer !== undefined) await new Promise((r) => setTimeout(r, 300)); // a step after the answer would cut it now
    if (answer !== undefined && d.alive()) {
      await d.kill('SIGTERM'); // disarms what is left of the count
      await d.start();
      await expectConsistent(`uncut (n = ${n})`, v6Joins);
      await d.api('DELETE', `/sandboxes/${EXT}/key`).catch(() => undefined);
      return { cuts, keyed, status: answer.status };
    }
    cuts++;
    await d.kill('SIGKILL');
    await d.start();
    await expectConsistent(`cut at step ${n}`, v6Joins);
    if ((await keyOf()) !== '') {
      keyed++;
      // Once more: what restore wrote (the claims it put back) must be what the next restart finds.
      await d.kill('SIGKILL');
      await d.start();
      await expectConsistent(`cut at step ${n}, restarted again`, v6Joins);
    }
    await d.api('DELETE', `/sandboxes/${EXT}/key`).catch(() => undefined);
    await expectConsistent(`cut at step ${n}, key released`, v6Joins);
  }
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-355-'));
  d = await stateDaemon(build.bin, dir, { env: { SANDNS_CRASH_POINTS: '1' } });
  await d.start();
  await execa('ip', ['netns', 'add', KEY]);
  const v6 = randomSubnet();
  const [, b, c] = v6.prefix.split('.').map(Number);
  await d.api('POST', '/networks', { name: V6, subnet: v6.subnet, subnet6: `fd00:${b!.toString(16)}:${c!.toString(16)}::/64` });
  await d.api('POST', '/networks', { name: V4, subnet: randomSubnet().subnet });
  await d.api('POST', '/sandboxes', { name: EXT, external: true });
  await d.api('POST', `/networks/${V6}/connect`, { sandbox: EXT });
  await d.api('POST', `/networks/${V4}/connect`, { sandbox: EXT });
}, 120_000);

afterAll(async () => {
  if (d !== undefined) {
    if (!d.alive()) await d.start().catch(() => undefined);
    await d.http('DELETE', `/sandboxes/${EXT}`).catch(() => undefined);
    for (const n of [V6, V4]) await d.http('DELETE', `/networks/${n}`).catch(() => undefined);
    await d.kill('SIGTERM');
  }
  await execa('ip', ['netns', 'del', KEY], { reject: false });
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  await build?.remove();
}, 120_000);

describe('355 a key set cut by kill -9 never loses the endpoints it joins', () => {
  it('L3 L6 a connect to a sandbox that has its late key already, cut at each step, is undone (it never answered) or kept joined, never left claimed', async () => {
    const net = `${tag}3`;
    await d.api('POST', '/networks', { name: net, subnet: randomSubnet().subnet });
    await d.api('PUT', `/sandboxes/${EXT}/key`, { netnsPath: KEY_PATH });
    let undone = 0;
    try {
      for (let n = 1; ; n++) {
        expect(n, 'the connect never completed').toBeLessThan(80);
        const answer = await d.http('POST', `/networks/${net}/connect`, { sandbox: EXT }, { 'x-sandns-crash-at': String(n) }).catch(() => undefined);
        if (answer !== undefined) await new Promise((r) => setTimeout(r, 300));
        const cut = answer === undefined || !d.alive();
        await d.kill(cut ? 'SIGKILL' : 'SIGTERM');
        await d.start();
        const ep = await endpointOn(net);
        if (ep === undefined) undone++;
        else {
          expect(ep.ifname, `cut at step ${n}: kept, so joined`).toBeDefined();
          expect(await addressesInKey(), `cut at step ${n}`).toContain(ep.ipv4);
          await d.api('POST', `/networks/${net}/disconnect`, { sandbox: EXT });
        }
        if (!cut) break;
      }
      expect(undone, 'some cuts came before the connect\'s commit').toBeGreaterThanOrEqual(1);
    } finally {
      await d.http('DELETE', `/sandboxes/${EXT}/key`).catch(() => undefined);
      await d.http('DELETE', `/networks/${net}`).catch(() => undefined);
    }
  }, 300_000);

  it('L6 cut at each step of a key set: after each restart both endpoints are there, joined with the key, claimed without', async () => {
    await expectConsistent('before', true);
    const run = await cutEveryStep(true);
    expect(run.status).toBe(200);
    expect(run.cuts).toBeGreaterThanOrEqual(3);
    expect(run.keyed, 'some cuts came after the key was on disk (restore then joined the claims)').toBeGreaterThanOrEqual(1);
  }, 300_000);

  it('L6 a join the key\'s namespace refuses (IPv6 disabled there): its endpoint stays claimed at the key set, at every restore, and joins once the namespace takes it', async () => {
    await ipv6InKey(false);
    try {
      const refused = await d.http('PUT', `/sandboxes/${EXT}/key`, { netnsPath: KEY_PATH });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'ERR_SANDBOX_IPV6_DISABLED' });
      await expectConsistent('refused key set', false);
      const run = await cutEveryStep(false);
      expect(run.status).toBe(409);
      expect(run.keyed, 'some cuts came after the key was on disk (restore then met the refusal)').toBeGreaterThanOrEqual(1);
    } finally {
      await ipv6InKey(true);
    }
    await d.api('PUT', `/sandboxes/${EXT}/key`, { netnsPath: KEY_PATH });
    await expectConsistent('IPv6 back on', true);
    await d.api('DELETE', `/sandboxes/${EXT}/key`);
  }, 300_000);
});
