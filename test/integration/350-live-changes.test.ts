/**
 * L6: a live change is persisted before it counts, and a restart
 * re-reads the origin resolv.conf. The origin changes while the daemon runs
 * (kill -9 once the change is on disk: the restart forwards to the new
 * upstream, not the removed one), and while it is down (the restart picks
 * it up); a sandbox resolv.conf the user edited stays as edited while its
 * upstreams follow the origin (C4); an unchanged origin rewrites nothing
 * (as Docker); a sandbox key set through the API survives a kill -9 right
 * after its answer. No query is ever sent: upstreams are read from the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { waitFor } from '../helpers/wait.js';
import { decodeJournal } from '../../store/journal.js';

const tag = uniqueName('c');
const NET = `${tag}n`;
const SB = `${tag}-s`;
const EXT = `${tag}-x`;
const KEY = `${tag}-k`;
let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;

interface SbInfo { extServers: { address: string }[]; resolvConfPath: string; netnsPath: string }
const upstreams = async (name: string): Promise<string[]> => (await d.api<SbInfo>('GET', `/sandboxes/${name}`)).extServers.map((s) => s.address);
const origin = (ns: string): Promise<void> => writeFile(join(dir, 'resolv.conf'), `nameserver ${ns}\n`);
const stateHas = async (text: string): Promise<boolean> => (await readFile(join(d.stateDir, 'state.json'), 'utf8').catch(() => '')).includes(text);

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-350-'));
  d = await stateDaemon(build.bin, dir);
  await origin('192.0.2.10');
  await d.start();
  await d.api('POST', '/networks', { name: NET, subnet: randomSubnet().subnet });
  await d.api('POST', '/sandboxes', { name: SB });
  await d.api('POST', `/networks/${NET}/connect`, { sandbox: SB });
}, 120_000);

afterAll(async () => {
  if (!d?.alive()) await d?.start().catch(() => undefined);
  for (const s of [SB, EXT]) await d?.http('DELETE', `/sandboxes/${s}`).catch(() => undefined);
  await d?.http('DELETE', `/networks/${NET}`).catch(() => undefined);
  await d?.kill('SIGTERM');
  for (const ns of [SB, KEY]) await execa('ip', ['netns', 'del', ns], { reject: false });
  await rm(`/etc/netns/${SB}`, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
});

describe('350 live changes survive a restart', () => {
  it('L6 an origin change made live is on disk, and a kill -9 restart forwards to the new upstream', async () => {
    expect(await upstreams(SB)).toEqual(['192.0.2.10']);
    await origin('192.0.2.20');
    expect(await waitFor(async () => (await upstreams(SB)).includes('192.0.2.20'), 10_000)).toBe(true);
    expect(await waitFor(() => stateHas('192.0.2.20'), 5_000)).toBe(true);
    await d.kill('SIGKILL');
    await d.start();
    expect(await upstreams(SB)).toEqual(['192.0.2.20']);
    const conf = await readFile(`/etc/netns/${SB}/resolv.conf`, 'utf8');
    expect(conf).toContain('192.0.2.20');
    expect(conf).not.toContain('192.0.2.10');
  });

  it('L6 an origin change made while the daemon was down is picked up at start, in memory, in the file and on disk', async () => {
    await d.kill('SIGTERM');
    await origin('192.0.2.30');
    await d.start();
    expect(await upstreams(SB)).toEqual(['192.0.2.30']);
    expect(await readFile(`/etc/netns/${SB}/resolv.conf`, 'utf8')).toContain('192.0.2.30');
    expect(await waitFor(() => stateHas('192.0.2.30'), 5_000)).toBe(true);
    await d.kill('SIGKILL');
    await d.start();
    expect(await upstreams(SB)).toEqual(['192.0.2.30']);
  });

  it('L6 an unchanged origin rewrites nothing at restart (L6); a user-edited file stays while its upstreams follow the origin (C4)', async () => {
    const path = `/etc/netns/${SB}/resolv.conf`;
    const before = await stat(path);
    await d.kill('SIGKILL');
    await d.start();
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    await writeFile(path, '# edited by the user\nnameserver 127.0.0.11\n');
    await d.kill('SIGTERM');
    await origin('192.0.2.40');
    await d.start();
    expect(await upstreams(SB)).toEqual(['192.0.2.40']);
    expect(await readFile(path, 'utf8')).toBe('# edited by the user\nnameserver 127.0.0.11\n');
  });

  it('L6 a sandbox key set through the API is on disk before the answer: a kill -9 right after keeps it', async () => {
    await execa('ip', ['netns', 'add', KEY]);
    await d.api('POST', '/sandboxes', { name: EXT, external: true });
    await d.api('PUT', `/sandboxes/${EXT}/key`, { netnsPath: `/run/netns/${KEY}` });
    await d.kill('SIGKILL');
    await d.start();
    expect((await d.api<SbInfo>('GET', `/sandboxes/${EXT}`)).netnsPath).toBe(`/run/netns/${KEY}`);
    await d.api('DELETE', `/sandboxes/${EXT}/key`);
    await d.kill('SIGKILL');
    await d.start();
    expect((await d.api<SbInfo>('GET', `/sandboxes/${EXT}`)).netnsPath).toBe('');
  });

  it('L6 an endpoint waiting for its sandbox\'s key keeps the interface name it asked for across a restart', async () => {
    await d.api('POST', `/networks/${NET}/connect`, { sandbox: EXT, ifname: 'lan7' });
    await d.kill('SIGKILL');
    await d.start();
    await d.api('PUT', `/sandboxes/${EXT}/key`, { netnsPath: `/run/netns/${KEY}` });
    const inside = async (): Promise<string[]> => (JSON.parse((await execa('ip', ['-n', KEY, '-j', 'link', 'show'])).stdout) as { ifname: string }[]).map((l) => l.ifname);
    expect(await inside()).toContain('lan7');
    // Joined, then a restart: the name is still the one asked for when the key goes and comes back.
    await d.kill('SIGKILL');
    await d.start();
    await d.api('DELETE', `/sandboxes/${EXT}/key`);
    expect(await inside()).not.toContain('lan7');
    await d.api('PUT', `/sandboxes/${EXT}/key`, { netnsPath: `/run/netns/${KEY}` });
    expect(await inside()).toContain('lan7');
    await d.api('DELETE', `/sandboxes/${EXT}/key`);
  });

  it('L6 a key set and released never writes its endpoints unclaimed: a kill -9 between would have dropped them at restart', async () => {
    // The journal since the last snapshot and the one before it (a snapshot rotates it): every line about the endpoint.
    const lines = async (): Promise<string> => (await readFile(join(d.stateDir, 'state.journal.prev'), 'utf8').catch(() => '')) + (await readFile(join(d.stateDir, 'state.journal'), 'utf8').catch(() => ''));
    const claimed = async (): Promise<string[]> => (await d.api<{ endpoints: { id: string; sandbox?: string }[] }>('GET', `/networks/${NET}`)).endpoints.filter((e) => e.sandbox === EXT).map((e) => `ep:${e.id}`);
    const eps = await claimed();
    expect(eps).toHaveLength(1);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      await d.api('PUT', `/sandboxes/${EXT}/key`, { netnsPath: `/run/netns/${KEY}` });
      seen.push(await lines());
      await d.api('DELETE', `/sandboxes/${EXT}/key`);
      seen.push(await lines());
    }
    const puts = seen.flatMap((text) => decodeJournal(text).entries.flatMap((e) => e.ops)).filter((o) => eps.includes(o.key));
    expect(puts.length).toBeGreaterThanOrEqual(6);
    for (const o of puts) expect('put' in o && (o.put as { join?: unknown }).join !== undefined, JSON.stringify(o)).toBe(true);
    // Claimed still, and joined again by the next key.
    await d.kill('SIGKILL');
    await d.start();
    expect(await claimed()).toEqual(eps);
  });
});
