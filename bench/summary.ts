/**
 * The summary of one `npm run bench`: reads RES/{qps,lat,rss}.tsv and
 * env.txt (written by bench/lib.sh; each .tsv starts with a header row) and
 * prints markdown: QPS per scenario and server with sandns ÷ peer ratios,
 * latency at the fixed rate, RSS, the load the machine carried, and the
 * performance targets with PASS/MISS. Every ratio divides figures of the same
 * results directory, i.e. of servers measured in the same run.
 *
 * A peer runs in one configuration (its default), so its `fwd`/`nx` figures
 * are compared with both sandns `fwd`/`nx` (sandns without a cache) and
 * `fwd-cached`/`nx-cached` (sandns with its default cache).
 *
 *   node dist-bench/bench/summary.js RES_DIR
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const res = process.argv[2] ?? 'bench/results';
const OURS = 'sandns';

/** Rows of a results file as records keyed by its header. */
function table(file: string): Record<string, string>[] {
  const path = join(res, file);
  if (!existsSync(path)) return [];
  const [head, ...lines] = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const keys = (head ?? '').split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [keys[i] ?? String(i), v])));
}
const qpsRows = table('qps.tsv');
const latRows = table('lat.tsv');
const rssRows = table('rss.tsv');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

interface Throughput {
  readonly qps: number;
  readonly min: number;
  readonly max: number;
  /** QPS ÷ the server process's share of a core (an extrapolation when the client is the bottleneck). */
  readonly perCore: number | undefined;
  readonly clientCore: number;
  readonly lost: number;
  readonly rcode: string;
  readonly foreign: number;
}
/** Median over the repetitions of SERVER with N names on SCENARIO. */
function throughput(server: string, n: string, scen: string): Throughput | undefined {
  const r = qpsRows.filter((x) => x.server === server && x.names === n && x.scenario === scen);
  if (r.length === 0) return undefined;
  const qps = r.map((x) => Number(x.qps));
  const q = median(qps);
  const proc = median(r.map((x) => Number(x.server_proc_pct)));
  return {
    qps: q,
    min: Math.min(...qps),
    max: Math.max(...qps),
    perCore: proc > 0 ? (q * 100) / proc : undefined,
    clientCore: median(r.map((x) => Number(x.client_core_pct))),
    lost: r.reduce((a, x) => a + (Number(x.lost) || 0), 0),
    rcode: (r[0]!.rcodes ?? '').replace(/[0-9(].*/, ''),
    foreign: Math.max(...r.map((x) => Number(x.foreign_pct))),
  };
}
interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly rate: string;
}
function latency(server: string, n: string, scen: string): Latency | undefined {
  const r = latRows.filter((x) => x.server === server && x.names === n && x.scenario === scen).at(-1);
  if (r === undefined || r.p50_ms === 'NA') return undefined;
  return { p50: Number(r.p50_ms), p99: Number(r.p99_ms), p999: Number(r.p999_ms), rate: r.rate! };
}
function rssMB(server: string, n: string, when: string): number | undefined {
  const r = rssRows.filter((x) => x.server === server && x.names === n && x.when === when).at(-1);
  return r === undefined ? undefined : Number(r.rss_kb) / 1024;
}

const k = (x: number | undefined): string => (x === undefined ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)}k` : `${Math.round(x)}`);
const f2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const mb = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));
const ms = (x: Latency | undefined): string => (x === undefined ? '–' : `${x.p50.toFixed(3)} / ${x.p99.toFixed(3)}`);
/** The scenario a peer's figure stands for (its one configuration). */
const peerScen = (s: string): string => s.replace(/-cached$/, '');

const servers = [...new Set(qpsRows.map((x) => x.server!))];
const KNOWN = ['docker', 'aardvark', 'dnsmasq', 'unbound'];
const peers = [...KNOWN.filter((p) => servers.includes(p)), ...servers.filter((s) => s !== OURS && !KNOWN.includes(s))];
const namesSeen = [...new Set(qpsRows.map((x) => x.names!))].sort((a, b) => Number(a) - Number(b));
const ORDER = ['a', 'aaaa', 'nx', 'fwd', 'fwd-cached', 'nx-cached'];
const scens = ORDER.filter((s) => qpsRows.some((x) => x.scenario === s));

const out: string[] = [];
const say = (s = ''): void => void out.push(s);
const env = existsSync(join(res, 'env.txt')) ? readFileSync(join(res, 'env.txt'), 'utf8').trim().split('\n') : [];

say(`# sandns and its peers, one run`);
say();
for (const l of env) say(`- ${l}`);
say();
say('QPS: median of the repetitions (min–max), dnsperf `-c 10 -q 100`, server pinned to one core and dnsperf with the');
say('upstream to the other; "/core" = QPS ÷ the server process\'s share of a core. "ratio" = sandns ÷ peer in this run');
say('(QPS, then /core). A peer runs its default configuration: its fwd/nx figures stand for the -cached rows too.');

for (const n of namesSeen) {
  say();
  say(`## ${Number(n).toLocaleString('en-US')} names`);
  say();
  say(`| scenario | ${OURS} |${peers.map((p) => ` ${p} | ratio |`).join('')}`);
  say(`|---|---|${peers.map(() => '---|---|').join('')}`);
  const cell = (t: Throughput | undefined): string => (t === undefined ? '–' : `${k(t.qps)} (${k(t.min)}–${k(t.max)}; ${k(t.perCore)}/core)`);
  for (const s of scens) {
    const ours = throughput(OURS, n, s);
    const cols = peers.map((p) => {
      const t = throughput(p, n, peerScen(s));
      const ratio = ours && t ? `${f2(ours.qps / t.qps)} (${f2((ours.perCore ?? NaN) / (t.perCore ?? NaN))})` : '–';
      return ` ${cell(t)} | ${ratio} |`;
    });
    if (ours === undefined && cols.every((c) => c.startsWith(' – '))) continue;
    say(`| ${s} | ${cell(ours)} |${cols.join('')}`);
  }
  say();
  const rate = latRows.find((x) => x.names === n)?.rate ?? '2000';
  say(`| p50 / p99 ms at ${rate} QPS | ${[OURS, ...peers].join(' | ')} |`);
  say(`|---|${[OURS, ...peers].map(() => '---').join('|')}|`);
  for (const s of scens) {
    const cells = [OURS, ...peers].map((srv) => ms(latency(srv, n, srv === OURS ? s : peerScen(s))));
    if (cells.every((c) => c === '–')) continue;
    say(`| ${s} | ${cells.join(' | ')} |`);
  }
}

say();
say('| RSS MB | names | start (+2 s) | settled | after the load |');
say('|---|---|---|---|---|');
for (const srv of [OURS, ...peers]) {
  for (const n of namesSeen) {
    const w = ['start', 'settled', 'loaded'].map((x) => rssMB(srv, n, x));
    if (w.every((x) => x === undefined)) continue;
    say(`| ${srv}${srv === 'docker' ? ' (whole dockerd)' : ''} | ${n} | ${w.map(mb).join(' | ')} |`);
  }
}

// ---- targets ----
say();
say('| target | measured | result |');
say('|---|---|---|');
const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'PASS' : '**MISS**');
function vsPeer(name: string, s: string, peer: string, min: number): void {
  const a = throughput(OURS, '1000', s);
  const b = throughput(peer, '1000', peerScen(s));
  if (a === undefined || b === undefined) return;
  const r = a.qps / b.qps;
  say(`| ${name} | sandns ${s} ${k(a.qps)} ÷ ${peer} ${peerScen(s)} ${k(b.qps)} = ${f2(r)} (/core ${f2((a.perCore ?? NaN) / (b.perCore ?? NaN))}) | ${verdict(r >= min)} |`);
}
vsPeer('local A ≥ 1.2× Docker', 'a', 'docker', 1.2);
vsPeer('local A ≥ 1.0× aardvark-dns', 'a', 'aardvark', 1.0);
vsPeer('cached forwarded ≥ 1.0× dnsmasq', 'fwd-cached', 'dnsmasq', 1.0);
vsPeer('cached NXDOMAIN ≥ 1.0× dnsmasq', 'nx-cached', 'dnsmasq', 1.0);
vsPeer('uncached forwarded ≥ 1.0× dnsmasq', 'fwd', 'dnsmasq', 1.0);
const fwdLat = latency(OURS, '1000', 'fwd');
if (fwdLat !== undefined) {
  const peerLat = peers.map((p) => `${p} ${latency(p, '1000', 'fwd')?.p99.toFixed(3) ?? '–'}`).join(', ');
  say(`| uncached forwarded p99 at ${fwdLat.rate} QPS ≤ 0.5 ms | ${fwdLat.p99.toFixed(3)} ms (${peerLat}) | ${verdict(fwdLat.p99 <= 0.5)} |`);
}
const flat = scens
  .map((s) => [s, throughput(OURS, '1000', s), throughput(OURS, '10000', s)] as const)
  .filter((x): x is readonly [string, Throughput, Throughput] => x[1] !== undefined && x[2] !== undefined);
if (flat.length > 0) {
  const ratios = flat.map(([s, a, b]) => [s, b.qps / a.qps] as const);
  const worst = Math.min(...ratios.map(([, r]) => r));
  say(`| 10,000 names within 10 % of 1,000 (QPS 10k ÷ 1k) | ${ratios.map(([s, r]) => `${s} ${f2(r)}`).join(', ')} | ${verdict(worst >= 0.9)} |`);
}
const ourLat = namesSeen.flatMap((n) => scens.map((s) => [`${n} ${s}`, latency(OURS, n, s)] as const)).filter(([, x]) => x !== undefined);
if (ourLat.length > 0) {
  const over = ourLat.filter(([, x]) => x!.p99 > 0.5).map(([s, x]) => `${s} ${x!.p99.toFixed(2)}`);
  say(`| p99 ≤ 0.5 ms at the fixed rate, every scenario | max ${Math.max(...ourLat.map(([, x]) => x!.p99)).toFixed(3)} ms${over.length ? `; over: ${over.join(', ')}` : ''} | ${verdict(over.length === 0)} |`);
}
const rss10 = [rssMB(OURS, '10000', 'settled'), rssMB(OURS, '10000', 'loaded')];
if (rss10[0] !== undefined) {
  say(`| RSS with 10,000 names ≤ 80 MB (settled / after the load) | ${mb(rss10[0])} / ${mb(rss10[1])} MB | ${verdict(Math.max(rss10[0], rss10[1] ?? 0) <= 80)} |`);
}

// ---- how trustworthy this run is ----
const foreign = [...qpsRows, ...latRows].map((x) => Number(x.foreign_pct)).filter(Number.isFinite);
const load = [...qpsRows, ...latRows].map((x) => Number(x.load1)).filter(Number.isFinite);
const lost = qpsRows.filter((x) => x.server === OURS).reduce((a, x) => a + (Number(x.lost) || 0), 0);
say();
if (foreign.length > 0) {
  say(`Machine during the kept runs: foreign load (CPU of processes not the bench's) median ${median(foreign).toFixed(1)} %,`);
  say(`max ${Math.max(...foreign).toFixed(1)} % of a core; 1-minute load average ${Math.min(...load).toFixed(2)}–${Math.max(...load).toFixed(2)}.`);
}
say(`sandns queries lost over all its runs: ${lost}.`);
process.stdout.write(`${out.join('\n')}\n`);
