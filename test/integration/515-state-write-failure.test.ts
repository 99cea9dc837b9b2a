/**
 * L6: a state write that fails is never acknowledged. The daemon's
 * state directory is a 1 MiB tmpfs of the test's own, which the test fills
 * for real (ENOSPC). A journal line goes into the last page of the journal
 * while it fits, so the records written here are made larger than a page
 * (a network with many `dns` servers, an endpoint with many aliases): every
 * write of them needs a new page, and fails once the disk is full. To break
 * the disk at one exact step of an operation (after its write-ahead record,
 * before its commit), the request freezes the daemon there (crash points
 * with SIGSTOP, common/crash.ts) while the test fills the disk, then lets it
 * go on. Checked: the answer is 507 ERR_STORE_WRITE_FAILED naming the errno
 * and what became of the change; a create or connect is undone (API,
 * kernel and disk agree, also after a kill -9 and a restart); a disconnect
 * stays done; every later mutation is refused with 503 ERR_STORE_DEGRADED
 * (nothing changed) while reads go on; once space is back the daemon's own
 * retry writes the state and mutations work again. (A read-only remount
 * cannot be tried on a running daemon: its open journal makes the remount
 * fail with EBUSY.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildCli } from '../helpers/daemon.js';
import { stateDaemon, type StateDaemon } from '../helpers/state-daemon.js';
import { apiState, kernelDiff, runOp, topologyModel, topologyNames, type Http, type TopoOp } from '../helpers/topology-model.js';

const { tag, nets: NETS, sbs: SBS, bridgeOf, subnet: SUBNET } = topologyNames('w', 1);
const [N0, N1] = NETS;
const [S0] = SBS as [string];

let build: { bin: string; remove(): Promise<void> };
let dir: string;
let mnt: string;
let mounted = false;
let d: StateDaemon;
const http: Http = (method, path, body) => d.http(method, path, body);

const netCreate = (net: string): TopoOp => ({ kind: 'netCreate', net, subnet: SUBNET.get(net)! });
/** 300 DNS servers and 80 long aliases: records whose journal line is larger than a page. */
const BIG_DNS = Array.from({ length: 300 }, (_, i) => `10.250.${i >> 8}.${i & 255}`);
const BIG_ALIASES = Array.from({ length: 80 }, (_, i) => `alias-${i}-${'x'.repeat(50)}`);
type Answer = Awaited<ReturnType<typeof answer>>;

/** POST with crash-point headers; the answer's status and body. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return (await d.http('POST', path, body, headers)) as Answer;
}

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

/** Send a request frozen at the daemon's `n`-th `point` (a state write by default), run `breakDisk`, let the daemon go on; the answer. */
async function breakAt(send: (headers: Record<string, string>) => Promise<Answer>, n: number, breakDisk: () => Promise<void>, point = 'state-written'): Promise<Answer> {
  const pending = send({ 'x-sandns-crash-at': `${n}:${point}`, 'x-sandns-crash-signal': 'SIGSTOP' });
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
  const within = <T>(p: Promise<T>): Promise<T | undefined> => Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
  const pid = d?.pid();
  if (pid !== undefined) process.kill(pid, 'SIGCONT');
  if (mounted) await unfill();
  if (d !== undefined) {
    if (!d.alive()) await within(d.start());
    await within((async () => {
      await http('DELETE', `/sandboxes/${S0}`);
      for (const n of NETS) await http('DELETE', `/networks/${n}`);
    })());
    await d.kill('SIGKILL');
  }
  for (const ns of SBS) await execa('ip', ['netns', 'del', ns], { reject: false });
  for (const n of NETS) await execa('ip', ['link', 'del', bridgeOf(n)], { reject: false });
  for (const s of SBS) await rm(`/etc/netns/${s}`, { recursive: true, force: true });
  if (mounted && (await execa('umount', [mnt], { reject: false })).exitCode !== 0) await execa('umount', ['-l', mnt], { reject: false });
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  await build?.remove();
}, 90_000);

describe('515 a failed state write is never acknowledged (L6)', () => {
  it('L6 ENOSPC on the write-ahead record: 507 ERR_STORE_WRITE_FAILED, nothing made; then every mutation 503 ERR_STORE_DEGRADED while reads work; the retry recovers', async () => {
    // A restart rotates the journal: its next line starts a new file, which needs a page of the full disk.
    await d.kill('SIGTERM');
    await d.start();
    await fill();
    const r = await answer(netCreate(N1));
    expect(r).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED', details: { errno: 'ENOSPC' } } });
    expect(r.body.message).toMatch(/nothing was changed/);
    expect((await apiState(http)).state.nets.has(N1)).toBe(false);
    await expectConsistent('after the refused create');
    expect(await health()).toMatchObject({ storage: 'degraded' });
    // Degraded: each kind of mutation is refused before it changes anything; reads are served.
    for (const op of [netCreate(N1), { kind: 'netDelete', net: N0 }, { kind: 'sbDelete', sb: S0 }, { kind: 'connect', net: N0, sb: S0 }] as TopoOp[]) {
      expect(await answer(op), JSON.stringify(op)).toMatchObject({ status: 503, body: { code: 'ERR_STORE_DEGRADED', details: { errno: 'ENOSPC' } } });
    }
    expect((await http('GET', '/networks')).status).toBe(200);
    await expectConsistent('while degraded');
    await unfill();
    await recovered();
    expect((await answer(netCreate(N1))).status).toBe(201);
    expect((await answer({ kind: 'netDelete', net: N1 })).status).toBe(200);
    await expectConsistent('after recovery');
  }, 120_000);

  /**
   * Whatever step the full disk hits first (the commit line, or the one that settles the write-ahead record), the
   * answer is not a success, API and kernel agree, and a kill -9 then a restart show the same state: the model never
   * ran ahead of what is durable. When the commit itself failed, the message says the change was undone.
   */
  async function unsavedThenRestart(what: string, r: Answer, undone: RegExp): Promise<void> {
    expect(r, JSON.stringify(r.body)).toMatchObject({ status: 507, body: { code: 'ERR_STORE_WRITE_FAILED', details: { errno: 'ENOSPC' } } });
    const before = (await apiState(http)).state;
    if (undone.test(r.body.message ?? '')) expect(r.body.message).toMatch(/nothing changed/);
    await expectConsistent(`after the unsaved ${what}`);
    expect(await health()).toMatchObject({ storage: 'degraded' });
    await d.kill('SIGKILL');
    await d.start(); // on the still-full disk: restores, degraded
    expect(topologyModel.key((await apiState(http)).state), `after the unsaved ${what} and a restart ${JSON.stringify((await d.logLines()).filter((l) => Number(l.level) >= 40 || String(l.msg).includes("restored")))}`).toBe(topologyModel.key(before));
    await expectConsistent(`after the unsaved ${what} and a restart`);
    await unfill();
    await recovered();
  }

  it('L6 ENOSPC after a network create\'s write-ahead record (its bridge made): never a success; memory, kernel and disk agree, across a kill -9', async () => {
    const create = (headers: Record<string, string>): Promise<Answer> =>
      post('/networks', { name: N1, subnet: SUBNET.get(N1), dns: BIG_DNS, driverOptions: { bridgeName: bridgeOf(N1) } }, headers);
    await unsavedThenRestart('network create', await breakAt(create, 1, fill), /the network was not created/);
    await answer({ kind: 'netDelete', net: N1 });
  }, 120_000);

  it('L6 ENOSPC after a connect\'s write-ahead record (veth plumbed): never a success; memory, kernel and disk agree, across a kill -9', async () => {
    const connect = (headers: Record<string, string>): Promise<Answer> => post(`/networks/${N0}/connect`, { sandbox: S0, aliases: BIG_ALIASES }, headers);
    await unsavedThenRestart('connect', await breakAt(connect, 1, fill), /the endpoint did not join/);
    await answer({ kind: 'disconnect', net: N0, sb: S0 });
  }, 120_000);

  it('L6 ENOSPC at the commit of a disconnect (veth gone): 507 says it left; no endpoint stays behind, across a kill -9', async () => {
    expect((await post(`/networks/${N0}/connect`, { sandbox: S0, aliases: BIG_ALIASES })).status).toBe(201);
    // Frozen once the veth is gone (the disconnect's first kernel change): the disk fills before its only write.
    const disconnect = (headers: Record<string, string>): Promise<Answer> => post(`/networks/${N0}/disconnect`, { sandbox: S0 }, headers);
    const r = await breakAt(disconnect, 1, fill, 'kernel-changed');
    expect(r.body.message).toMatch(/the endpoint left/);
    expect((await apiState(http)).state.conns.size).toBe(0);
    await unsavedThenRestart('disconnect', r, /^$/);
    expect((await apiState(http)).state.conns.size).toBe(0);
  }, 120_000);
});
