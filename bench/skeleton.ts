/**
 * First figures for the walking skeleton: the time of one sandbox create +
 * join (median of 20), and queries/s of a 5 s dnsperf run against one
 * sandbox's 127.0.0.11 (local names only; nothing is forwarded).
 * Run as root: `npx tsx bench/skeleton.ts`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createController } from '../controller/index.js';
import { silentLogger } from '../common/log.js';

const N = Number(process.env.N ?? 20);
const dir = await mkdtemp(join(tmpdir(), 'sandns-skel-'));
const origin = join(dir, 'resolv.conf');
await writeFile(origin, '# bench: no upstream\n');
const c = createController({ logger: silentLogger(), firewall: false, originResolvConf: origin });
const tag = `sk${process.pid % 10000}`;
try {
  const net = await c.newNetwork('bridge', `${tag}net`, { subnet: '10.214.0.0/22' });
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const sb = await c.newSandbox(`${tag}-${i}`, { hostname: `peer${i}` });
    const ep = await net.createEndpoint(`peer${i}`);
    await ep.join(sb);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  process.stdout.write(`create+join: median ${median.toFixed(1)} ms, min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)} (n=${N})\n`);
  const qfile = join(dir, 'q.txt');
  await writeFile(qfile, Array.from({ length: N }, (_, i) => `peer${i} A`).join('\n') + '\n');
  const r = await execa('ip', ['netns', 'exec', `${tag}-0`, 'dnsperf', '-s', '127.0.0.11', '-d', qfile, '-l', '5', '-c', '10', '-q', '100'], { reject: false });
  const qps = /Queries per second:\s+([\d.]+)/.exec(r.stdout)?.[1];
  const lost = /Queries lost:\s+(\d+)/.exec(r.stdout)?.[1];
  process.stdout.write(`dnsperf local A against one sandbox (5 s, -c 10 -q 100): ${qps ?? 'n/a'} qps, lost ${lost ?? '?'}\n`);
} finally {
  await c.destroyAll();
  await c.close();
  await rm(dir, { recursive: true, force: true });
}
