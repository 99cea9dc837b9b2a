/**
 * The benchmark harness stands alone: nothing in bench/ (or the scripts and
 * docs that run it) points outside the repository, every runner provides what
 * bench/lib.sh calls, every script parses, and the summary divides figures of
 * one run, mapping a peer's one configuration onto both sandns forms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BENCH = join(ROOT, 'bench');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name === 'results' ? [] : e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
const scripts = files(BENCH).filter((f) => f.endsWith('.sh'));

describe('bench harness', () => {
  it('references nothing outside the repository', () => {
    const checked = [...files(BENCH), join(ROOT, 'package.json'), join(ROOT, 'README.md'), join(ROOT, 'scripts', 'setup.sh')];
    const bad = checked.filter((f) => /\.\.\/shared|\/work\/shared|shared\/bench|PEERS_DIR/.test(readFileSync(f, 'utf8')));
    expect(bad).toEqual([]);
  });

  it('has a runner for sandns and each peer, each defining what run_server calls', () => {
    const runners = readdirSync(join(BENCH, 'servers')).filter((f) => f.endsWith('.sh')).map((f) => f.replace(/\.sh$/, ''));
    expect(runners.sort()).toEqual(['aardvark', 'dnsmasq', 'docker', 'sandns', 'unbound']);
    for (const r of runners) {
      const text = readFileSync(join(BENCH, 'servers', `${r}.sh`), 'utf8');
      for (const fn of ['srv_mode', 'srv_start', 'srv_stop']) expect(text, `${r}: ${fn}`).toMatch(new RegExp(`^${fn}\\(\\)`, 'm'));
      expect(text, r).toContain('source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"');
    }
  });

  it('parses every script (bash -n)', () => {
    for (const s of scripts) execFileSync('bash', ['-n', s]);
    expect(scripts.length).toBeGreaterThanOrEqual(10);
  });

  it('npm run bench runs the in-repository harness', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.bench).toBe('bash bench/run.sh');
    expect(readFileSync(join(BENCH, 'run.sh'), 'utf8')).toContain('bash "$HERE/setup.sh" $PEERS');
  });
});

describe('bench summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandns-bench-summary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tsv = (name: string, head: string, rows: string[][]): void =>
    writeFileSync(join(dir, name), [head, ...rows.map((r) => r.join('\t'))].join('\n') + '\n');
  const run = (srv: string, scen: string, rep: number, qps: number, proc = 100): string[] =>
    [srv, '1000', scen, String(rep), String(qps), '1.0', '1000', '0', 'NOERROR1000(100%)', '99', '95', String(proc), '1.0', '0.50'];
  tsv('qps.tsv', 'server\tnames\tscenario\trep\tqps\tavg_ms\tsent\tlost\trcodes\tclient_core_pct\tserver_core_pct\tserver_proc_pct\tforeign_pct\tload1', [
    run('sandns', 'a', 1, 60000), run('sandns', 'a', 2, 66000), run('sandns', 'a', 3, 90000),
    run('sandns', 'fwd', 1, 30000), run('sandns', 'fwd-cached', 1, 50000, 50),
    run('dnsmasq', 'a', 1, 80000), run('dnsmasq', 'fwd', 1, 40000, 80),
    run('docker', 'a', 1, 30000),
  ]);
  tsv('lat.tsv', 'server\tnames\tscenario\trate\tanswered\tlost\tp50_ms\tp99_ms\tp999_ms\tmax_ms\tforeign_pct\tload1', [
    ['sandns', '1000', 'fwd', '2000', '10000', '0', '0.150', '0.700', '1.000', '2.000', '0.5', '0.40'],
    ['dnsmasq', '1000', 'fwd', '2000', '10000', '0', '0.120', '0.600', '0.900', '1.500', '0.5', '0.40'],
  ]);
  tsv('rss.tsv', 'server\tnames\twhen\trss_kb', [['sandns', '1000', 'start', '61440'], ['dnsmasq', '1000', 'start', '5120']]);
  const text = execFileSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(BENCH, 'summary.ts'), dir], { encoding: 'utf8' });
  const row = (scen: string): string => text.split('\n').find((l) => l.startsWith(`| ${scen} |`))!;

  it('divides medians of the same run, peers in a fixed order', () => {
    expect(text).toContain('| scenario | sandns | docker | ratio | dnsmasq | ratio |');
    // sandns a: median of 60k, 66k, 90k = 66k; ÷ docker 30k = 2.20, ÷ dnsmasq 80k = 0.83
    expect(row('a')).toContain('66.0k (60.0k–90.0k; 66.0k/core)');
    expect(row('a')).toContain('| 2.20 (2.20) |');
    expect(row('a')).toContain('| 0.82 (0.82) |');
  });

  it("compares both sandns forwarding forms with the peer's one fwd figure", () => {
    // fwd 30k ÷ 40k, per core 30k ÷ 50k; fwd-cached 50k ÷ 40k, per core 100k ÷ 50k
    expect(row('fwd')).toContain('| 0.75 (0.60) |');
    expect(row('fwd-cached')).toContain('| 1.25 (2.00) |');
    expect(text).toMatch(/\| cached forwarded ≥ 1\.0× dnsmasq \| .* = 1\.25 .*\| PASS \|/);
    expect(text).toMatch(/\| uncached forwarded ≥ 1\.0× dnsmasq \| .* = 0\.75 .*\| \*\*MISS\*\* \|/);
    expect(text).toMatch(/uncached forwarded p99 at 2000 QPS ≤ 0\.5 ms \| 0\.700 ms \(docker –, dnsmasq 0\.600\) \| \*\*MISS\*\*/);
  });

  it('reports RSS and the load the machine carried', () => {
    expect(text).toContain('| sandns | 1000 | 60.0 | – | – |');
    expect(text).toContain('foreign load (CPU of processes not the bench\'s) median 1.0 %');
  });
});
