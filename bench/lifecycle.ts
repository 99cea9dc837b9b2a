/**
 * `npm run bench:lifecycle` (issue 13), as root: sandbox lifecycle at scale,
 * through the daemon's API (HTTP on its unix socket; no CLI start-up).
 *
 *  - create + connect → the first query of a peer from inside the new
 *    sandbox answers (a UDP socket opened in its namespace by the native
 *    helper; a dig without dig's own start-up), median and p99, at 1, 100 and
 *    1,000 existing sandboxes, and at 1,000 with two busy processes on both cores;
 *  - disconnect + remove; 50 concurrent connects against one; idle RSS per
 *    sandbox; restore after kill -9 until all 1,000 answer again;
 *  - Docker 20.10's `network connect` / `disconnect` in the same run
 *    (bench/lifecycle-docker.sh), and sandns ÷ Docker.
 *
 * The daemon runs in a scratch "host" namespace (bridges live there); every
 * namespace, file and process is removed at the end. Knobs: SAMPLES (30),
 * LEVELS ("1 100 1000"), DOCKER (1), RAW=1 (every sample: total, create,
 * connect, dig, disconnect + remove).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { requireNativeHelper } from '../common/io/native.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = Number(process.env.SAMPLES ?? 30);
const LEVELS = (process.env.LEVELS ?? '1 100 1000').split(/\s+/).map(Number);
const TAG = `lc${randomBytes(2).toString('hex')}`;
const HOST_NS = `${TAG}h`;
const DIR = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'sandns-lifecycle-'));
/** Experiment knob: sandbox files under the bench's directory (e.g. BENCH_DIR=/dev/shm: no fsync cost). */
const filesIn = (name: string): Record<string, string> =>
  process.env.FILES_IN_DIR === '1' ? { hostsPath: join(DIR, 'files', name, 'hosts'), resolvConfPath: join(DIR, 'files', name, 'resolv.conf') } : {};
const SOCK = join(DIR, 'sandns.sock');
const NET = `${TAG}net`;
/** The 50 concurrent connects use a second network: a Linux bridge holds at most 1,023 ports (BR_MAX_PORTS; Docker has the same limit). */
const NET2 = `${TAG}net2`;
const native = requireNativeHelper();

let daemon: ChildProcess | undefined;
let seq = 0;
const live = new Set<string>();

function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((res, rej) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: SOCK, method, path, headers: text === undefined ? {} : { 'content-type': 'application/json' } }, (r) => {
      let out = '';
      r.on('data', (c: Buffer) => (out += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, json: out === '' ? {} : (JSON.parse(out) as Record<string, unknown>) }));
    });
    req.on('error', rej);
    req.end(text);
  });
}

async function must(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

function startDaemon(): { child: ChildProcess; t0: number } {
  const t0 = performance.now();
  const log = openSync(join(DIR, 'daemon.log'), 'a');
  const child = spawn('nsenter', [`--net=/run/netns/${HOST_NS}`, '--', process.execPath, ...(process.env.DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean), join(ROOT, 'dist/bin/sandns.js'), '--socket', SOCK, 'daemon',
    '--state-dir', join(DIR, 'state'), '--origin-resolv-conf', join(DIR, 'resolv.conf'), '--log-level', process.env.LOG_LEVEL ?? 'warn'], { stdio: ['ignore', log, log] });
  closeSync(log);
  daemon = child;
  return { child, t0 };
}

async function waitHealthy(): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (await api('GET', '/healthz').then((r) => r.status === 200, () => false)) return;
    await sleep(5);
  }
  throw new Error(`daemon did not come up: ${readFileSync(join(DIR, 'daemon.log'), 'utf8')}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One UDP query from inside `nsPath` to its 127.0.0.11 for `name` A; resolves true on an answer with an A record. */
function queryFromInside(nsPath: string, name: string, timeoutMs = 200): Promise<boolean> {
  const fd = native.socketInNetns(nsPath, 4, 'udp');
  const sock = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('message', (msg) => {
      const p = dnsPacket.decode(msg);
      done((p as { rcode?: string }).rcode === 'NOERROR' && (p.answers ?? []).some((a) => a.type === 'A'));
    });
    sock.on('error', () => done(false));
    sock.bind({ fd }, () => sock.send(dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), 53, '127.0.0.11'));
  });
}

/** Retry until the peer answers from inside (1 s at most). */
async function firstAnswer(nsPath: string, name: string): Promise<boolean> {
  const end = performance.now() + 1000;
  while (performance.now() < end) if (await queryFromInside(nsPath, name, 50)) return true;
  return false;
}

interface Sample { total: number; create: number; connect: number; dig: number }

async function createConnect(name = `${TAG}s${seq++}`): Promise<Sample> {
  const t0 = performance.now();
  const sb = await must('POST', '/sandboxes', { name, ...filesIn(name) });
  live.add(name);
  const t1 = performance.now();
  await must('POST', `/networks/${NET}/connect`, { sandbox: name });
  const t2 = performance.now();
  if (!(await firstAnswer(String(sb.netnsPath), `${TAG}peer`))) throw new Error(`${name}: the peer never answered from inside`);
  const t3 = performance.now();
  return { total: t3 - t0, create: t1 - t0, connect: t2 - t1, dig: t3 - t2 };
}

async function disconnectRemove(name: string): Promise<number> {
  const t0 = performance.now();
  await must('POST', `/networks/${NET}/disconnect`, { sandbox: name });
  await must('DELETE', `/sandboxes/${name}`);
  live.delete(name);
  return performance.now() - t0;
}

/** Add idle sandboxes (created and connected), `par` at a time, until `n` exist. */
async function fillTo(n: number, par = 8): Promise<void> {
  while (live.size < n) {
    const k = Math.min(par, n - live.size);
    await Promise.all(Array.from({ length: k }, async () => {
      const name = `${TAG}s${seq++}`;
      await must('POST', '/sandboxes', { name, ...filesIn(name) });
      live.add(name);
      await must('POST', `/networks/${NET}/connect`, { sandbox: name });
    }));
  }
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const med = (xs: readonly number[]): number => pct(xs, 50);
const f1 = (x: number): string => x.toFixed(1);

/** SAMPLES create+connect+dig, each followed by disconnect+remove (the count stays at its level). */
async function measureLevel(): Promise<{ samples: Sample[]; removes: number[] }> {
  const samples: Sample[] = [];
  const removes: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const name = `${TAG}m${seq++}`;
    const s = await createConnect(name);
    samples.push(s);
    removes.push(await disconnectRemove(name));
    // RAW=1: every sample, to see how the total's distribution is made (its median is not the medians' sum).
    if (process.env.RAW === '1') process.stderr.write(`[raw] ${[s.total, s.create, s.connect, s.dig, removes.at(-1)!].map((x) => x.toFixed(1)).join(' ')}\n`);
  }
  return { samples, removes };
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** The daemon's pid (the nsenter child execs node, so it is the child's pid). */
const daemonPid = (): number => daemon!.pid!;

function busy(): ChildProcess[] {
  return [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
}

/** Lines (commits) in the daemon's state journal so far. */
function journalCommits(): number {
  try {
    return readFileSync(join(DIR, 'state', 'state.journal'), 'utf8').split('\n').filter((l) => l !== '').length;
  } catch {
    return 0;
  }
}

async function concurrentConnects(n: number): Promise<{ single: number; all: number; commits: number }> {
  const names = Array.from({ length: n + 5 }, () => `${TAG}c${seq++}`);
  for (const name of names) {
    await must('POST', '/sandboxes', { name, ...filesIn(name) });
    live.add(name);
  }
  const singles: number[] = [];
  for (const name of names.slice(n)) {
    const t0 = performance.now();
    await must('POST', `/networks/${NET2}/connect`, { sandbox: name });
    singles.push(performance.now() - t0);
  }
  const before = journalCommits();
  const t0 = performance.now();
  await Promise.all(names.slice(0, n).map((name) => must('POST', `/networks/${NET2}/connect`, { sandbox: name })));
  return { single: med(singles), all: performance.now() - t0, commits: journalCommits() - before };
}

/**
 * A UDP socket inside each sandbox, opened before the kill: the restore probe then costs only its queries (no
 * socket made per try), so what is timed is the daemon, not the prober.
 */
async function probeSockets(names: readonly string[]): Promise<Map<string, dgram.Socket>> {
  const out = new Map<string, dgram.Socket>();
  for (const name of names) {
    const fd = native.socketInNetns(`/run/netns/${name}`, 4, 'udp');
    const sock = dgram.createSocket('udp4');
    sock.on('error', () => undefined); // nothing listens yet: ignored
    await new Promise<void>((r) => sock.bind({ fd }, r));
    out.set(name, sock);
  }
  return out;
}

async function restoreAfterKill(): Promise<{ ms: number; sandboxes: number; ready: number }> {
  const socks = await probeSockets([...live]);
  try {
    const old = daemon!;
    const exited = new Promise((r) => old.once('exit', r));
    old.kill('SIGKILL');
    await exited;
    const query = dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: `${TAG}peer` }] });
    const answered = new Set<string>();
    let last = 0;
    for (const [name, sock] of socks) {
      sock.on('message', (msg) => {
        const p = dnsPacket.decode(msg);
        if ((p as { rcode?: string }).rcode !== 'NOERROR' || !(p.answers ?? []).some((a) => a.type === 'A') || answered.has(name)) return;
        answered.add(name);
        last = performance.now();
      });
    }
    const { t0 } = startDaemon();
    let ready = 0;
    void waitHealthy().then(() => (ready = performance.now() - t0), () => undefined);
    // Every 100 ms, one query from each sandbox not answered yet, until all have answered (the API need not be up).
    // Not faster: a thousand sockets probed every 20 ms load the prober and the daemon more than the restore does.
    while (answered.size < socks.size && performance.now() - t0 < 180_000) {
      for (const [name, sock] of socks) if (!answered.has(name)) sock.send(query, 53, '127.0.0.11');
      await sleep(100);
    }
    if (answered.size < socks.size) {
      const missing = [...socks.keys()].filter((n) => !answered.has(n));
      throw new Error(`${missing.length} sandboxes still not answering 180 s after the restart: ${missing.slice(0, 5).join(' ')}`);
    }
    await waitHealthy();
    return { ms: last - t0, sandboxes: socks.size, ready: ready || performance.now() - t0 };
  } finally {
    for (const sock of socks.values()) sock.close();
  }
}

function docker(): { connect: number[]; disconnect: number[]; dockerd?: string; error?: string } {
  if (process.env.DOCKER === '0') return { connect: [], disconnect: [], error: 'skipped (DOCKER=0)' };
  const out = execFileSync('bash', [join(ROOT, 'bench/lifecycle-docker.sh'), String(Math.min(SAMPLES, 20))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').pop()!) as { connect: number[]; disconnect: number[] };
}

async function cleanup(): Promise<void> {
  if (daemon !== undefined && daemon.exitCode === null) {
    const names = [...live];
    // Retried once: after the Docker part (minutes without a request) the client's kept-alive connection may have
    // been closed by the daemon, and the first requests on it fail (socket hang up) without reaching it.
    const remove = (n: string): Promise<unknown> => api('DELETE', `/sandboxes/${n}`).catch(() => api('DELETE', `/sandboxes/${n}`)).catch(() => undefined);
    for (let i = 0; i < names.length; i += 16) await Promise.all(names.slice(i, i + 16).map(remove));
    for (const n of [NET, NET2]) await api('DELETE', `/networks/${n}`).catch(() => undefined);
    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  for (const n of live) {
    try {
      native.removeNetns(`/run/netns/${n}`);
    } catch {
      /* gone */
    }
    rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
    rmSync(`/run/sandns/sandboxes/${n}`, { recursive: true, force: true }); // what the daemon would have removed
  }
  try {
    native.removeNetns(`/run/netns/${HOST_NS}`);
  } catch {
    /* gone */
  }
  if (process.env.KEEP !== '1') rmSync(DIR, { recursive: true, force: true });
}

type Row = [string, string, string, string];

async function main(): Promise<void> {
  writeFileSync(join(DIR, 'resolv.conf'), '# sandns lifecycle bench: no upstream servers\n');
  native.createNetns(`/run/netns/${HOST_NS}`);
  startDaemon();
  await waitHealthy();
  await must('POST', '/networks', { name: NET, driver: 'bridge', subnet: '10.120.0.0/16' });
  await must('POST', '/sandboxes', { name: `${TAG}peer` });
  live.add(`${TAG}peer`);
  await must('POST', `/networks/${NET}/connect`, { sandbox: `${TAG}peer` });
  await must('POST', '/networks', { name: NET2, driver: 'bridge', subnet: '10.121.0.0/16' });
  await must('POST', `/networks/${NET2}/connect`, { sandbox: `${TAG}peer` });
  await createConnect().then((s) => disconnectRemove(`${TAG}s${seq - 1}`).then(() => s)); // warm-up
  const rows: Row[] = [];
  const totals: Record<string, number[]> = {};
  let removes: number[] = [];
  let rss1 = 0;
  for (const level of LEVELS) {
    await fillTo(level);
    if (level === LEVELS[0]) rss1 = rssKb(daemonPid());
    const r = await measureLevel();
    totals[level] = r.samples.map((s) => s.total);
    removes = removes.concat(r.removes);
    const parts = (k: keyof Sample): string => f1(med(r.samples.map((s) => s[k])));
    rows.push([`create + connect → first answer, ${level} existing`, f1(med(totals[level]!)), f1(pct(totals[level]!, 99)),
      `create ${parts('create')} + connect ${parts('connect')} + dig ${parts('dig')}`]);
    console.error(`[bench] level ${level}: ${rows[rows.length - 1]!.slice(1).join(' | ')}`);
  }
  const top = LEVELS[LEVELS.length - 1]!;
  const rssTop = rssKb(daemonPid());
  const hogs = busy();
  let loaded: { samples: Sample[]; removes: number[] };
  try {
    loaded = await measureLevel();
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
  const lt = loaded.samples.map((s) => s.total);
  rows.push([`same, ${top} existing, 2 busy processes on both cores`, f1(med(lt)), f1(pct(lt, 99)), `disconnect + remove under load: median ${f1(med(loaded.removes))}`]);
  rows.push(['disconnect + remove', f1(med(removes)), f1(pct(removes, 99)), `${removes.length} samples over all levels`]);
  const cc = await concurrentConnects(50);
  console.error(`[bench] 50 concurrent: ${f1(cc.all)} ms, single ${f1(cc.single)} ms`);
  rows.push(['50 concurrent connects (all done)', f1(cc.all), '', `single connect median ${f1(cc.single)} ms → ${(cc.all / cc.single).toFixed(1)} × (target ≤ 10 ×); ${cc.commits} journal lines for 50 × 2 write-aheads (each one blocking write, none synced: a join's records end with the machine)`]);
  const perSandbox = (rssTop - rss1) / Math.max(1, top - LEVELS[0]!);
  rows.push(['idle daemon RSS per sandbox (KB)', f1(perSandbox), '', `RSS ${(rss1 / 1024).toFixed(1)} MB at ${LEVELS[0]}, ${(rssTop / 1024).toFixed(1)} MB at ${top}`]);
  if (process.env.RESTORE === '0') rows.push(['restore after kill -9', '', '', 'skipped (RESTORE=0)']);
  else try {
    const rs = await restoreAfterKill();
    rows.push([`restore after kill -9 → all ${rs.sandboxes} answer`, f1(rs.ms), '', `from spawn of the new daemon (Node start-up included); its API ready at ${f1(rs.ready)}`]);
  } catch (err) {
    rows.push(['restore after kill -9', 'MISS', '', String(err).slice(0, 160)]);
  }
  const sdConnect = med(totals[LEVELS[0]!]!);
  const dk = docker();
  if (dk.error === undefined) {
    const dc = med(dk.connect);
    const dd = med(dk.disconnect);
    rows.push(['Docker 20.10 network connect (API)', f1(dc), f1(pct(dk.connect, 99)), `${dk.dockerd ?? ''}`]);
    rows.push(['Docker 20.10 network disconnect (API)', f1(dd), f1(pct(dk.disconnect, 99)), '']);
    rows.push(['sandns ÷ Docker: connect', (cc.single / dc).toFixed(2), '', `create + connect + first answer ÷ Docker connect: ${(sdConnect / dc).toFixed(2)}`]);
    rows.push(['sandns ÷ Docker: disconnect (+ remove)', (med(removes) / dd).toFixed(2), '', 'sandns also removes the sandbox']);
  } else rows.push(['Docker 20.10', '', '', dk.error]);
  const flat = LEVELS.map((l) => med(totals[l]!));
  console.log(`\nsandns lifecycle benchmark (${new Date().toISOString()}, ${SAMPLES} samples per level, ms unless stated)\n`);
  console.log('| operation | median | p99 | notes |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nflatness: ${LEVELS.map((l, i) => `${l}: ${f1(flat[i]!)}`).join(', ')} ms (spread ${f1(((Math.max(...flat) - Math.min(...flat)) / Math.min(...flat)) * 100)} %)`);
}

process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
try {
  await main();
} catch (err) {
  console.error(String(err), '\n--- daemon log (tail) ---\n', readFileSync(join(DIR, 'daemon.log'), 'utf8').slice(-3000));
  process.exitCode = 1;
} finally {
  await cleanup();
}
