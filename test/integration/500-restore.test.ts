/**
 * Restart safety (L3): 3 networks and 50 sandboxes with aliases, `kill -9`
 * of the daemon, changes made behind its back, a restart on the same state
 * directory. Every name resolves again from every sandbox that shares a
 * network with it; a sandbox whose namespace was removed meanwhile is cleaned
 * up, not resurrected; a veth removed meanwhile is a clean leave; a bridge
 * removed meanwhile is made again with its veths back on it; a leaked veth is
 * swept; nothing is left once everything is deleted. The daemon's origin
 * resolv.conf names no server: nothing is forwarded anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { eachLimited, stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { netnsNames } from '../helpers/exec.js';
import type { NetworkInfo, SandboxInfo } from '../../controller/index.js';

const tag = uniqueName('r');
const N = 50;
const GONE = 7; // its namespace is removed while the daemon is down
const VETHLESS = 25; // on two networks; both its host veths are removed while the daemon is down (its gateway leaves first)
const NO_BRIDGE = 1; // this network's bridge is removed while the daemon is down
const sbName = (i: number): string => `${tag}-s${i}`;
const alias = (i: number): string => `al${i}-${tag}`;
const netName = (k: number): string => `${tag}n${k}`;
/** Sandbox i is on network i % 3, and every fifth also on the next one. */
const networksOf = (i: number): number[] => (i % 5 === 0 ? [i % 3, (i + 1) % 3] : [i % 3]);

let build: { bin: string; remove(): Promise<void> };
let d: StateDaemon;
let dir: string;
const nets: NetworkInfo[] = [];
/** sandbox index → network index → its address there. */
const addr = new Map<number, Map<number, string>>();
/** host veths of sandbox index (from the endpoint ids). */
const veths = new Map<number, string[]>();
const leaked = `sv${tag.slice(1)}beef0`.slice(0, 14);

function links(): Promise<{ ifname: string; master?: string }[]> {
  return execa('ip', ['-j', 'link', 'show']).then((r) => JSON.parse(r.stdout) as { ifname: string; master?: string }[]);
}
const bridgeOf = (n: NetworkInfo): string => `sd-${n.id.slice(0, 12)}`;

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-500-'));
  d = await stateDaemon(build.bin, dir);
  await d.start();
});

afterAll(async () => {
  await d?.kill('SIGKILL');
  for (const ns of (await netnsNames()).filter((n) => n.startsWith(tag))) await execa('ip', ['netns', 'del', ns], { reject: false });
  for (const l of await links()) {
    if (l.ifname === leaked || nets.some((n) => l.ifname === bridgeOf(n)) || [...veths.values()].flat().includes(l.ifname)) await execa('ip', ['link', 'del', l.ifname], { reject: false });
  }
  for (let i = 0; i < N; i++) {
    await rm(`/etc/netns/${sbName(i)}`, { recursive: true, force: true });
    await rm(`/run/sandns/sandboxes/${sbName(i)}`, { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
  await build?.remove();
});

/** Names sandbox `i` must resolve (name → its possible addresses) and names it must not. */
function expectations(i: number): { must: Map<string, string[]>; mustNot: string[] } {
  const mine = new Set(i === VETHLESS ? [] : networksOf(i));
  const must = new Map<string, string[]>();
  const mustNot: string[] = [];
  for (let j = 0; j < N; j++) {
    const shared = [...(addr.get(j) ?? new Map<number, string>()).entries()].filter(([k]) => mine.has(k) && j !== GONE && j !== VETHLESS);
    if (shared.length > 0) for (const name of [sbName(j), alias(j)]) must.set(name, shared.map(([, a]) => a));
    else if (mustNot.length < 4 || j === GONE || j === VETHLESS) mustNot.push(alias(j));
  }
  return { must, mustNot };
}

/** Ask every name in one dig run inside the sandbox; returns name → answered addresses. */
async function resolveAll(i: number, names: readonly string[]): Promise<Map<string, string[]>> {
  const file = join(dir, `q-${i}.txt`);
  await writeFile(file, names.map((n) => `${n} A`).join('\n') + '\n');
  const r = await execa('nsenter', [`--net=/run/netns/${sbName(i)}`, '--', 'dig', '+noall', '+answer', '+time=2', '+tries=1', '@127.0.0.11', '-f', file], { reject: false });
  const out = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\.\s+\d+\s+IN\s+A\s+(\S+)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

describe('500 restore after kill -9', () => {
  it('L3 setup: 3 networks, 50 sandboxes, 60 endpoints with aliases', async () => {
    const prefixes = new Set<string>();
    for (let k = 0; k < 3; k++) {
      let s = randomSubnet();
      while (prefixes.has(s.prefix)) s = randomSubnet();
      prefixes.add(s.prefix);
      nets.push(await d.api<NetworkInfo>('POST', '/networks', { name: netName(k), subnet: s.subnet }));
    }
    const t0 = performance.now();
    await eachLimited(Array.from({ length: N }, (_, i) => i), 4, async (i) => {
      await d.api('POST', '/sandboxes', { name: sbName(i) });
      for (const k of networksOf(i)) {
        const ep = await d.api<{ ipv4: string; id: string }>('POST', `/networks/${netName(k)}/connect`, { sandbox: sbName(i), aliases: [alias(i)] });
        addr.set(i, (addr.get(i) ?? new Map()).set(k, ep.ipv4));
        veths.set(i, [...(veths.get(i) ?? []), `sv${ep.id.slice(0, 12)}`]);
      }
    });
    const setupMs = Math.round(performance.now() - t0);
    console.info(`[500] created 50 sandboxes and 60 endpoints in ${setupMs} ms`);
    expect((await d.api<SandboxInfo[]>('GET', '/sandboxes')).filter((s) => s.id.startsWith(tag))).toHaveLength(N);
    const sample = await resolveAll(3, [sbName(0), alias(6)]);
    expect(sample.get(sbName(0))).toEqual([addr.get(0)!.get(0)]);
    // 110 changes, each durable before its answer (L6): allow for a slow, shared disk.
  }, 180_000);

  it('L3 kill -9, changes behind its back, restart: restored, measured, and reported in the log', async () => {
    await d.kill('SIGKILL');
    await execa('ip', ['netns', 'del', sbName(GONE)]);
    for (const v of veths.get(VETHLESS)!) await execa('ip', ['link', 'del', v]);
    await execa('ip', ['link', 'del', bridgeOf(nets[NO_BRIDGE]!)]);
    await execa('ip', ['link', 'add', leaked, 'type', 'veth', 'peer', 'name', `sp${leaked.slice(2)}`]);
    await execa('ip', ['link', 'set', leaked, 'master', bridgeOf(nets[0]!)]);
    const { ms } = await d.start();
    const restored = (await d.logLines()).find((l) => String(l.msg).startsWith('state restored'))!;
    console.info(`[500] restart to API ready: ${ms} ms; restore itself: ${String(restored.ms)} ms (${String(restored.sandboxes)} sandboxes, ${String(restored.endpoints)} endpoints)`);
    expect(restored).toMatchObject({
      source: 'state.json', networks: 3, sandboxes: N - 1, recreatedBridges: [netName(NO_BRIDGE)], removedSandboxes: [sbName(GONE)],
      leftEndpoints: [expect.stringContaining(sbName(VETHLESS)), expect.stringContaining(sbName(VETHLESS))], swept: [leaked], problems: [],
    });
    expect(restored.reattached).toEqual(expect.arrayContaining(veths.get(1)!));
  });

  it('L3 every name resolves from every sandbox that shares a network with it, and from no other', async () => {
    const failures: string[] = [];
    let asked = 0;
    await eachLimited(Array.from({ length: N }, (_, i) => i).filter((i) => i !== GONE), 3, async (i) => {
      const { must, mustNot } = expectations(i);
      asked += must.size + mustNot.length;
      const got = await resolveAll(i, [...must.keys(), ...mustNot]);
      for (const [name, allowed] of must) {
        const a = got.get(name);
        if (a === undefined || a.length !== 1 || !allowed.includes(a[0]!)) failures.push(`${sbName(i)}: ${name} -> ${String(a)} (want one of ${allowed.join(',')})`);
      }
      for (const name of mustNot) if (got.has(name)) failures.push(`${sbName(i)}: ${name} resolved but must not`);
    });
    expect(failures).toEqual([]);
    expect(asked).toBeGreaterThan(1500);
  });

  it('L3 the deleted sandbox is not resurrected; nothing of it or of the left endpoint is leaked', async () => {
    const sbs = await d.api<SandboxInfo[]>('GET', '/sandboxes');
    expect(sbs.some((s) => s.id === sbName(GONE))).toBe(false);
    expect((await d.http('GET', `/sandboxes/${sbName(GONE)}`)).status).toBe(404);
    expect(existsSync(`/etc/netns/${sbName(GONE)}`)).toBe(false);
    expect(existsSync(`/run/sandns/sandboxes/${sbName(GONE)}`)).toBe(false);
    const names = (await links()).map((l) => l.ifname);
    for (const v of [...veths.get(GONE)!, ...veths.get(VETHLESS)!, leaked]) expect(names).not.toContain(v);
    const vl = sbs.find((s) => s.id === sbName(VETHLESS))!;
    expect(vl.endpoints).toEqual([]);
    for (const a of addr.get(VETHLESS)!.values()) expect(await readFile(vl.hostsPath, 'utf8')).not.toContain(a);
    const records = JSON.stringify(await d.api('GET', '/records'));
    expect(records).not.toContain(sbName(GONE));
    expect(records).not.toContain(alias(VETHLESS));
    // Its address went back to the pool: a new connect may take it again.
    const again = await d.api<{ ipv4: string }>('POST', `/networks/${netName(2)}/connect`, { sandbox: sbName(VETHLESS), ip: addr.get(VETHLESS)!.get(2)! });
    expect(again.ipv4).toBe(addr.get(VETHLESS)!.get(2));
  });

  it('L2 L3 the remade bridge carries traffic again: its veths are back on it', async () => {
    const [a, b] = [1, 4].map((i) => addr.get(i)!.get(NO_BRIDGE)!);
    expect(a).toBeDefined();
    const r = await execa('nsenter', [`--net=/run/netns/${sbName(1)}`, '--', '/bin/busybox', 'ping', '-c', '1', '-W', '2', b!], { reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });

  it('L3 a graceful restart (SIGTERM) restores the same, and deleting everything leaves no namespace, bridge or veth', async () => {
    await d.kill('SIGTERM');
    await d.start();
    expect((await d.logLines()).find((l) => String(l.msg).startsWith('state restored'))).toMatchObject({ sandboxes: N - 1, removedSandboxes: [], leftEndpoints: [], swept: [] });
    await eachLimited((await d.api<SandboxInfo[]>('GET', '/sandboxes')).filter((s) => s.id.startsWith(tag)), 4, async (s) => void (await d.api('DELETE', `/sandboxes/${s.id}`)));
    for (const n of nets) await d.api('DELETE', `/networks/${n.name}`);
    expect((await netnsNames()).filter((n) => n.startsWith(tag))).toEqual([]);
    const names = (await links()).map((l) => l.ifname);
    expect(names.filter((n) => nets.some((x) => n === bridgeOf(x)) || [...veths.values()].flat().includes(n))).toEqual([]);
    await d.kill('SIGTERM');
    await d.start();
    expect((await d.logLines()).find((l) => String(l.msg).startsWith('state restored'))).toMatchObject({ networks: 0, sandboxes: 0 });
    await d.kill('SIGTERM');
  }, 180_000);
});
