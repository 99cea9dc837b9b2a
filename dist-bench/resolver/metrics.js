/**
 * R16 per-sandbox counters and a latency histogram, kept as plain typed arrays
 * so counting costs a few adds per query; rendered as Prometheus text
 * exposition format 0.0.4 on demand.
 */
import dnsTypes from 'dns-packet/types.js';
import dnsRcodes from 'dns-packet/rcodes.js';
import { RCODE } from './constants.js';
/** How a query ended (R16). */
export const OUTCOMES = ['local', 'nodata', 'forwarded', 'cached', 'error', 'dropped'];
/** Histogram upper bounds in seconds (Prometheus `le`), from 50 µs to 5 s. */
export const LATENCY_BUCKETS = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/**
 * Forwarding events counted per sandbox (R13, R14, R16): cache hits and
 * misses, queries that waited for an identical one in flight, cached replies
 * too large for the asking client (forwarded instead), and queries refused
 * by the in-flight cap.
 */
export const FORWARDING_EVENTS = ['cache_hit', 'cache_miss', 'coalesced', 'cache_oversize', 'inflight_refused'];
const OUTCOME_INDEX = {
    local: 0,
    nodata: 1,
    forwarded: 2,
    cached: 3,
    error: 4,
    dropped: 5,
};
/** One resolver's counters. */
export class ResolverMetrics {
    sandbox;
    // Dense arrays for the common range, maps for the rare rest: ~2 KiB per sandbox.
    #qtypes = new Float64Array(256);
    #qtypesHigh = new Map();
    #rcodes = new Float64Array(32);
    #rcodesHigh = new Map();
    #outcomes = new Float64Array(OUTCOMES.length);
    #buckets = new Float64Array(LATENCY_BUCKETS.length);
    #sum = 0;
    #count = 0;
    #upstreamErrors = new Map();
    #upstreamFailures = new Map();
    #upstreamQueries = new Map();
    #forwarding = new Float64Array(FORWARDING_EVENTS.length);
    constructor(sandbox) {
        this.sandbox = sandbox;
    }
    /**
     * Count one finished query: `qtype` -1 when it was never accepted, `rcode`
     * -1 when nothing was sent; `seconds` from receipt to reply.
     */
    observe(qtype, rcode, outcome, seconds) {
        if (qtype >= 0) {
            if (qtype < 256)
                this.#qtypes[qtype]++;
            else
                bump(this.#qtypesHigh, qtype);
        }
        if (rcode >= 0) {
            if (rcode < 32)
                this.#rcodes[rcode]++;
            else
                bump(this.#rcodesHigh, rcode);
        }
        this.#outcomes[OUTCOME_INDEX[outcome]]++;
        this.#sum += seconds;
        this.#count++;
        let i = 0;
        while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i])
            i++;
        if (i < LATENCY_BUCKETS.length)
            this.#buckets[i]++;
    }
    /** Count one failed exchange with an upstream (`address:port`) and, when given, why (R16). */
    upstreamError(server, reason) {
        bump(this.#upstreamErrors, server);
        if (reason !== undefined)
            bump(this.#upstreamFailures, `${server} ${reason}`);
    }
    /** Count one exchange sent to an upstream (`address:port`), for error ratios (R16). */
    upstreamQuery(server) {
        bump(this.#upstreamQueries, server);
    }
    /** Count one forwarding event (R13, R14). */
    countForwarding(event) {
        this.#forwarding[FORWARDING_INDEX[event]]++;
    }
    /** A plain copy of the counters. */
    snapshot() {
        const cumulative = [];
        let acc = 0;
        for (const n of this.#buckets)
            cumulative.push((acc += n));
        const outcomes = {};
        OUTCOMES.forEach((o, i) => (outcomes[o] = this.#outcomes[i]));
        return {
            sandbox: this.sandbox,
            queries: named(this.#qtypes, this.#qtypesHigh, typeName),
            rcodes: named(this.#rcodes, this.#rcodesHigh, rcodeName),
            outcomes,
            latency: { buckets: cumulative, sum: this.#sum, count: this.#count },
            upstreamErrors: Object.fromEntries(this.#upstreamErrors),
            upstreamFailures: Object.fromEntries(this.#upstreamFailures),
            upstreamQueries: Object.fromEntries(this.#upstreamQueries),
            forwarding: Object.fromEntries(FORWARDING_EVENTS.map((e, i) => [e, this.#forwarding[i]])),
        };
    }
}
/** Prometheus text exposition of several resolvers' counters, labelled `sandbox="…"`. */
export function renderPrometheus(list) {
    const snaps = list.map((m) => m.snapshot());
    const out = [];
    const family = (name, type, help, lines) => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
        for (const s of snaps)
            out.push(...lines(s));
    };
    const counter = (s, name, label, values) => Object.entries(values).map(([k, v]) => `${name}{sandbox="${esc(s.sandbox)}",${label}="${esc(k)}"} ${num(v)}`);
    family('sandns_resolver_queries_total', 'counter', 'Accepted DNS queries by query type.', (s) => counter(s, 'sandns_resolver_queries_total', 'qtype', s.queries));
    family('sandns_resolver_responses_total', 'counter', 'DNS replies sent by rcode.', (s) => counter(s, 'sandns_resolver_responses_total', 'rcode', s.rcodes));
    family('sandns_resolver_outcomes_total', 'counter', 'Queries by outcome (local, nodata, forwarded, cached, error, dropped).', (s) => counter(s, 'sandns_resolver_outcomes_total', 'outcome', s.outcomes));
    family('sandns_resolver_upstream_errors_total', 'counter', 'Failed upstream exchanges by server.', (s) => counter(s, 'sandns_resolver_upstream_errors_total', 'server', s.upstreamErrors));
    family('sandns_resolver_upstream_failures_total', 'counter', 'Failed upstream exchanges by server and reason.', (s) => Object.entries(s.upstreamFailures).map(([k, v]) => {
        const cut = k.lastIndexOf(' ');
        const l = `sandbox="${esc(s.sandbox)}",server="${esc(k.slice(0, cut))}",reason="${esc(k.slice(cut + 1))}"`;
        return `sandns_resolver_upstream_failures_total{${l}} ${num(v)}`;
    }));
    family('sandns_resolver_upstream_queries_total', 'counter', 'Exchanges sent to upstream servers by server.', (s) => counter(s, 'sandns_resolver_upstream_queries_total', 'server', s.upstreamQueries));
    family('sandns_resolver_forwarding_events_total', 'counter', 'Cache hits and misses, coalesced queries, oversize cache entries, refusals by the in-flight cap.', (s) => counter(s, 'sandns_resolver_forwarding_events_total', 'event', s.forwarding));
    const h = 'sandns_resolver_query_duration_seconds';
    family(h, 'histogram', 'Time from receiving a query to its reply.', (s) => {
        const l = `sandbox="${esc(s.sandbox)}"`;
        const rows = LATENCY_BUCKETS.map((le, i) => `${h}_bucket{${l},le="${le}"} ${num(s.latency.buckets[i])}`);
        rows.push(`${h}_bucket{${l},le="+Inf"} ${num(s.latency.count)}`);
        rows.push(`${h}_sum{${l}} ${num(s.latency.sum)}`, `${h}_count{${l}} ${num(s.latency.count)}`);
        return rows;
    });
    return `${out.join('\n')}\n`;
}
/** Mnemonic of a qtype (dns-packet's table; `TYPE<n>` per RFC 3597 §5 when unnamed). */
export function typeName(qtype) {
    const s = dnsTypes.toString(qtype);
    return s.startsWith('UNKNOWN_') ? `TYPE${qtype}` : s;
}
/** Mnemonic of an (extended) rcode. */
export function rcodeName(rcode) {
    return rcode === RCODE.BADVERS ? 'BADVERS' : dnsRcodes.toString(rcode);
}
const FORWARDING_INDEX = Object.fromEntries(FORWARDING_EVENTS.map((e, i) => [e, i]));
function named(dense, high, name) {
    const out = {};
    for (let i = 0; i < dense.length; i++)
        if (dense[i] !== 0)
            out[name(i)] = dense[i];
    for (const [k, v] of high)
        out[name(k)] = v;
    return out;
}
function bump(map, key) {
    map.set(key, (map.get(key) ?? 0) + 1);
}
// Label values escape backslash, double quote and newline (exposition format).
function esc(v) {
    return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
function num(v) {
    return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}
//# sourceMappingURL=metrics.js.map