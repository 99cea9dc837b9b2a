/**
 * Concurrent joins (L2): many joins at once, in-process. Host-side plans overlap on a small
 * pool of rtnetlink sockets, one plan in flight per socket (netlink@0.3.0
 * aborts the process with many requests in flight on one socket): 64
 * concurrent joins finish, every veth is on the bridge, peers resolve, and 64
 * concurrent leaves take everything away. Times are printed, not asserted
 * (speed is checked by `npm run bench:lifecycle`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { digShort } from '../helpers/exec.js';
import { HOST_SOCKETS, hostNetlinkStats } from '../../common/io/rtnetlink.js';
import type { Endpoint, Network, Sandbox } from '../../controller/index.js';

const N = 64;

/** In batches of `par`: setting up the sandboxes is not what is measured. */
async function inBatches<T>(n: number, par: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += par) out.push(...(await Promise.all(Array.from({ length: Math.min(par, n - i) }, (_, k) => fn(i + k)))));
  return out;
}

describe('135 concurrent joins over the host socket pool', () => {
  let t: TestController;
  const tag = uniqueName('cj');
  let net: Network;
  let sbs: Sandbox[] = [];

  beforeAll(async () => {
    t = await testController();
    net = await t.controller.newNetwork('bridge', `${tag}net`, { subnet: '10.251.135.0/24' });
    sbs = await inBatches(N + 3, 8, (i) => t.controller.newSandbox(`${tag}-${i}`, { hostname: `h${i}` }));
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it(`L2 ${N} concurrent joins all finish on at most ${HOST_SOCKETS} host sockets; the veths are on the bridge; peers resolve`, async () => {
    const singles: number[] = [];
    for (const sb of sbs.slice(N)) {
      const t0 = performance.now();
      await (await net.createEndpoint(sb.id, {})).join(sb);
      singles.push(performance.now() - t0);
    }
    const t0 = performance.now();
    const results = await Promise.allSettled(sbs.slice(0, N).map(async (sb) => (await net.createEndpoint(sb.id, {})).join(sb)));
    const all = performance.now() - t0;
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const single = [...singles].sort((a, b) => a - b)[1]!;
    process.stderr.write(`[135] single join ${single.toFixed(1)} ms; ${N} concurrent: ${all.toFixed(1)} ms (${(all / single).toFixed(1)} x); host sockets ${JSON.stringify(hostNetlinkStats())}\n`);

    const stats = hostNetlinkStats();
    expect(stats.open).toBeLessThanOrEqual(HOST_SOCKETS);
    expect(stats.busy).toBe(0);
    expect(stats.waiting).toBe(0);
    if (HOST_SOCKETS > 1) expect(stats.created).toBeGreaterThan(1); // plans did overlap
    const br = `sd-${net.id.slice(0, 12)}`;
    const ports = JSON.parse((await execa('ip', ['-j', 'link', 'show', 'master', br])).stdout) as { ifname: string }[];
    expect(ports.length).toBe(N + 3);
    for (const [from, to] of [[0, N - 1], [N - 1, 0], [N >> 1, N + 2]] as const) {
      const r = await digShort(sbs[from]!.id, [sbs[to]!.id]);
      expect(r.stdout, r.stderr).toMatch(/^10\.251\.135\.\d+$/);
    }
  });

  it(`L2 ${N} concurrent leaves take every veth away`, async () => {
    const eps = [...net.endpoints.values()] as Endpoint[];
    const results = await Promise.allSettled(eps.map(async (ep) => {
      await ep.leave(ep.sandbox!);
      await ep.delete();
    }));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const br = `sd-${net.id.slice(0, 12)}`;
    expect(JSON.parse((await execa('ip', ['-j', 'link', 'show', 'master', br])).stdout)).toEqual([]);
  });
});
