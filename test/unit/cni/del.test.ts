/**
 * DEL against a daemon that is reachable but cannot apply it (5xx, a broken
 * exchange): DEL still succeeds and leaves a deferred record (K8, K9), so
 * libcni goes on with the plugins before sandns; a 4xx still fails. ADD maps
 * 503 to code 11 ("try again later").
 */
import { describe, expect, it } from 'vitest';
import type { ApiAnswer } from '../../../cni/daemon.js';
import { CniDaemonError } from '../../../cni/errors.js';
import { CID, env, mainConf, out, run } from './harness.js';
import { FakeDaemon, FakeStore } from './fake-daemon.js';

const answer = (status: number, code: string): ApiAnswer => ({ status, body: { code, message: `${code} message` } });
const reset = (): ApiAnswer => {
  throw new CniDaemonError('POST /networks/cninet/disconnect', 0, 'ECONNRESET', 'the exchange broke: socket hang up', 11);
};

describe('DEL with a daemon that answers but cannot apply it', () => {
  it.each([
    ['503 ERR_STORE_DEGRADED', () => answer(503, 'ERR_STORE_DEGRADED'), 'ERR_STORE_DEGRADED'],
    ['503 ERR_CONTROLLER_CLOSED', () => answer(503, 'ERR_CONTROLLER_CLOSED'), 'ERR_CONTROLLER_CLOSED'],
    ['507 ERR_STORE_WRITE_FAILED', () => answer(507, 'ERR_STORE_WRITE_FAILED'), 'ERR_STORE_WRITE_FAILED'],
    ['500 without a body', () => ({ status: 500, body: undefined }), 'HTTP 500'],
    ['a connection reset mid-request', reset, 'ECONNRESET'],
  ])('K8 K9 issue-review-3 %s: DEL succeeds, leaves a record naming why, and the next DEL applies it', async (_what, fail, why) => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    await run(d, store, env('ADD'), mainConf);
    d.intercept = (m) => (m === 'GET' ? undefined : fail());
    const o = await run(d, store, env('DEL'), mainConf);
    expect(o).toMatchObject({ stdout: '', exitCode: 0, stderr: expect.stringContaining(why) });
    expect(store.records.get(`${CID}--eth0`)?.reason).toContain(why);
    expect(d.sbs.has(CID)).toBe(true); // not applied yet
    d.intercept = undefined;
    expect((await run(d, store, env('DEL'), mainConf)).exitCode).toBe(0);
    expect(d.sbs.has(CID)).toBe(false);
    expect(store.records.size).toBe(0);
  });

  it('K8 issue-review-3 a record that still cannot be applied is kept, and DEL of the same interface still succeeds', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    await run(d, store, env('ADD'), mainConf);
    d.intercept = (m) => (m === 'GET' ? undefined : answer(503, 'ERR_STORE_DEGRADED'));
    expect((await run(d, store, env('DEL'), mainConf)).exitCode).toBe(0);
    expect((await run(d, store, env('DEL'), mainConf)).exitCode).toBe(0); // the replay of the first fails the same way
    expect([...store.records.keys()]).toEqual([`${CID}--eth0`]);
  });

  it('K8 a 4xx other than "already gone" is not deferred: DEL fails with the daemon\'s code', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    await run(d, store, env('ADD'), mainConf);
    d.intercept = (m) => (m === 'POST' ? answer(400, 'ERR_INVALID_OPTION') : undefined);
    const o = await run(d, store, env('DEL'), mainConf);
    expect(o.exitCode).toBe(1);
    expect(out(o)).toMatchObject({ code: 7, details: expect.stringContaining('ERR_INVALID_OPTION') });
    expect(store.records.size).toBe(0);
  });
});

describe('ADD with a daemon that cannot take changes now', () => {
  it.each([
    [503, 'ERR_STORE_DEGRADED', 11],
    [503, 'ERR_CONTROLLER_CLOSED', 11],
    [507, 'ERR_STORE_WRITE_FAILED', 100],
    [500, 'ERR_INTERNAL', 100],
  ])('K11 issue-review-3 %i %s is CNI code %i', async (status, code, cni) => {
    const d = new FakeDaemon();
    d.intercept = (m) => (m === 'POST' ? answer(status, code) : undefined);
    expect(out(await run(d, new FakeStore(), env('ADD'), mainConf))).toMatchObject({ code: cni, details: expect.stringContaining(code) });
  });

  it('K11 issue-review-3 a connection reset during ADD is code 11', async () => {
    const d = new FakeDaemon();
    d.intercept = (m) => (m === 'POST' ? reset() : undefined);
    expect(out(await run(d, new FakeStore(), env('ADD'), mainConf))).toMatchObject({ code: 11 });
  });
});

describe('DEL of one interface (CNI_IFNAME)', () => {
  it('K8 issue-review-5 DEL of eth1 after a failed ADD of eth1 on the same network keeps the working eth0, directly and replayed', async () => {
    const d = new FakeDaemon();
    const store = new FakeStore();
    await run(d, store, env('ADD'), mainConf);
    expect(out(await run(d, store, env('ADD', { CNI_IFNAME: 'eth1' }), mainConf))).toMatchObject({ code: 103, details: expect.stringContaining('ERR_SANDBOX_ALREADY_ON_NETWORK') });
    expect((await run(d, store, env('DEL', { CNI_IFNAME: 'eth1' }), mainConf)).exitCode).toBe(0);
    expect(d.sbs.get(CID)!.endpoints).toMatchObject([{ network: 'cninet', ifname: 'eth0' }]);
    d.down = true;
    expect((await run(d, store, env('DEL', { CNI_IFNAME: 'eth1' }), mainConf)).exitCode).toBe(0); // deferred
    d.down = false;
    expect(store.records.size).toBe(1);
    await run(d, store, env('ADD'), mainConf); // replays the eth1 record first: eth0 stays, ADD twice answers it
    expect(store.records.size).toBe(0);
    expect(d.sbs.get(CID)!.endpoints).toMatchObject([{ network: 'cninet', ifname: 'eth0' }]);
    expect((await run(d, store, env('DEL'), mainConf)).exitCode).toBe(0);
    expect(d.sbs.has(CID)).toBe(false);
  });
});
