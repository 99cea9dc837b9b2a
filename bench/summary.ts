/**
 * `npm run bench` summary: reads RES/{runs,latency,rss,rss-settled,rss-loaded}.tsv
 * (shared/bench/lib.sh formats) and prints markdown: QPS per scenario and
 * server with sandns ÷ peer ratios, latency at the fixed rate, RSS, and the
 * issue-3 targets with PASS/MISS. Every ratio is against figures from the
 * same RES (the same run of bench/run.sh), never against RESULTS.md.
 *
 *   node dist-bench/bench/summary.js RES_DIR
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const res = process.argv[2] ?? 'bench/results';
const rows = (file: string): string[][] =>
  existsSync(join(res, file)) ? readFileSync(join(res, file), 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\t')) : [];

const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

interface Perf {
  readonly qps: number;
  readonly min: number;
  readonly max: number;
  readonly perCore: number | undefined;
  readonly serverCpu: number;
  readonly clientCpu: number;
  readonly lost: number;
  readonly rcode: string;
  readonly n: number;
}
const runs = rows('runs.tsv');
function perf(label: string, scen: string): Perf | undefined {
  const r = runs.filter((x) => x[0] === label && x[1] === scen);
  if (r.length === 0) return undefined;
  const qps = r.map((x) => Number(x[3]));
  const srv = median(r.map((x) => Number(x[10])))!;
  const q = median(qps)!;
  return {
    qps: q, min: Math.min(...qps), max: Math.max(...qps), n: r.length,
    perCore: srv > 0 ? (q * 100) / srv : undefined, serverCpu: srv, clientCpu: median(r.map((x) => Number(x[8])))!,
    lost: r.reduce((a, x) => a + (Number(x[5]) || 0), 0), rcode: (r[0]![7] ?? '').replace(/[0-9(].*/, ''),
  };
}
const lat = rows('latency.tsv');
function latency(label: string, scen: string): { p50: number; p99: number } | undefined {
  const r = lat.filter((x) => x[0] === label && x[1] === scen).at(-1);
  return r === undefined || r[5] === 'NA' ? undefined : { p50: Number(r[5]), p99: Number(r[6]) };
}
const rssOf = (file: string, label: string, n: number): number | undefined => {
  const r = rows(file).filter((x) => x[0] === label && Number(x[1]) === n).at(-1);
  return r === undefined ? undefined : Number(r[2]) / 1024;
};

const k = (x: number | undefined): string => (x === undefined ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)}k` : `${Math.round(x)}`);
const f2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const mb = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));
const out: string[] = [];
const say = (s = ''): void => void out.push(s);

const env = existsSync(join(res, 'env.txt')) ? readFileSync(join(res, 'env.txt'), 'utf8').trim().split('\n') : [];
say(`# sandns vs peers, one run (${env[0] ?? 'date unknown'})`);
say();
say(`Results: \`${res}\`. QPS = median of the repetitions (min–max), dnsperf \`-c 10 -q 100\`, server pinned to core 1,`);
say('dnsperf to core 0; "/core" = QPS ÷ the server\'s CPU share (an extrapolation: dnsmasq and unbound are client-bound).');
say('Ratios are sandns ÷ peer from this same run. sandns `fwd-cached`/`nx-cached` compare with the peers\' `fwd`/`nx`');
say('(dnsmasq: mostly forwarded / local NXDOMAIN; aardvark, docker: forwarded every time).');
say();

// ---- QPS table ----
const peers = ['docker', 'aardvark', 'dnsmasq', 'unbound'].filter((p) => runs.some((x) => x[0] === p));
const scens = ['a', 'aaaa', 'nx', 'fwd', 'fwd-cached', 'nx-cached'];
const peerScen = (s: string): string => s.replace('-cached', '');
say(`| scenario | sandns 1k | sandns 10k | 10k ÷ 1k |${peers.map((p) => ` ${p} | sandns ÷ ${p} |`).join('')}`);
say(`|---|---|---|---|${peers.map(() => '---|---|').join('')}`);
for (const s of scens) {
  const a = perf('sandns', s);
  const b = perf('sandns-10000', s);
  if (a === undefined && b === undefined) continue;
  const cell = (p: Perf | undefined): string => (p === undefined ? '–' : `${k(p.qps)} (${k(p.min)}–${k(p.max)}; ${k(p.perCore)}/core)`);
  const cols = peers.map((p) => {
    const x = perf(p, peerScen(s));
    return `${cell(x)} | ${x && a ? `${f2(a.qps / x.qps)} (/core ${f2((a.perCore ?? NaN) / (x.perCore ?? NaN))})` : '–'}`;
  });
  say(`| ${s} | ${cell(a)} | ${cell(b)} | ${a && b ? f2(b.qps / a.qps) : '–'} |${cols.map((c) => ` ${c} |`).join('')}`);
}
const a10 = ['a', 'nx'].map((s) => [s, perf('aardvark-10000', s)] as const).filter(([, p]) => p !== undefined);
if (a10.length > 0) say(`\naardvark with 10,000 names: ${a10.map(([s, p]) => `${s} ${k(p!.qps)}`).join(', ')} (sandns-10000: ${a10.map(([s]) => `${s} ${k(perf('sandns-10000', s)?.qps)}`).join(', ')}).`);
say();

// ---- latency ----
const latLabels = ['sandns', 'sandns-10000', ...peers];
say(`| p50 / p99 ms @ ${lat[0]?.[2] ?? 2000} qps | ${latLabels.join(' | ')} |`);
say(`|---|${latLabels.map(() => '---').join('|')}|`);
for (const s of scens) {
  const cells = latLabels.map((l) => {
    const x = latency(l, l.startsWith('sandns') ? s : peerScen(s));
    return x === undefined || (!l.startsWith('sandns') && s.endsWith('-cached')) ? '–' : `${x.p50.toFixed(3)} / ${x.p99.toFixed(3)}`;
  });
  if (cells.every((c) => c === '–')) continue;
  say(`| ${s} | ${cells.join(' | ')} |`);
}
say();

// ---- RSS ----
say('| RSS MB | 1,000 names | 10,000 names |');
say('|---|---|---|');
say(`| sandns, 2 s after start (as the peers) | ${mb(rssOf('rss.tsv', 'sandns', 1000))} | ${mb(rssOf('rss.tsv', 'sandns-10000', 10000))} |`);
say(`| sandns, settled (idle until V8's memory reducer ran, ≤ ${process.env.RSS_SETTLE ?? 40} s) | ${mb(rssOf('rss-settled.tsv', 'sandns', 1000))} | ${mb(rssOf('rss-settled.tsv', 'sandns-10000', 10000))} |`);
say(`| sandns, after the a/aaaa/cached runs | ${mb(rssOf('rss-loaded.tsv', 'sandns', 1000))} | ${mb(rssOf('rss-loaded.tsv', 'sandns-10000', 10000))} |`);
for (const p of peers) say(`| ${p}${p === 'docker' ? ' (whole dockerd)' : ''} | ${mb(rssOf('rss.tsv', p, 1000))} | ${mb(rssOf('rss.tsv', p, 10000))} |`);
say();

// ---- targets ----
say('| target (issue 3) | measured | ratio | result |');
say('|---|---|---|---|');
const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'PASS' : '**MISS**');
function vsPeer(name: string, s: string, peer: string, ps: string, min: number): void {
  const a = perf('sandns', s);
  const b = perf(peer, ps);
  const r = a && b ? a.qps / b.qps : undefined;
  const rc = a && b && a.perCore && b.perCore ? a.perCore / b.perCore : undefined;
  say(`| ${name} | sandns ${s} ${k(a?.qps)} vs ${peer} ${ps} ${k(b?.qps)} (/core ${k(a?.perCore)} vs ${k(b?.perCore)}) | ${f2(r)} (/core ${f2(rc)}) | ${verdict(r === undefined ? undefined : r >= min)} |`);
}
vsPeer('local A ≥ 1.2× Docker', 'a', 'docker', 'a', 1.2);
vsPeer('local A ≥ 1.0× aardvark-dns', 'a', 'aardvark', 'a', 1.0);
vsPeer('cached forwarded ≥ 1.0× dnsmasq', 'fwd-cached', 'dnsmasq', 'fwd', 1.0);
vsPeer('cached NXDOMAIN ≥ 1.0× dnsmasq', 'nx-cached', 'dnsmasq', 'nx', 1.0);
const flat = scens.map((s) => [s, perf('sandns', s), perf('sandns-10000', s)] as const).filter(([, a, b]) => a && b);
// "Stay flat": a 10k run slower than the 1k run by more than 10 % misses; a faster one is run-to-run noise.
const worst = flat.reduce<[string, number] | undefined>((w, [s, a, b]) => {
  const r = b!.qps / a!.qps;
  return w === undefined || r < w[1] ? [s, r] : w;
}, undefined);
say(`| 10,000 names within 10 % of 1,000 (every scenario, QPS 10k ÷ 1k) | ${flat.map(([s, a, b]) => `${s} ${f2(b!.qps / a!.qps)}`).join(', ')} | lowest ${worst ? `${worst[0]} ${f2(worst[1])}` : '–'} | ${verdict(worst === undefined ? undefined : worst[1] >= 0.9)} |`);
const p99s = ['sandns', 'sandns-10000'].flatMap((l) => scens.map((s) => [`${l === 'sandns' ? '1k' : '10k'} ${s}`, latency(l, s)] as const)).filter(([, x]) => x);
const p99max = p99s.reduce((m, [, x]) => Math.max(m, x!.p99), 0);
const over = p99s.filter(([, x]) => x!.p99 > 0.5).map(([s, x]) => `${s} ${x!.p99.toFixed(2)}`);
say(`| p99 at 2,000 QPS ≤ 0.5 ms (every scenario) | max ${p99max.toFixed(3)} ms${over.length ? `; over: ${over.join(', ')}` : ''} | – | ${verdict(p99s.length ? over.length === 0 : undefined)} |`);
const rss10 = [rssOf('rss-settled.tsv', 'sandns-10000', 10000), rssOf('rss-loaded.tsv', 'sandns-10000', 10000)];
const rss10start = rssOf('rss.tsv', 'sandns-10000', 10000);
say(`| RSS with 10,000 records ≤ 80 MB (settled idle / after load) | ${mb(rss10[0])} / ${mb(rss10[1])} MB (2 s after start: ${mb(rss10start)}) | – | ${verdict(rss10[0] === undefined ? undefined : Math.max(rss10[0], rss10[1] ?? 0) <= 80)} |`);
const lost = ['sandns', 'sandns-10000'].flatMap((l) => scens.map((s) => perf(l, s))).reduce((a, p) => a + (p?.lost ?? 0), 0);
say();
say(`sandns queries lost over all its runs: ${lost}.`);
process.stdout.write(`${out.join('\n')}\n`);
