/**
 * ADD over the fake daemon: a sandbox an earlier ADD left is this
 * container's only when it holds the same namespace (device and inode, not
 * path: K5, K10); an ADD whose connect answer was lost leaves nothing (K12).
 */
import { describe, expect, it } from 'vitest';
import { CniDaemonError, CniDaemonUnreachableError } from '../../../cni/errors.js';
import { CID, env, mainConf, out, run } from './harness.js';
import { FakeDaemon, FakeStore } from './fake-daemon.js';

const PIN = `/run/netns/sandns-${CID}`; // where the fake daemon pins a /proc/<pid>/ns/net path

/** ADD twice for CID without a DEL between: first in `first`, then in `second`; returns the daemon. */
async function addTwice(first: string, second: string, ids: Record<string, string>): Promise<FakeDaemon> {
  const d = new FakeDaemon();
  for (const [p, id] of Object.entries(ids)) d.namespaces.set(p, id);
  expect((await run(d, new FakeStore(), env('ADD', { CNI_NETNS: first }), mainConf)).exitCode).toBe(0);
  d.calls.length = 0;
  expect(out(await run(d, new FakeStore(), env('ADD', { CNI_NETNS: second }), mainConf))).toMatchObject({ cniVersion: '1.0.0' });
  return d;
}

describe('ADD: a sandbox left by an earlier ADD of the same container id', () => {
  it.each([
    ['/proc path, the namespace its pin holds (ADD twice)', '/proc/100/ns/net', '/proc/100/ns/net', { '/proc/100/ns/net': '4:1', [PIN]: '4:1' }],
    ['another path to the same namespace', '/run/netns/a', '/var/run/netns/a', { '/run/netns/a': '4:7', '/var/run/netns/a': '4:7' }],
  ])('K5 K10 %s: kept, not reconnected', async (_what, first, second, ids) => {
    const d = await addTwice(first, second, ids);
    expect(d.calls).not.toContain(`DELETE /sandboxes/${CID}`);
    expect(d.sbs.get(CID)!.endpoints).toHaveLength(1);
  });

  it.each([
    ['ctr run -d twice: a /proc path of another namespace than the pin', '/proc/100/ns/net', '/proc/200/ns/net', { '/proc/100/ns/net': '4:1', [PIN]: '4:1', '/proc/200/ns/net': '4:2' }, PIN],
    ['a pin that can no longer be read', '/proc/100/ns/net', '/proc/200/ns/net', { '/proc/200/ns/net': '4:2' }, PIN],
  ])('K5 K10 issue-review-1 %s: replaced, and the endpoint is made in the new namespace', async (_what, first, second, ids, held) => {
    const d = new FakeDaemon();
    for (const [p, id] of Object.entries(ids)) d.namespaces.set(p, id);
    expect((await run(d, new FakeStore(), env('ADD', { CNI_NETNS: first }), mainConf)).exitCode).toBe(0);
    d.calls.length = 0;
    expect((await run(d, new FakeStore(), env('ADD', { CNI_NETNS: second }), mainConf)).exitCode).toBe(0);
    expect(d.calls).toContain(`DELETE /sandboxes/${CID}`);
    expect(d.calls).toContain('POST /networks/cninet/connect');
    const sb = d.sbs.get(CID)!;
    expect(sb.body.netnsPath).toBe(second);
    expect(sb.netnsPath).toBe(held);
    expect(sb.endpoints).toHaveLength(1);
  });
});

describe('ADD whose connect answer never came', () => {
  const lost = (kind: 'timeout' | 'reset') => kind === 'timeout'
    ? new CniDaemonUnreachableError('/fake/sandns.sock', 'no answer within 60000 ms')
    : new CniDaemonError('POST /networks/cninet/connect', 0, 'ECONNRESET', 'the exchange broke: socket hang up', 11);

  it.each(['timeout', 'reset'] as const)('K12 issue-review-7 a %s after the daemon connected: ADD is code 11 and neither sandbox nor endpoint is left', async (kind) => {
    const d = new FakeDaemon();
    const orig = d.request.bind(d);
    d.request = async (m, p, b) => {
      const a = await orig(m, p, b); // the daemon carries the request out ...
      if (p.endsWith('/connect')) throw lost(kind); // ... but its answer is lost
      return a;
    };
    expect(out(await run(d, new FakeStore(), env('ADD'), mainConf))).toMatchObject({ code: 11 });
    expect(d.sbs.size).toBe(0);
  });

  it('K12 issue-review-7 the undo removes only this interface\'s attachment: the sandbox\'s other network stays', async () => {
    const d = new FakeDaemon();
    await run(d, new FakeStore(), env('ADD'), mainConf);
    const orig = d.request.bind(d);
    d.request = async (m, p, b) => {
      const a = await orig(m, p, b);
      if (p.endsWith('/connect')) throw lost('timeout');
      return a;
    };
    const second = { ...mainConf, name: 'second', subnet: '10.79.0.0/24' };
    expect(out(await run(d, new FakeStore(), env('ADD', { CNI_IFNAME: 'eth1' }), second))).toMatchObject({ code: 11 });
    expect(d.sbs.get(CID)!.endpoints).toMatchObject([{ network: 'cninet', ifname: 'eth0' }]);
  });
});
