/**
 * `npm run bench:cluster` (issue 15 Benchmark; not a timed test). Against an
 * etcd member on loopback (ports of its own, data on tmpfs):
 * - publish on host A -> visible in host B's mirror, over 1,000 connects
 *   (claim + publish, as a connect does): p50 / p99; the peer measured in the
 *   same run is a bare etcd3 put -> watch event (the floor any design on etcd pays);
 * - etcd writes per connect;
 * - catch-up of a host joining a cluster that holds 10,000 global records:
 *   time to a full mirror and the RSS it costs.
 * Hosts A, B, C are cluster stores in this process (the store is what the
 * daemon runs; DNS answers come from the same record tables, updated in the same tick).
 */
import { loadavg } from 'node:os';
import { Etcd3 } from 'etcd3';
import { silentLogger } from '../common/log.js';
import { createClusterStore, normalizeClusterOptions, type ClusterStore, type MirrorChange } from '../store/index.js';
import { startLoopbackEtcd } from '../test/helpers/cluster-lab.js';

const N = Number(process.env.BENCH_CONNECTS ?? 1000);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;

function store(endpoint: string, n: number): ClusterStore {
  return createClusterStore(normalizeClusterOptions({ store: `etcd://${endpoint}/bench`, advertise: `10.0.0.${n}`, opts: ['lease.ttl=30'] }), { logger: silentLogger() });
}

async function publishToVisible(a: ClusterStore, b: ClusterStore): Promise<{ lat: number[]; writes: number }> {
  const waiting = new Map<string, () => void>();
  b.setListener({ changes: (cs: readonly MirrorChange[]) => cs.forEach((c) => c.kind === 'record' && c.op === 'put' && waiting.get(c.record.id)?.()), lost: () => undefined });
  await a.createNetwork(() => ({ id: 'bench', name: 'bench', driver: 'bridge', subnet: '10.60.0.0/16', gateway: '10.60.0.1', internal: false, ttl: 600, dns: [], options: {} }));
  const w0 = a.status().writes;
  const lat: number[] = [];
  for (let i = 0; i < N; i++) {
    const id = `ep${i}`;
    const ip = `10.60.${(i >> 8) & 255}.${(i & 255) + 1}`;
    const seen = new Promise<void>((r) => waiting.set(id, r));
    const t0 = performance.now();
    await a.claimAddress('bench', ip, id);
    await a.publish('bench', { id, names: [`c${i}`], ipv4: ip, ports: [] });
    await seen;
    lat.push(performance.now() - t0);
    waiting.delete(id);
  }
  return { lat, writes: (a.status().writes - w0) / N };
}

async function bareEtcd(endpoint: string): Promise<number[]> {
  const c = new Etcd3({ hosts: [endpoint] });
  const w = await c.watch().prefix('/peer/').create();
  const waiting = new Map<string, () => void>();
  w.on('put', (kv) => waiting.get(kv.key.toString())?.());
  const lat: number[] = [];
  for (let i = 0; i < N; i++) {
    const key = `/peer/${i}`;
    const seen = new Promise<void>((r) => waiting.set(key, r));
    const t0 = performance.now();
    await c.put(key).value('x');
    await seen;
    lat.push(performance.now() - t0);
  }
  await w.cancel();
  c.close();
  return lat;
}

async function ready(s: ClusterStore): Promise<void> {
  while (!s.available()) await new Promise((r) => setTimeout(r, 50));
}

async function catchUp(endpoint: string, c: ClusterStore): Promise<{ ms: number; rssMb: number }> {
  for (let i = 0; i < RECORDS; i += 100) {
    await ready(c);
    await Promise.all(Array.from({ length: Math.min(100, RECORDS - i) }, (_, k) => {
      const n = i + k;
      const put = (): Promise<void> => c.publish('bench', { id: `r${n}`, names: [`r${n}`, `alias-r${n}`], ipv4: `10.61.${(n >> 8) & 255}.${n & 255}`, ports: [{ port: 80, proto: 'tcp' }] });
      // Filling the cluster is set-up, not measured: a 503 (lease renewed late on a loaded machine) is waited out.
      return put().catch(async () => {
        await ready(c);
        await put();
      });
    }));
  }
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const d = store(endpoint, 4);
  const t0 = performance.now();
  await d.start();
  while (d.status().remoteRecords < RECORDS) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  const rssMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
  await d.close();
  return { ms, rssMb };
}

const etcd = await startLoopbackEtcd();
try {
  const [a, b, c] = [store(etcd.endpoint, 1), store(etcd.endpoint, 2), store(etcd.endpoint, 3)];
  await Promise.all([a.start(), b.start(), c.start()]);
  await Promise.all([a, b, c].map(ready));
  const line = (r: string[]): void => void process.stdout.write(`${r[0]!.padEnd(50)} ${r[1]!.padEnd(18)} ${r[2] ?? ''}\n`);
  process.stdout.write(`bench:cluster (${N} connects, ${RECORDS} records; load average ${loadavg()[0]!.toFixed(1)})\n`);
  const peer = await bareEtcd(etcd.endpoint);
  line(['peer: bare etcd3 put -> watch event', `p50 ${fmt(pct(peer, 50))}`, `p99 ${fmt(pct(peer, 99))}`]);
  const ours = await publishToVisible(a, b);
  line(["publish on A -> in B's mirror (claim + publish)", `p50 ${fmt(pct(ours.lat, 50))}`, `p99 ${fmt(pct(ours.lat, 99))}`]);
  line(['ratio sandns / bare put', `p50 ${(pct(ours.lat, 50) / pct(peer, 50)).toFixed(2)}x`, `p99 ${(pct(ours.lat, 99) / pct(peer, 99)).toFixed(2)}x`]);
  line(['etcd writes per connect', ours.writes.toFixed(2), '']);
  const cu = await catchUp(etcd.endpoint, c);
  line([`catch-up of a new host, ${RECORDS} records`, fmt(cu.ms), `RSS +${cu.rssMb.toFixed(1)} MiB`]);
  await Promise.all([a.close(), b.close(), c.close()]);
} finally {
  await etcd.stop();
}
process.exit(0);
