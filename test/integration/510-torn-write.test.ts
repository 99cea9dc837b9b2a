/**
 * Torn writes (L3): the newest state file is cut off mid-write, or holds
 * garbage; the daemon still starts with the last good state, says in its log
 * what it recovered and from where, keeps the bad file aside, and serves the
 * restored names. With no usable file at all it starts empty and says so.
 * The daemon's origin resolv.conf names no server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { decodeState, encodeState } from '../../store/index.js';
import type { NetworkInfo } from '../../controller/index.js';

const tag = uniqueName('w');
const net = `${tag}n`;
const [a, b] = [`${tag}-a`, `${tag}-b`];
const { subnet, prefix } = randomSubnet();
let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;
let netId = '';

const file = (name: string): string => join(d.stateDir, name);
const restoredLine = async (): Promise<Record<string, unknown>> =>
  (await d.logLines()).find((l) => /^(state restored|state recovered|no usable state|no saved state)/.test(String(l.msg)))!;

async function digA(sb: string, name: string): Promise<string> {
  const r = await execa('nsenter', [`--net=/run/netns/${sb}`, '--', 'dig', '+short', '+time=2', '+tries=1', '@127.0.0.11', name], { reject: false });
  return r.stdout.trim();
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-510-'));
  d = await stateDaemon(build.bin, dir);
  await d.start();
  netId = (await d.api<NetworkInfo>('POST', '/networks', { name: net, subnet })).id;
  for (const [sb, ip] of [[a, `${prefix}.10`], [b, `${prefix}.11`]] as const) {
    await d.api('POST', '/sandboxes', { name: sb });
    await d.api('POST', `/networks/${net}/connect`, { sandbox: sb, aliases: [`${sb}-alias`], ip });
  }
  await d.kill('SIGTERM');
});

afterAll(async () => {
  await d?.kill('SIGKILL');
  for (const sb of [a, b]) {
    await execa('ip', ['netns', 'del', sb], { reject: false });
    await rm(`/etc/netns/${sb}`, { recursive: true, force: true });
    await rm(`/run/sandns/sandboxes/${sb}`, { recursive: true, force: true });
  }
  await execa('ip', ['link', 'del', `sd-${netId.slice(0, 12)}`], { reject: false });
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
});

describe('510 torn writes', () => {
  it('L3 the newest file cut off mid-write: started from the last good state, said so, bad file kept aside', async () => {
    const good = await readFile(file('state.json'), 'utf8');
    const { state, seq } = decodeState(good);
    // A newer write that would have added a network, torn halfway: it must never be half-used.
    const newer = encodeState({ ...state, networks: [...state.networks, { ...state.networks[0]!, id: 'f'.repeat(64), name: `${tag}ghost`, subnet: '10.254.254.0/24', gateway: '10.254.254.1' }] }, seq + 1, new Date());
    await writeFile(file('state.json.prev'), good);
    await writeFile(file('state.json'), newer.slice(0, Math.floor(newer.length * 0.6)));
    await writeFile(file('state.json.tmp'), newer.slice(0, 200));
    await d.start();
    const line = await restoredLine();
    expect(line).toMatchObject({ level: 40, source: 'state.json.prev', seq, networks: 1, sandboxes: 2, joined: 2, problems: [] });
    expect(String(line.msg)).toMatch(/^state recovered from state\.json\.prev/);
    const ignored = (await d.logLines()).filter((l) => String(l.msg).startsWith('ignoring'));
    expect(ignored.map((l) => [l.file, l.code])).toEqual([['state.json', 'ERR_STORE_CORRUPT'], ['state.json.tmp', 'ERR_STORE_CORRUPT']]);
    expect((await readdir(d.stateDir)).filter((n) => n.startsWith('state.json.corrupt-'))).toHaveLength(1);
    expect((await d.api<NetworkInfo[]>('GET', '/networks')).map((n) => n.name)).toEqual([net]);
    expect(await digA(a, `${b}-alias`)).toBe(`${prefix}.11`);
    // The reconciled state is written at once, whole, after the good one.
    expect(decodeState(await readFile(file('state.json'), 'utf8')).seq).toBeGreaterThan(seq);
  });

  it('L3 garbage in the newest file (kill -9 right after): the last good state again', async () => {
    await d.kill('SIGKILL');
    await writeFile(file('state.json'), Buffer.from([0, 0, 0x7b, 0x22, 0xff, 0xfe, 0x0a, 0]));
    await d.start();
    expect(await restoredLine()).toMatchObject({ source: 'state.json.prev', sandboxes: 2, joined: 2 });
    expect(await digA(b, a)).toBe(`${prefix}.10`);
  });

  it('L3 no usable file at all: starts empty, says so in an error, and keeps the files for recovery', async () => {
    await d.kill('SIGKILL');
    for (const n of ['state.json', 'state.json.prev']) await writeFile(file(n), 'not json');
    await d.start();
    expect(await restoredLine()).toMatchObject({ level: 50, source: 'none', networks: 0 });
    expect((await readdir(d.stateDir)).filter((n) => n.includes('.corrupt-')).length).toBeGreaterThanOrEqual(3);
    await d.kill('SIGTERM');
  });
});
