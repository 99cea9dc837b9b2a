/**
 * R16 per-sandbox counters and a latency histogram, kept as plain typed arrays
 * so counting costs a few adds per query; rendered as Prometheus text
 * exposition format 0.0.4 on demand.
 *
 * Every label value comes from a fixed set (FS9, docs/behaviour.md): a
 * client controls the qtype it asks and, through its upstreams, the rcodes it
 * gets, so types and rcodes outside METRIC_QTYPES / METRIC_RCODES count as
 * `other`, and upstream servers past MAX_SERVER_LABELS per sandbox count as
 * `other` too. A scrape stays the same size whatever the queries.
 */
import dnsTypes from 'dns-packet/types.js';
import dnsRcodes from 'dns-packet/rcodes.js';
import { RCODE } from './constants.js';

/** How a query ended (R16). */
export const OUTCOMES = ['local', 'nodata', 'forwarded', 'cached', 'error', 'dropped'] as const;
/** How a query ended: answered locally, local NODATA, relayed, from cache, error rcode, or dropped. */
export type Outcome = (typeof OUTCOMES)[number];

/** Histogram upper bounds in seconds (Prometheus `le`), from 50 µs to 5 s. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

/**
 * Forwarding events counted per sandbox (R13, R14, R16): cache hits and
 * misses, queries that waited for an identical one in flight, cached replies
 * too large for the asking client (sent truncated, TC set), queries refused
 * by the in-flight cap, followers refused by the coalescing count bounds, and
 * queries sent upstream on their own past the followers' byte bound.
 */
export const FORWARDING_EVENTS = ['cache_hit', 'cache_miss', 'coalesced', 'cache_truncated', 'inflight_refused', 'coalesce_refused', 'coalesce_bypassed'] as const;
/** One forwarding event (see FORWARDING_EVENTS). */
export type ForwardingEvent = (typeof FORWARDING_EVENTS)[number];

/** Query types with their own `qtype` label value; any other counts as `other`. */
export const METRIC_QTYPES: readonly number[] = [
  1, 2, 5, 6, 12, 13, 15, 16, 28, 33, 35, 39, 41, 43, 46, 47, 48, 50, 51, 52, 59, 60, 64, 65, 99, 251, 252, 255, 257,
];
/** Rcodes with their own `rcode` label value (RFC 6895 §2.3 0–10, BADVERS 16); any other counts as `other`. */
export const METRIC_RCODES: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16];
/** Distinct upstream `server` label values per sandbox; later ones count as `other`. */
export const MAX_SERVER_LABELS = 32;

// Slot 0 is `other`; a known value's slot is its index + 1. Tables cover every 16-bit qtype and 12-bit rcode.
const QTYPE_SLOT = slotTable(65536, METRIC_QTYPES);
const RCODE_SLOT = slotTable(4096, METRIC_RCODES);

function slotTable(size: number, known: readonly number[]): Uint8Array {
  const t = new Uint8Array(size);
  known.forEach((v, i) => (t[v] = i + 1));
  return t;
}

const OUTCOME_INDEX: Readonly<Record<Outcome, number>> = {
  local: 0,
  nodata: 1,
  forwarded: 2,
  cached: 3,
  error: 4,
  dropped: 5,
};

/** A plain copy of one sandbox's counters (for tests, the CLI and rendering). */
export interface MetricsSnapshot {
  readonly sandbox: string;
  /** Accepted queries by type mnemonic. */
  readonly queries: Readonly<Record<string, number>>;
  /** Replies sent by rcode mnemonic. */
  readonly rcodes: Readonly<Record<string, number>>;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** Cumulative counts per bucket bound, plus +Inf = count. */
  readonly latency: { readonly buckets: readonly number[]; readonly sum: number; readonly count: number };
  /** Upstream failures by `address:port` (filled by the forwarder). */
  readonly upstreamErrors: Readonly<Record<string, number>>;
  /** Upstream failures by server and reason, keyed `address:port reason` (timeout, network, servfail ...). */
  readonly upstreamFailures: Readonly<Record<string, number>>;
  /** Exchanges sent by server `address:port`. */
  readonly upstreamQueries: Readonly<Record<string, number>>;
  /** Forwarding events (cache hits, misses, coalesced, refused by the cap). */
  readonly forwarding: Readonly<Record<ForwardingEvent, number>>;
}

/** One resolver's counters. */
export class ResolverMetrics {
  readonly sandbox: string;
  // One slot per known value plus `other` (slot 0): ~0.5 KiB per sandbox, whatever is asked.
  readonly #qtypes = new Float64Array(METRIC_QTYPES.length + 1);
  readonly #rcodes = new Float64Array(METRIC_RCODES.length + 1);
  readonly #outcomes = new Float64Array(OUTCOMES.length);
  readonly #buckets = new Float64Array(LATENCY_BUCKETS.length);
  #sum = 0;
  #count = 0;
  readonly #upstreamErrors = new Map<string, number>();
  readonly #upstreamFailures = new Map<string, number>();
  readonly #upstreamQueries = new Map<string, number>();
  readonly #forwarding = new Float64Array(FORWARDING_EVENTS.length);

  constructor(sandbox: string) {
    this.sandbox = sandbox;
  }

  /**
   * Count one finished query: `qtype` -1 when it was never accepted, `rcode`
   * -1 when nothing was sent; `seconds` from receipt to reply.
   */
  observe(qtype: number, rcode: number, outcome: Outcome, seconds: number): void {
    if (qtype >= 0) this.#qtypes[QTYPE_SLOT[qtype & 0xffff]!]!++;
    if (rcode >= 0) this.#rcodes[RCODE_SLOT[rcode & 0xfff]!]!++;
    this.#outcomes[OUTCOME_INDEX[outcome]]!++;
    this.#sum += seconds;
    this.#count++;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    if (i < LATENCY_BUCKETS.length) this.#buckets[i]!++;
  }

  /** Count one failed exchange with an upstream (`address:port`) and, when given, why (R16). */
  upstreamError(server: string, reason?: string): void {
    const label = this.#serverLabel(server);
    bump(this.#upstreamErrors, label);
    if (reason !== undefined) bump(this.#upstreamFailures, `${label} ${reason}`);
  }

  /** Count one exchange sent to an upstream (`address:port`), for error ratios (R16). */
  upstreamQuery(server: string): void {
    bump(this.#upstreamQueries, this.#serverLabel(server));
  }

  // A server's label, or `other` once MAX_SERVER_LABELS servers have one (upstream lists change over a sandbox's life).
  #serverLabel(server: string): string {
    if (this.#upstreamQueries.has(server) || this.#upstreamErrors.has(server)) return server;
    return this.#upstreamQueries.size >= MAX_SERVER_LABELS || this.#upstreamErrors.size >= MAX_SERVER_LABELS ? 'other' : server;
  }

  /** Count one forwarding event (R13, R14). */
  countForwarding(event: ForwardingEvent): void {
    this.#forwarding[FORWARDING_INDEX[event]]!++;
  }

  /** A plain copy of the counters. */
  snapshot(): MetricsSnapshot {
    const cumulative: number[] = [];
    let acc = 0;
    for (const n of this.#buckets) cumulative.push((acc += n));
    const outcomes = {} as Record<Outcome, number>;
    OUTCOMES.forEach((o, i) => (outcomes[o] = this.#outcomes[i]!));
    return {
      sandbox: this.sandbox,
      queries: named(this.#qtypes, METRIC_QTYPES, typeName),
      rcodes: named(this.#rcodes, METRIC_RCODES, rcodeName),
      outcomes,
      latency: { buckets: cumulative, sum: this.#sum, count: this.#count },
      upstreamErrors: Object.fromEntries(this.#upstreamErrors),
      upstreamFailures: Object.fromEntries(this.#upstreamFailures),
      upstreamQueries: Object.fromEntries(this.#upstreamQueries),
      forwarding: Object.fromEntries(FORWARDING_EVENTS.map((e, i) => [e, this.#forwarding[i]!])) as Record<ForwardingEvent, number>,
    };
  }
}

/** Prometheus text exposition of several resolvers' counters, labelled `sandbox="…"`. */
export function renderPrometheus(list: readonly ResolverMetrics[]): string {
  const snaps = list.map((m) => m.snapshot());
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: (s: MetricsSnapshot) => string[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of snaps) out.push(...lines(s));
  };
  const counter = (s: MetricsSnapshot, name: string, label: string, values: Readonly<Record<string, number>>): string[] =>
    Object.entries(values).map(([k, v]) => `${name}{sandbox="${esc(s.sandbox)}",${label}="${esc(k)}"} ${num(v)}`);
  family('sandns_resolver_queries_total', 'counter', 'Accepted DNS queries by query type.', (s) =>
    counter(s, 'sandns_resolver_queries_total', 'qtype', s.queries));
  family('sandns_resolver_responses_total', 'counter', 'DNS replies sent by rcode.', (s) =>
    counter(s, 'sandns_resolver_responses_total', 'rcode', s.rcodes));
  family('sandns_resolver_outcomes_total', 'counter', 'Queries by outcome (local, nodata, forwarded, cached, error, dropped).', (s) =>
    counter(s, 'sandns_resolver_outcomes_total', 'outcome', s.outcomes));
  family('sandns_resolver_upstream_errors_total', 'counter', 'Failed upstream exchanges by server.', (s) =>
    counter(s, 'sandns_resolver_upstream_errors_total', 'server', s.upstreamErrors));
  family('sandns_resolver_upstream_failures_total', 'counter', 'Failed upstream exchanges by server and reason.', (s) =>
    Object.entries(s.upstreamFailures).map(([k, v]) => {
      const cut = k.lastIndexOf(' ');
      const l = `sandbox="${esc(s.sandbox)}",server="${esc(k.slice(0, cut))}",reason="${esc(k.slice(cut + 1))}"`;
      return `sandns_resolver_upstream_failures_total{${l}} ${num(v)}`;
    }));
  family('sandns_resolver_upstream_queries_total', 'counter', 'Exchanges sent to upstream servers by server.', (s) =>
    counter(s, 'sandns_resolver_upstream_queries_total', 'server', s.upstreamQueries));
  family('sandns_resolver_forwarding_events_total', 'counter', 'Cache hits and misses, coalesced queries, oversize cache entries, refusals by the in-flight cap.', (s) =>
    counter(s, 'sandns_resolver_forwarding_events_total', 'event', s.forwarding));
  const h = 'sandns_resolver_query_duration_seconds';
  family(h, 'histogram', 'Time from receiving a query to its reply.', (s) => {
    const l = `sandbox="${esc(s.sandbox)}"`;
    const rows = LATENCY_BUCKETS.map((le, i) => `${h}_bucket{${l},le="${le}"} ${num(s.latency.buckets[i]!)}`);
    rows.push(`${h}_bucket{${l},le="+Inf"} ${num(s.latency.count)}`);
    rows.push(`${h}_sum{${l}} ${num(s.latency.sum)}`, `${h}_count{${l}} ${num(s.latency.count)}`);
    return rows;
  });
  return `${out.join('\n')}\n`;
}

/** Mnemonic of a qtype (dns-packet's table; `TYPE<n>` per RFC 3597 §5 when unnamed). */
export function typeName(qtype: number): string {
  const s = dnsTypes.toString(qtype);
  return s.startsWith('UNKNOWN_') ? `TYPE${qtype}` : s;
}

/** Mnemonic of an (extended) rcode. */
export function rcodeName(rcode: number): string {
  return rcode === RCODE.BADVERS ? 'BADVERS' : dnsRcodes.toString(rcode);
}

const FORWARDING_INDEX = Object.fromEntries(FORWARDING_EVENTS.map((e, i) => [e, i])) as Record<ForwardingEvent, number>;

// Slot counts → { mnemonic: count }, slot 0 as `other`; zero counts left out.
function named(slots: Float64Array, known: readonly number[], name: (v: number) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 1; i < slots.length; i++) if (slots[i] !== 0) out[name(known[i - 1]!)] = slots[i]!;
  if (slots[0] !== 0) out.other = slots[0]!;
  return out;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

// Label values escape backslash, double quote and newline (exposition format).
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}
