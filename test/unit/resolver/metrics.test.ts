import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS, MAX_SERVER_LABELS, METRIC_QTYPES, METRIC_RCODES, renderPrometheus, ResolverMetrics, typeName, rcodeName } from '../../../resolver/metrics.js';

// Text exposition format 0.0.4: comments, or `name{label="value",...} number`.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+)$/;
const COMMENT = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/;

function parse(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  expect(text.endsWith('\n')).toBe(true);
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const typed = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const c = COMMENT.exec(line);
    if (c !== null) {
      if (c[1] === 'TYPE') {
        expect(typed.has(c[2]!)).toBe(false); // one TYPE per family
        typed.add(c[2]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    expect(m, `bad line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const [, k, v] of m![2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k!] = v!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const value = m![3] === '+Inf' ? Infinity : Number(m![3]);
    expect(Number.isNaN(value)).toBe(false);
    samples.push({ name: m![1]!, labels, value });
  }
  return samples;
}

describe('metrics (R16)', () => {
  it('R16 counts queries by type, replies by rcode, outcomes, and a latency histogram', () => {
    const m = new ResolverMetrics('sb1');
    m.observe(1, 0, 'local', 0.00004);
    m.observe(28, 0, 'nodata', 0.0002);
    m.observe(65, 2, 'error', 0.3);
    m.observe(-1, 1, 'error', 0.00001);
    m.observe(-1, -1, 'dropped', 7);
    m.upstreamError('9.9.9.9:53');
    const s = m.snapshot();
    expect(s.queries).toEqual({ A: 1, AAAA: 1, TYPE65: 1 });
    expect(s.rcodes).toEqual({ NOERROR: 2, FORMERR: 1, SERVFAIL: 1 });
    expect(s.outcomes).toEqual({ local: 1, nodata: 1, forwarded: 0, cached: 0, error: 2, dropped: 1 });
    expect(s.latency.count).toBe(5);
    expect(s.latency.buckets[0]).toBe(2); // ≤ 50 µs
    expect(s.latency.buckets.at(-1)).toBe(4); // ≤ 5 s; the 7 s one only in +Inf
    expect(s.upstreamErrors).toEqual({ '9.9.9.9:53': 1 });
  });

  it('R16 renderPrometheus is valid text exposition with a sandbox label per resolver', () => {
    const a = new ResolverMetrics('sb-a');
    const b = new ResolverMetrics('we"ird\\sb\nx');
    a.observe(1, 0, 'local', 0.0001);
    a.observe(1, 3, 'forwarded', 0.02);
    b.observe(33, 0, 'local', 0.001);
    b.upstreamError('[fd00::1]:53');
    const samples = parse(renderPrometheus([a, b]));
    const get = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(get('sandns_resolver_queries_total', { sandbox: 'sb-a', qtype: 'A' })).toBe(2);
    expect(get('sandns_resolver_queries_total', { sandbox: 'we"ird\\sb\nx', qtype: 'SRV' })).toBe(1);
    expect(get('sandns_resolver_responses_total', { sandbox: 'sb-a', rcode: 'NXDOMAIN' })).toBe(1);
    expect(get('sandns_resolver_outcomes_total', { sandbox: 'sb-a', outcome: 'forwarded' })).toBe(1);
    expect(get('sandns_resolver_upstream_errors_total', { server: '[fd00::1]:53' })).toBe(1);
    const buckets = samples.filter((s) => s.name === 'sandns_resolver_query_duration_seconds_bucket' && s.labels.sandbox === 'sb-a');
    expect(buckets.map((s) => s.labels.le)).toEqual([...LATENCY_BUCKETS.map(String), '+Inf']);
    const values = buckets.map((s) => s.value);
    expect(values).toEqual([...values].sort((x, y) => x - y)); // cumulative
    expect(values.at(-1)).toBe(get('sandns_resolver_query_duration_seconds_count', { sandbox: 'sb-a' }));
    expect(get('sandns_resolver_query_duration_seconds_sum', { sandbox: 'sb-a' })).toBeCloseTo(0.0201, 9);
  });

  it('R16 an empty list still renders the HELP/TYPE lines only', () => {
    const text = renderPrometheus([]);
    expect(parse(text)).toEqual([]);
    expect(text).toContain('# TYPE sandns_resolver_query_duration_seconds histogram');
  });

  it.each([
    [1, 'A'],
    [28, 'AAAA'],
    [33, 'SRV'],
    [65, 'TYPE65'],
  ] as const)('R16 qtype %i is named %s', (n, name) => {
    expect(typeName(n)).toBe(name);
  });

  it.each([
    [0, 'NOERROR'],
    [2, 'SERVFAIL'],
    [16, 'BADVERS'],
  ] as const)('R16 rcode %i is named %s', (n, name) => {
    expect(rcodeName(n)).toBe(name);
  });
});

describe('FS9 every client-controlled label value comes from a fixed set', () => {
  it('FS9 a sandbox asking all 65,536 qtypes makes at most one series per known type plus `other`', () => {
    const m = new ResolverMetrics('sb1');
    for (let t = 0; t < 65536; t++) m.observe(t, t & 0xfff, 'forwarded', 0.001);
    const s = m.snapshot();
    expect(Object.keys(s.queries).length).toBeLessThanOrEqual(METRIC_QTYPES.length + 1);
    expect(s.queries.other).toBe(65536 - METRIC_QTYPES.length);
    expect(s.queries.A).toBe(1);
    expect(Object.keys(s.rcodes).length).toBeLessThanOrEqual(METRIC_RCODES.length + 1);
    expect(Object.values(s.queries).reduce((a, b) => a + b, 0)).toBe(65536);
    const text = renderPrometheus([m]);
    expect(text.length).toBeLessThan(8 * 1024); // the issue saw 5.2 MB per scrape
  });

  it('FS9 upstream servers past MAX_SERVER_LABELS count as `other`; failure reasons are a fixed set', () => {
    const m = new ResolverMetrics('sb1');
    for (let i = 0; i < 200; i++) {
      m.upstreamQuery(`10.0.${i >> 8}.${i & 255}:53`);
      m.upstreamError(`10.0.${i >> 8}.${i & 255}:53`, 'timeout');
    }
    const s = m.snapshot();
    expect(Object.keys(s.upstreamQueries).length).toBe(MAX_SERVER_LABELS + 1);
    expect(s.upstreamQueries.other).toBe(200 - MAX_SERVER_LABELS);
    expect(Object.keys(s.upstreamErrors).length).toBe(MAX_SERVER_LABELS + 1);
    expect(s.upstreamFailures['other timeout']).toBe(200 - MAX_SERVER_LABELS);
  });
});
