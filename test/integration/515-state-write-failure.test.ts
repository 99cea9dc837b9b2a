/**
 * Issue 11, L6: a state write that fails is never acknowledged. The daemon's
 * state directory is a 1 MiB tmpfs of the test's own; the test fills it
 * (ENOSPC) or remounts it read-only (EROFS), for real. To break the disk at
 * one exact step of an operation (after its write-ahead record, before its
 * commit), the request freezes the daemon there (crash points with
 * SIGSTOP, common/crash.ts) while the test fills the disk, then lets it go
 * on. Checked: the answer is 507 ERR_STORE_WRITE_FAILED naming the errno
 * and what became of the change; a create or connect is undone (API,
 * kernel and disk agree); a delete stays done and a restart keeps it so;
 * every later mutation is refused with 503 ERR_STORE_DEGRADED (nothing
 * changed) while reads go on; once space is back the daemon's own retry
 * writes the state and mutations work again.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli, randomSubnet } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { uniqueName } from '../helpers/names.js';
import { apiState, kernelDiff, runOp, type Http, type TopoOp } from '../helpers/topology-model.js';

const tag = uniqueName('w');
const NETS = [`${tag}n0`, `${tag}n1`];
const SBS = [`${tag}s0`];
const [N0, N1] = NETS as [string, string];
const [S0] = SBS as [string];
const bridgeOf = (net: string): string => `${tag}b${net === '' ? '' : NETS.indexOf(net)}`;
const { prefix } = randomSubnet();
const [a, b, c] = prefix.split('.').map(Number) as [number, number, number];
const SUBNET = new Map([[N0, `${a}.${b}.${c}.0/24`], [N1, `${a}.${b === 250 ? 200 : b + 1}.${c}.0/24`]]);

let build: { bin: string; remove(): Promise<void> };
let dir: string;
let mnt: string;
let mounted = false;
let d: StateDaemon;
const http: Http = (method, path, body) => d.http(method, path, body);

const netCreate = (net: string): TopoOp => ({ kind: 'netCreate', net, subnet: SUBNET.get(net)! });

async function answer(op: TopoOp, headers: Record<string, string> = {}): Promise<{ status: number; body: { code?: string; message?: string; details?: { errno?: string } } }> {
  const send = (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => d.http(method, path, body, headers);
  let raw: { status: number; body: unknown } | undefined;
  await runOp(async (m, p, bd) => (raw = await send(m, p, bd)), op, bridgeOf);
  return raw as { status: number; body: { code?: string; message?: string; details?: { errno?: string } } };
}

async function fill(): Promise<void> {
  await execa('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=64k'], { reject: false });
  const { stdout } = await execa('df', ['--output=avail', '-B1', mnt]);
  expect(Number(stdout.split('\n')[1])).toBeLessThan(4096);
}

async function unfill(): Promise<void> {
  await rm(join(mnt, 'fill'), { force: true });
}

async function health(): Promise<{ storage: string; storageError?: string }> {
  return (await d.http('GET', '/healthz')).body as { storage: string; storageError?: string };
}

/** Wait until the daemon's own retry wrote the state (no request needed). */
async function recovered(): Promise<void> {
  await vi.waitFor(async () => expect((await health()).storage).toBe('ok'), { timeout: 10_000, interval: 100 });
}

/** Send `op` frozen at the daemon's `n`-th `point` (a state write by default), run `breakDisk`, let the daemon go on; the answer. */
async function breakAt(op: TopoOp, n: number, breakDisk: () => Promise<void>, point = 'state-written'): Promise<Awaited<ReturnType<typeof answer>>> {
  const pending = answer(op, { 'x-sandns-crash-at': `${n}:${point}`, 'x-sandns-crash-signal': 'SIGSTOP' });
  const pid = d.pid()!;
  await vi.waitFor(async () => expect((await readFile(`/proc/${pid}/stat`, 'utf8')).split(' ')[2]).toBe('T'), { timeout: 20_000, interval: 20 });
  await breakDisk();
  process.kill(pid, 'SIGCONT');
  return pending;
}

async function expectConsistent(what: string): Promise<void> {
  expect(await kernelDiff(http, tag, bridgeOf, existsSync, SBS), what).toEqual([]);
}

beforeAll(async () => {
  build = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'sandns-515-'));
  mnt = join(dir, 'd', 'state');
  await mkdir(mnt, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', `sandns-515-${tag}`, mnt]);
  mounted = true;
  d = await stateDaemon(build.bin, join(dir, 'd'), { env: { SANDNS_CRASH_POINTS: '1' } });
  await d.start();
  for (const op of [netCreate(N0), { kind: 'sbCreate', sb: S0 } as TopoOp]) expect((await answer(op)).status).toBe(201);
}, 60_000);

afterAll(async () => {
  const pid = d?.pid();
  if (pid !== undefined) process.kill(pid, 'SIGCONT');
  if (mounted) {
    await execa('mount', ['-o', 'remount,rw', mnt], { reject: false });
    await unfill();
  }
  if (d !== undefined) {
    if (!d.alive()) await d.start().catch(() => undefined);
    await http('DELETE', `/sandboxes/${S0}`).catch(() => undefined);
    for (const n of NETS) await http('DELETE', `/networks/${n}`).catch(() => undefined);
    await d.kill('SIGTERM');
  }
  for (const ns of SBS) await execa('ip', ['netns', 'del', ns], { reject: false });
  for (const n of NETS) await execa('ip', ['link', 'del', bridgeOf(n)], { reject: false });
  for (const s of SBS) await rm(`/etc/netns/${s}`, { recursive: true, force: true });
  if (mounted) await execa('umount', [mnt], { reject: false });
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  await build?.remove();
}, 60_000);

describe('515 a failed state write is never acknowledged (L6)', () => {
  it('L6 ENOSPC on the write-ahead record: 507 ERR_STORE_WRITE_FAILED, nothing made; then every mutation 503 ERR_STORE_DEGRADED while reads work; the retry recovers', async () => {
    await fill();
    const r = await answer(netCreate(N1));
    expect(r).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED', details: { errno: 'ENOSPC' } } });
    expect(r.body.message).toMatch(/nothing was changed/);
    expect((await apiState(http)).state.nets.has(N1)).toBe(false);
    await expectConsistent('after the refused create');
    expect(await health()).toMatchObject({ storage: 'degraded' });
    // Degraded: each kind of mutation is refused before it changes anything; reads are served.
    for (const op of [netCreate(N1), { kind: 'netDelete', net: N0 }, { kind: 'sbDelete', sb: S0 }, { kind: 'connect', net: N0, sb: S0 }] as TopoOp[]) {
      expect(await answer(op), JSON.stringify(op)).toMatchObject({ status: 503, body: { code: 'ERR_STORE_DEGRADED' } });
    }
    expect((await http('GET', '/networks')).status).toBe(200);
    await expectConsistent('while degraded');
    await unfill();
    await recovered();
    expect((await answer(netCreate(N1))).status).toBe(201);
    expect((await answer({ kind: 'netDelete', net: N1 })).status).toBe(200);
    await expectConsistent('after recovery');
  }, 120_000);

  it('L6 ENOSPC at the commit of a network create (its bridge made): undone, 507; a kill -9 while degraded and a restart agree', async () => {
    const r = await breakAt(netCreate(N1), 1, fill);
    expect(r).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED', details: { errno: 'ENOSPC' } } });
    expect(r.body.message).toMatch(/the network was not created \(nothing changed\)/);
    expect((await apiState(http)).state.nets.has(N1)).toBe(false);
    await expectConsistent('after the undone create');
    // What is durable ('creating' on disk) is what memory says: a restart on the still-full disk shows the same.
    await d.kill('SIGKILL');
    await d.start();
    expect((await apiState(http)).state.nets.has(N1)).toBe(false);
    await expectConsistent('after the restart on a full disk');
    expect(await health()).toMatchObject({ storage: 'degraded' });
    await unfill();
    await recovered();
  }, 120_000);

  it('L6 ENOSPC at the commit of a connect (veth plumbed): undone, 507, the sandbox has no interface on it', async () => {
    const r = await breakAt({ kind: 'connect', net: N0, sb: S0 }, 1, fill);
    expect(r).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED', details: { errno: 'ENOSPC' } } });
    expect(r.body.message).toMatch(/the endpoint did not join \(nothing changed\)/);
    expect((await apiState(http)).state.conns.size).toBe(0);
    await expectConsistent('after the undone connect');
    await unfill();
    await recovered();
    expect((await answer({ kind: 'connect', net: N0, sb: S0 })).status).toBe(201);
    expect((await answer({ kind: 'disconnect', net: N0, sb: S0 })).status).toBe(200);
    await expectConsistent('after connect and disconnect');
  }, 120_000);

  it('L6 ENOSPC at the commit of a network delete (bridge gone): 507 says it is done; a restart keeps it deleted', async () => {
    expect((await answer(netCreate(N1))).status).toBe(201);
    const r = await breakAt({ kind: 'netDelete', net: N1 }, 1, fill);
    expect(r).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED' } });
    expect(r.body.message).toMatch(/the network was deleted/);
    expect((await apiState(http)).state.nets.has(N1)).toBe(false);
    await expectConsistent('after the unsaved delete');
    await d.kill('SIGKILL');
    await unfill();
    await d.start();
    expect((await apiState(http)).state.nets.has(N1)).toBe(false);
    await expectConsistent('after the restart');
  }, 120_000);

  it('L6 ENOSPC at the commit of a disconnect (veth gone): 507 says it left; no endpoint stays behind; a restart agrees', async () => {
    expect((await answer({ kind: 'connect', net: N0, sb: S0 })).status).toBe(201);
    // Frozen when the leave's first command starts: the disk fills before the disconnect's only write.
    const r = await breakAt({ kind: 'disconnect', net: N0, sb: S0 }, 1, fill, 'exec-started');
    expect(r).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED', details: { errno: 'ENOSPC' } } });
    expect(r.body.message).toMatch(/the endpoint left/);
    expect((await apiState(http)).state.conns.size).toBe(0);
    await expectConsistent('after the unsaved disconnect'); // also: the network lists no endpoint without its join
    await d.kill('SIGKILL');
    await unfill();
    await d.start();
    expect((await apiState(http)).state.conns.size).toBe(0);
    await expectConsistent('after the restart');
  }, 120_000);

  it('L6 EROFS (the state directory remounted read-only): a sandbox delete is refused before it starts, the sandbox and its namespace stay', async () => {
    await execa('mount', ['-o', 'remount,ro', mnt]);
    try {
      const r = await answer({ kind: 'sbDelete', sb: S0 });
      expect(r).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED', details: { errno: 'EROFS' } } });
      expect(r.body.message).toMatch(/nothing was changed/);
      expect((await apiState(http)).state.sbs.has(S0)).toBe(true);
      await expectConsistent('after the refused delete');
      expect(await answer({ kind: 'sbCreate', sb: `${tag}s9` })).toMatchObject({ status: 503, body: { code: 'ERR_STORE_DEGRADED', details: { errno: 'EROFS' } } });
    } finally {
      await execa('mount', ['-o', 'remount,rw', mnt]);
    }
    await recovered();
    expect((await answer({ kind: 'sbDelete', sb: S0 })).status).toBe(200);
    await expectConsistent('after the delete');
  }, 120_000);
});
