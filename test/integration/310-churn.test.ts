/**
 * Churn (R15, L1, L2): 200 connect/disconnect operations from concurrent CLI
 * processes while a client in another sandbox keeps querying its 127.0.0.11.
 * Afterwards the records are exactly the expected set, every query got a
 * reply, nothing leaked (veths, addresses) and the daemon still serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { buildCli, randomSubnet, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { uniqueName } from '../helpers/names.js';
import { getentHosts } from '../helpers/exec.js';
import type { NetworkInfo } from '../../controller/index.js';
import type { RecordRow } from '../../api/index.js';

const tag = uniqueName('k');
const net = `${tag}n`;
const client = `${tag}-cl`;
const race = `${tag}-race`;
const WORKERS = 8;
const OPS_PER_WORKER = 25; // 8 × 25 = 200
const worker = (i: number): string => `${tag}-w${i}`;
const names = [...Array.from({ length: WORKERS }, (_, i) => worker(i)), race];

let build: { bin: string; remove(): Promise<void> };
let d: TestDaemon;

beforeAll(async () => {
  build = await buildCli();
  d = await startDaemon(build.bin);
  expect((await d.cli(['network', 'create', net, '--subnet', randomSubnet().subnet])).exitCode).toBe(0);
  for (const s of [client, ...names]) expect((await d.cli(['sandbox', 'create', s])).exitCode).toBe(0);
  expect((await d.cli(['connect', net, client])).exitCode).toBe(0);
  // workers 4..7 start connected and begin with a disconnect: after 25 alternating ops they end disconnected
  for (let i = WORKERS / 2; i < WORKERS; i++) expect((await d.cli(['connect', net, worker(i), '--alias', `${worker(i)}-a`])).exitCode).toBe(0);
});

afterAll(async () => {
  await d?.cleanup();
  for (const s of [client, ...names]) await rm(`/etc/netns/${s}`, { recursive: true, force: true });
  await build?.remove();
});

/** One worker: alternate connect/disconnect of its own sandbox, one CLI process at a time. */
async function runWorker(i: number): Promise<string[]> {
  const failures: string[] = [];
  let connected = i >= WORKERS / 2;
  for (let op = 0; op < OPS_PER_WORKER; op++) {
    const argv = connected ? ['disconnect', net, worker(i)] : ['connect', net, worker(i), '--alias', `${worker(i)}-a`];
    const r = await d.cli(argv);
    if (r.exitCode !== 0) failures.push(`${argv.join(' ')} → ${r.exitCode} ${r.stderr}`);
    connected = !connected;
  }
  return failures;
}

/** A client querying every churned name in a loop from its own namespace; stops when `stop` exists. */
function startQueryLoop(stop: string, out: string) {
  const script = `while [ ! -e ${stop} ]; do dig +time=2 +tries=1 @127.0.0.11 +noall +comments ${names.join(' ')}; done > ${out} 2>&1`;
  const child = spawn('ip', ['netns', 'exec', client, 'bash', '-c', script], { stdio: 'ignore' });
  const done = new Promise<void>((res) => child.once('exit', () => res()));
  return { child, done };
}

describe('310 churn through the CLI', () => {
  it('L1 CLI round trip: network ls median of 20', async () => {
    const ms: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      expect((await d.cli(['network', 'ls'])).exitCode).toBe(0);
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    const median = (ms[9]! + ms[10]!) / 2;
    console.info(`[310] sandns network ls round trip: median ${median.toFixed(0)} ms, min ${ms[0]!.toFixed(0)}, max ${ms[19]!.toFixed(0)} (n=20)`);
    expect(median).toBeLessThan(2_000);
  });

  it('R15 200 concurrent connect/disconnect operations while a client queries: exact final records, every query answered', { timeout: 240_000 }, async () => {
    const stop = `${d.dir}/stop-queries`;
    const out = `${d.dir}/queries.txt`;
    const loop = startQueryLoop(stop, out);
    let failures: string[] = [];
    const t0 = performance.now();
    try {
      failures = (await Promise.all(Array.from({ length: WORKERS }, (_, i) => runWorker(i)))).flat();
    } finally {
      await writeFile(stop, '');
      await Promise.race([loop.done, new Promise((r) => setTimeout(r, 10_000))]);
      if (loop.child.exitCode === null) loop.child.kill('SIGKILL');
    }
    const seconds = (performance.now() - t0) / 1000;
    const log = await readFile(out, 'utf8');
    const statuses = [...log.matchAll(/status: ([A-Z]+)/g)].map((m) => m[1]!);
    const lost = log.split('\n').filter((l) => /timed out|no servers could be reached|communications error/.test(l));
    console.info(`[310] 200 CLI operations (${WORKERS} concurrent) in ${seconds.toFixed(1)} s; client queries answered: ${statuses.length}, lost: ${lost.length}`);
    expect(failures).toEqual([]);
    expect(lost).toEqual([]);
    expect(statuses.length).toBeGreaterThan(names.length);
    expect(new Set(statuses)).toEqual(new Set(statuses.filter((s) => s === 'NOERROR' || s === 'SERVFAIL')));

    const expected = [client];
    for (let i = 0; i < WORKERS / 2; i++) expected.push(worker(i), `${worker(i)}-a`);
    const rows = await d.json<RecordRow[]>(['records', '--network', net]);
    expect(rows.filter((r) => r.type === 'A').map((r) => r.name).sort()).toEqual(expected.sort());
    expect(rows.filter((r) => r.type === 'PTR')).toHaveLength(1 + WORKERS / 2);
    for (let i = 0; i < WORKERS; i++) {
      const ip = rows.find((r) => r.name === worker(i) && r.type === 'A')?.value;
      expect(await getentHosts(client, worker(i))).toEqual(ip === undefined ? [] : [ip]);
    }
    expect(d.alive()).toBe(true);
  });

  it('R15 L2 racing connect and disconnect of one sandbox: each call succeeds or fails cleanly, and state stays consistent', { timeout: 120_000 }, async () => {
    const ops = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? ['connect', net, race] : ['disconnect', net, race]));
    const results = await Promise.all(ops.map((argv) => d.cli(argv)));
    for (const r of results) {
      if (r.exitCode !== 0) expect(r.stderr).toMatch(/\[(ERR_SANDBOX_ALREADY_ON_NETWORK|ERR_ENDPOINT_NOT_FOUND)\]$/);
    }
    const info = await d.json<NetworkInfo>(['network', 'inspect', net]);
    const raceOn = info.endpoints.some((e) => e.name === race);
    const rows = await d.json<RecordRow[]>(['records', '--network', net]);
    expect(rows.some((r) => r.name === race)).toBe(raceOn);
    // every endpoint is joined, has its own address, and has exactly one host-side veth on the bridge
    expect(info.endpoints.every((e) => e.sandbox !== undefined)).toBe(true);
    expect(new Set(info.endpoints.map((e) => e.ipv4)).size).toBe(info.endpoints.length);
    const bridge = `sd-${info.id.slice(0, 12)}`;
    const ports = JSON.parse((await execa('ip', ['-j', 'link', 'show', 'master', bridge])).stdout) as unknown[];
    expect(ports).toHaveLength(info.endpoints.length);
    expect(JSON.parse((await d.http('GET', '/healthz')).text)).toMatchObject({ status: 'ok' });
  });
});
