/**
 * FS5 on real kernels: one sandbox floods its resolver with queries for a
 * name whose upstream never answers (the issue's 60 KB queries; then the
 * largest accepted size, which coalesce behind one flight), while another
 * sandbox keeps asking. The daemon's RSS (this process: the controller runs
 * in-process) must stay under +50 MB, no query of the other sandbox may be
 * lost, and its median latency stays under 5 ms (the fault this guards
 * against took the victim's average from 0.15 ms to 18 ms).
 *
 * V8's external memory (buffers outside its heap) must also stay within
 * +8 MB: a listener that gave each datagram a buffer of its own made ~35 MB of
 * garbage that only V8's external-memory limit (64 MiB) brought back, which is
 * what took this test's RSS to +47-50 MB and failed CI once; the listener now
 * lends a view of its receive area (+1 MB measured). The rest of the RSS
 * growth (+15-20 MB) is V8's young generation touched for the first time.
 *
 * The tail is reported (annotation) but bounded only loosely here (50 ms):
 * on the 2-core CI machine the attacker's flood process and parallel test
 * files compete with the daemon for CPU, which moves a p99 by 10 ms whatever
 * the resolver does. The p99 ≤ 5 ms figure is a speed target and belongs to
 * the benchmark (standards: speed targets by benchmarks, not timed tests).
 */
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testController, type TestController } from '../helpers/controller.js';
import { uniqueName } from '../helpers/names.js';
import { randomLoopback } from '../helpers/upstream.js';
import { batchedUdpAvailable } from '../../sandbox/io/listener-udp.js';

const LOAD = fileURLToPath(new URL('../helpers/dnsload.py', import.meta.url));
const MB = 1024 * 1024;

interface Probe {
  n: number;
  lost: number;
  p50: number;
  p99: number;
  max: number;
}

async function load(netnsPath: string, args: string[]): Promise<Record<string, number>> {
  const r = await execa('nsenter', [`--net=${netnsPath}`, 'python3', LOAD, ...args], { timeout: 30_000 });
  return JSON.parse(r.stdout) as Record<string, number>;
}

describe('220 FS5 a query flood for a silent upstream stays bounded', () => {
  const tag = uniqueName('m');
  let t: TestController;
  let silent: dgram.Socket;
  let atkPath = '';
  let vicPath = '';

  beforeAll(async () => {
    const address = randomLoopback();
    silent = dgram.createSocket('udp4');
    await new Promise<void>((res) => silent.bind({ address, port: 53, exclusive: true }, res));
    silent.on('message', () => undefined); // never answers
    t = await testController(`nameserver ${address}\n`);
    const netA = await t.controller.newNetwork('bridge', `${tag}a`, {});
    const netB = await t.controller.newNetwork('bridge', `${tag}b`, {});
    const atk = await t.controller.newSandbox(`${tag}-atk`, { hostname: 'atk' });
    await (await netA.createEndpoint('atk')).join(atk);
    const vic = await t.controller.newSandbox(`${tag}-vic`, { hostname: 'vic' });
    await (await netB.createEndpoint('vic')).join(vic);
    atkPath = atk.netnsPath;
    vicPath = vic.netnsPath;
  });

  afterAll(async () => {
    await t?.cleanup();
    await new Promise<void>((res) => (silent ? silent.close(() => res()) : res()));
  });

  it.for([
    { what: '60 KB queries (refused at once)', size: 60_000 },
    { what: '1,232-byte queries (the largest accepted: followers of one flight)', size: 1232 },
  ])('FS5 $what for 4 s: RSS under +50 MB, the other sandbox loses nothing, median under 5 ms', { timeout: 120_000 }, async ({ size }, ctx) => {
    const base = (await load(vicPath, ['probe', 'vic', '1.5'])) as unknown as Probe;
    const { rss: rss0, external: ext0 } = process.memoryUsage();
    let peak = rss0;
    let peakExt = ext0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.rss);
      peakExt = Math.max(peakExt, m.external);
    }, 50);
    try {
      const [flood, probe] = await Promise.all([
        load(atkPath, ['flood', 'never.answered.example', String(size), '4']),
        new Promise((r) => setTimeout(r, 300)).then(() => load(vicPath, ['probe', 'vic', '3'])) as Promise<unknown> as Promise<Probe>,
      ]);
      ctx.annotate(`flood sent ${flood.sent}; rss +${((peak - rss0) / MB).toFixed(1)} MB, external +${((peakExt - ext0) / MB).toFixed(1)} MB; other sandbox p50 ${probe.p50.toFixed(2)} / p99 ${probe.p99.toFixed(2)} ms (without the attack ${base.p50.toFixed(2)} / ${base.p99.toFixed(2)} ms), lost ${probe.lost}`);
      expect(flood.sent).toBeGreaterThan(1000);
      expect(peak - rss0).toBeLessThan(50 * MB);
      // dgram (the fallback without the addon) allocates a buffer per datagram inside Node: the bound is the batched listener's.
      if (batchedUdpAvailable()) expect(peakExt - ext0).toBeLessThan(8 * MB);
      expect(probe.n).toBeGreaterThan(100);
      expect(probe.lost).toBe(0);
      expect(probe.p50).toBeLessThan(Math.max(5, 10 * base.p50));
      expect(probe.p99).toBeLessThan(Math.max(50, 10 * base.p99));
    } finally {
      clearInterval(sampler);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(process.memoryUsage().rss - rss0).toBeLessThan(50 * MB);
  });
});
