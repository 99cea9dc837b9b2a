/**
 * The sandns side of `npm run bench`: one controller with a bridge network,
 * one client sandbox and peer sandboxes whose DNS names are the bench's
 * ctrNNNNN names (1,000 = 20 endpoints × 50 names, 10,000 = 100 × 100, as
 * bench/servers/docker.sh spreads them over containers). Run by
 * bench/servers/sandns.sh inside the scratch "host" namespace (its bridge and
 * the upstream live there), pinned to one core. Writes a ready file, serves
 * until SIGTERM/SIGINT, then deletes every sandbox and the network.
 *
 *   node dist-bench/bench/server.js --names 1000 --cache on --origin F --work DIR --ready FILE
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { createController, type Network } from '../controller/index.js';
import { createLogger } from '../common/log.js';

const { values: args } = parseArgs({
  options: {
    names: { type: 'string', default: '1000' },
    cache: { type: 'string', default: 'on' },
    origin: { type: 'string' },
    work: { type: 'string' },
    ready: { type: 'string' },
    prefix: { type: 'string', default: 'dnsb-s' },
    subnet: { type: 'string', default: '10.90.0.0/16' },
    parallel: { type: 'string', default: '8' },
    // CPU profile of the serving phase only (setup excluded), written on SIGTERM; .cpuprofile format.
    'cpu-profile': { type: 'string' },
  },
});
if (args.origin === undefined || args.work === undefined || args.ready === undefined) {
  process.stderr.write('usage: server.js --origin RESOLV_CONF --work DIR --ready FILE [--names N] [--cache on|off]\n');
  process.exit(2);
}
const names = Number(args.names);
const perPeer = names <= 1000 ? 50 : 100;
const peers = Math.ceil(names / perPeer);
const prefix = args.prefix;
const logger = createLogger({ level: process.env.SANDNS_BENCH_LOG ?? 'warn' });
const controller = createController({
  logger,
  originResolvConf: args.origin,
  filesRoot: join(args.work, 'files'),
  runDir: join(args.work, 'run'),
  watchOrigin: false,
  firewall: false,
  // "uncached" scenarios: the cache off (coalescing of identical in-flight queries stays, as by default).
  forwarding: args.cache === 'off' ? { cache: false } : {},
});

/** ctrNNNNN, as bench/lib.sh names them. */
function ctrName(i: number): string {
  return `ctr${String(i).padStart(5, '0')}`;
}

async function addPeer(net: Network, k: number): Promise<void> {
  const first = k * perPeer + 1;
  const own: string[] = [];
  for (let i = first; i < first + perPeer && i <= names; i++) own.push(ctrName(i));
  // The hostname equals the endpoint name, so the names are exactly ctrNNNNN (dnsNames de-duplicates).
  const sb = await controller.newSandbox(`${prefix}p${String(k).padStart(3, '0')}`, { hostname: own[0]! });
  const ep = await net.createEndpoint(own[0]!, { aliases: own.slice(1) });
  await ep.join(sb);
}

function memoryMB(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (x: number): number => Math.round(x / 1e5) / 10;
  return { rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
}

let profiler: Session | undefined;
let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    if (profiler !== undefined && args['cpu-profile'] !== undefined) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(args['cpu-profile'], JSON.stringify(profile));
    }
    await controller.destroyAll();
    await controller.close();
  } finally {
    process.exit(code);
  }
}
process.on('SIGTERM', () => void stop(0));
// Bench instrumentation: SIGUSR2 writes the memory figures (process and V8 heap spaces) to stderr.
process.on('SIGUSR2', () => {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, Math.round(x.space_used_size / 1e5) / 10 + '/' + Math.round(x.physical_space_size / 1e5) / 10]));
  process.stderr.write(`sandns bench server memory MB: ${JSON.stringify({ ...memoryMB(), spacesUsedPhysical: spaces })}\n`);
});
process.on('SIGINT', () => void stop(0));

try {
  const t0 = performance.now();
  await mkdir(args.work, { recursive: true });
  const net = await controller.newNetwork('bridge', 'benchnet', { subnet: args.subnet, driverOptions: { bridgeName: `${prefix}br0` } });
  const client = await controller.newSandbox(`${prefix}cli`, { hostname: 'client' });
  await (await net.createEndpoint('client')).join(client);
  const parallel = Math.max(1, Number(args.parallel));
  for (let k = 0; k < peers; k += parallel) {
    const batch: Promise<void>[] = [];
    for (let j = k; j < Math.min(peers, k + parallel); j++) batch.push(addPeer(net, j));
    await Promise.all(batch);
  }
  const setupMs = Math.round(performance.now() - t0);
  const ready = { pid: process.pid, clientNetns: `${prefix}cli`, names: net.records.size, peers, cache: args.cache, setupMs, memoryMB: memoryMB() };
  if (args['cpu-profile'] !== undefined) {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiler.post('Profiler.start');
  }
  await writeFile(args.ready, `${JSON.stringify(ready)}\n`);
  process.stderr.write(`sandns bench server: ${JSON.stringify(ready)}\n`);
} catch (err) {
  process.stderr.write(`sandns bench server: setup failed: ${String((err as Error).stack ?? err)}\n`);
  writeFileSync(args.ready + '.failed', String(err));
  await stop(1);
}
