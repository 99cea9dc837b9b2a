/**
 * R10–R12 forwarding stage: a miss goes to the sandbox's upstream servers in
 * order (servers in cool-down last), over the client's transport, through an
 * injected Exchanger (G12; io/exchange.ts is the real one). Failover on
 * timeout, network error, SERVFAIL or REFUSED;
 * any other reply is relayed verbatim but for its ID (NXDOMAIN with its SOA,
 * TC included: the client retries over TCP). When every server
 * failed, or none is usable, the query goes on to `next` (the pipeline's
 * SERVFAIL fallback).
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { RCODE } from './constants.js';
import { RateLimitedLog } from './limits.js';
import type { ResolverMetrics } from './metrics.js';
import type { Handler, Next, Reply } from './pipeline.js';
import type { Query } from './query.js';
import type { UpstreamHealth, UpstreamSelector, UpstreamServer } from './upstreams.js';
import type { ResolverView } from './view.js';

/** Why an exchange brought no usable reply. */
export type ExchangeFailure = 'timeout' | 'network' | 'mismatch' | 'no-dialer' | 'overload' | 'closed';

/** The outcome of one exchange with one server (G6). */
export type ExchangeResult =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly reason: ExchangeFailure; readonly error?: unknown };

/** Sends one query to one server and waits for its reply (the consumer's interface, G2). */
export interface Exchanger {
  /**
   * Send `q.raw` under a fresh random ID to `server` over `q.transport` and
   * resolve with the first reply matching that ID and the question (RFC 5452
   * §9.1), or a failure once `timeoutMs` has passed. Never rejects.
   */
  exchange(server: UpstreamServer, q: Query, timeoutMs: number): Promise<ExchangeResult>;
  /** Close every socket; exchanges in flight end as 'closed'. */
  close(): Promise<void>;
}

/**
 * True when `reply` is a response to the question in `query[12, questionEnd)`:
 * QR set, opcode QUERY, one question equal to ours ignoring ASCII case
 * (RFC 4343; some servers randomise case, draft-vixie-dnsext-dns0x20). An
 * error reply with no question (FORMERR, REFUSED... from some servers) also
 * matches: it only causes failover or is relayed, never cached.
 */
export function matchesQuestion(reply: Buffer, query: Buffer, questionEnd: number): boolean {
  if (reply.length < 12 || (reply[2]! & 0xf8) !== 0x80) return false;
  const qd = (reply[4]! << 8) | reply[5]!;
  const rcode = reply[3]! & 0x0f;
  if (qd === 0) return rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN;
  if (qd !== 1 || reply.length < questionEnd) return false;
  const nameEnd = questionEnd - 4;
  for (let i = 12; i < nameEnd; i++) {
    const a = reply[i]!;
    const b = query[i]!;
    if (a === b) continue;
    const lower = a | 0x20;
    if (lower !== (b | 0x20) || lower < 0x61 || lower > 0x7a) return false;
  }
  for (let i = nameEnd; i < questionEnd; i++) if (reply[i] !== query[i]) return false;
  return true;
}

/** What forwardStage needs. */
export interface ForwardStageOptions {
  readonly view: ResolverView;
  readonly selector: UpstreamSelector;
  readonly health: UpstreamHealth;
  readonly exchanger: Exchanger;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ResolverMetrics;
  /** Per-server timeout, ms (R12; default 2000). */
  readonly timeoutMs: number;
  /** Per-query budget over all servers, ms (R12; default 4500, under glibc's 5 s). */
  readonly budgetMs: number;
  /** Least time between two "upstream failed" warnings, ms. */
  readonly logIntervalMs: number;
}

type Failure = ExchangeFailure | 'servfail' | 'refused';

/** Build the R10 forwarding stage. */
export function forwardStage(o: ForwardStageOptions): Handler {
  const { clock, health, metrics, logger } = o;
  let last: { server: string; reason: Failure; error?: unknown } = { server: '', reason: 'timeout' };
  // Docker logs every upstream timeout at error: we log each at debug, warn at most every interval.
  const warn = new RateLimitedLog(clock, o.logIntervalMs, (suppressed) =>
    logger.warn({ upstream: last.server, reason: last.reason, err: last.error, suppressed }, 'resolver: upstream server failed'),
  );
  const note = (s: UpstreamServer, q: Query, reason: Failure, error?: unknown): void => {
    if (reason === 'closed') return;
    metrics.upstreamError(s.label, reason);
    // R12: SERVFAIL is often about one name (e.g. a DNSSEC failure), not the server, and
    // 'overload' (no free query ID) is ours: no cool-down for either.
    if (reason !== 'servfail' && reason !== 'overload') health.failed(s);
    if (logger.isLevelEnabled('debug')) logger.debug({ upstream: s.label, reason, name: q.name, err: error }, 'resolver: upstream attempt failed');
    last = { server: s.label, reason, error };
    warn.hit();
  };

  const forward = async (q: Query, next: Next, servers: readonly UpstreamServer[]): Promise<Reply> => {
    const deadline = clock.now() + o.budgetMs;
    for (const s of health.order(servers)) {
      const left = deadline - clock.now();
      if (left < 1) break;
      metrics.upstreamQuery(s.label);
      const r = await o.exchanger.exchange(s, q, Math.min(o.timeoutMs, left));
      if (!r.ok) {
        note(s, q, r.reason, r.error);
        if (r.reason === 'closed') break;
        continue;
      }
      const rcode = r.bytes[3]! & 0x0f;
      if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) {
        note(s, q, rcode === RCODE.SERVFAIL ? 'servfail' : 'refused');
        continue;
      }
      health.succeeded(s);
      return { kind: 'relay', bytes: r.bytes, outcome: 'forwarded', owned: true };
    }
    return next(q);
  };

  return (q, next) => {
    const { servers } = o.selector.select(o.view);
    return servers.length === 0 ? next(q) : forward(q, next, servers);
  };
}
