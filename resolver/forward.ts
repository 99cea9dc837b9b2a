/**
 * R10–R12 forwarding stage: a miss goes to the sandbox's upstream servers in
 * order (servers in cool-down last), over the client's transport, through an
 * injected Exchanger (G12; io/exchange.ts is the real one), as a query we
 * build (upstream-query.ts: our own OPT, 0x20 on UDP).
 *
 * Timing (R12, FS7): the query has one budget. Each server's exchange may run to
 * the end of the budget; when a server has not answered within the
 * per-server timeout, the next one is queried too (a hedge) and the first
 * good answer wins, so a slow but working server still counts, and the last
 * server gets the rest of the budget. A failure (network error, SERVFAIL,
 * REFUSED, an unusable reply) moves on at once. Any other reply is relayed
 * (normalized by relay.ts: no upstream OPT, the client's question). When every server failed, or none is usable, the
 * query goes on to `next` (the pipeline's SERVFAIL fallback).
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { CaseEchoPolicy } from './case-echo.js';
import { RCODE } from './constants.js';
import { RateLimitedLog } from './limits.js';
import type { ResolverMetrics } from './metrics.js';
import { errorReply, type Handler, type Next, type Reply } from './pipeline.js';
import type { Query, Transport } from './query.js';
import { normalizeReply } from './relay.js';
import { buildUpstreamQuery, echoesCase, type UpstreamQuery } from './upstream-query.js';
import type { UpstreamHealth, UpstreamSelector, UpstreamServer } from './upstreams.js';
import type { ResolverView } from './view.js';

/** Why an exchange brought no usable reply. */
export type ExchangeFailure = 'timeout' | 'network' | 'mismatch' | 'no-dialer' | 'closed';

/** The outcome of one exchange with one server (G6). */
export type ExchangeResult =
  | { readonly ok: true; readonly bytes: Buffer }
  | { readonly ok: false; readonly reason: ExchangeFailure; readonly error?: unknown };

/** Sends one query to one server and waits for its reply (the consumer's interface, G2). */
export interface Exchanger {
  /**
   * Write a fresh random ID into `query.bytes`, send them to `server` over
   * `transport` and resolve with the first reply from that server matching
   * the ID and the question (ignoring case; RFC 5452 §9.1), or a failure once
   * `timeoutMs` has passed or `signal` aborted ('closed'). Never rejects.
   */
  exchange(server: UpstreamServer, query: UpstreamQuery, transport: Transport, timeoutMs: number, signal?: AbortSignal): Promise<ExchangeResult>;
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

type Failure = ExchangeFailure | 'servfail' | 'refused' | 'case-mismatch' | 'malformed';

/** Per attempt: whether its per-server timeout already passed (counted once, by the hedge). */
interface AttemptState {
  hedged: boolean;
}

/** What one attempt with one server brought. */
type AttemptResult = { readonly reply: Reply } | { readonly reply?: undefined; readonly reason: Failure };

/** Build the R10 forwarding stage. */
export function forwardStage(o: ForwardStageOptions): Handler {
  const { clock, health, metrics, logger } = o;
  const caseEcho = new CaseEchoPolicy(clock);
  let last: { server: string; reason: Failure; error?: unknown } = { server: '', reason: 'timeout' };
  // Docker logs every upstream timeout at error: we log each at debug, warn at most every interval.
  const warn = new RateLimitedLog(clock, o.logIntervalMs, (suppressed) =>
    logger.warn({ upstream: last.server, reason: last.reason, err: last.error, suppressed }, 'resolver: upstream server failed'),
  );
  const note = (s: UpstreamServer, q: Query, reason: Failure, error?: unknown): void => {
    if (reason === 'closed') return;
    metrics.upstreamError(s.label, reason);
    // R12: SERVFAIL is often about one name (e.g. a DNSSEC failure), not the server: no cool-down.
    if (reason !== 'servfail' && reason !== 'case-mismatch') health.failed(s);
    if (logger.isLevelEnabled('debug')) logger.debug({ upstream: s.label, reason, name: q.name, err: error }, 'resolver: upstream attempt failed');
    last = { server: s.label, reason, error };
    warn.hit();
  };

  // Never rejects: an exchanger that breaks its contract, or a bug here, fails this server (the race has no other catch).
  const attempt = (s: UpstreamServer, q: Query, deadline: number, signal: AbortSignal | undefined, st: AttemptState): Promise<AttemptResult> =>
    tryServer(s, q, deadline, signal, st).catch((error: unknown) => fail(s, q, 'network', error));
  // One server (a timeout after its hedge was already counted): a 0x20 query on UDP (unless the server is known not to echo case), retried once without on a mismatch.
  const tryServer = async (s: UpstreamServer, q: Query, deadline: number, signal: AbortSignal | undefined, st: AttemptState): Promise<AttemptResult> => {
    metrics.upstreamQuery(s.label);
    let sent = buildUpstreamQuery(q, q.transport === 'udp' && caseEcho.use(s));
    let r = await o.exchanger.exchange(s, sent, q.transport, deadline - clock.now(), signal);
    if (r.ok && sent.mixedCase) {
      if (echoesCase(r.bytes, sent)) caseEcho.echoed(s);
      else {
        note(s, q, 'case-mismatch');
        caseEcho.mismatched(s);
        const left = deadline - clock.now();
        if (left < 1) return { reason: 'timeout' };
        sent = buildUpstreamQuery(q, false);
        r = await o.exchanger.exchange(s, sent, q.transport, left, signal);
      }
    }
    if (!r.ok) return r.reason === 'timeout' && st.hedged ? { reason: 'timeout' } : fail(s, q, r.reason, r.error);
    const rcode = r.bytes[3]! & 0x0f;
    if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) return fail(s, q, rcode === RCODE.SERVFAIL ? 'servfail' : 'refused');
    const n = normalizeReply(r.bytes, q);
    if (!n.ok) {
      // An error rcode with no question (FORMERR, NOTIMP ... from some servers) is relayed as that rcode.
      if (n.reason === 'no-question') return { reply: errorReply(q, rcode) };
      return fail(s, q, 'malformed');
    }
    health.succeeded(s);
    return { reply: { kind: 'relay', bytes: n.bytes, outcome: 'forwarded', owned: true } };
  };
  const fail = (s: UpstreamServer, q: Query, reason: Failure, error?: unknown): AttemptResult => {
    note(s, q, reason, error);
    return { reason };
  };

  return (q, next) => {
    const { servers } = o.selector.select(o.view);
    if (servers.length === 0) return next(q);
    if (servers.length === 1) {
      // One server (the common case): no hedge, no losers to abort; its exchange gets the whole budget (R12).
      const s = servers[0]!;
      return attempt(s, q, clock.now() + o.budgetMs, undefined, { hedged: false }).then((out) => out.reply ?? next(q));
    }
    return race({ q, next, order: health.order(servers), attempt, clock, timeoutMs: o.timeoutMs, deadline: clock.now() + o.budgetMs, onSlow: (s) => note(s, q, 'timeout') });
  };
}

interface Race {
  readonly q: Query;
  readonly next: Next;
  readonly order: readonly UpstreamServer[];
  readonly attempt: (s: UpstreamServer, q: Query, deadline: number, signal: AbortSignal | undefined, st: AttemptState) => Promise<AttemptResult>;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly deadline: number;
  /** A server passed its per-server timeout and the next one is being asked (counted as a timeout). */
  readonly onSlow: (s: UpstreamServer) => void;
}

/**
 * R12 hedged failover (see the file comment): launch servers in order, the
 * next one when the running one fails or passes the per-server timeout;
 * resolve with the first reply; `next(q)` when none is left and all failed.
 * The losers' exchanges are aborted (their sockets close at once).
 */
function race(r: Race): Promise<Reply> {
  return new Promise<Reply>((resolve) => {
    // Only a hedge leaves losers to abort: a single server needs no controller (hot path).
    const ac = r.order.length > 1 ? new AbortController() : undefined;
    let launched = 0;
    let running = 0;
    let settled = false;
    let cancelHedge: (() => void) | undefined;
    const finish = (reply: Reply | undefined): void => {
      if (settled) return;
      settled = true;
      cancelHedge?.();
      ac?.abort();
      if (reply !== undefined) resolve(reply);
      else Promise.resolve(r.next(r.q)).then(resolve, () => resolve(errorReply(r.q, RCODE.SERVFAIL)));
    };
    const launch = (): void => {
      cancelHedge?.();
      cancelHedge = undefined;
      const left = r.deadline - r.clock.now();
      if (launched >= r.order.length || left < 1) {
        if (running === 0) finish(undefined);
        return;
      }
      const s = r.order[launched++]!;
      running++;
      const st: AttemptState = { hedged: false };
      if (launched < r.order.length) {
        cancelHedge = r.clock.setTimeout(() => {
          st.hedged = true;
          r.onSlow(s);
          launch();
        }, Math.min(r.timeoutMs, left));
      }
      void r.attempt(s, r.q, r.deadline, ac?.signal, st).then((out) => {
        running--;
        if (settled) return;
        if (out.reply !== undefined) finish(out.reply);
        else if (out.reason === 'closed') finish(undefined);
        else if (!st.hedged) launch(); // this server failed before its hedge: the next one now
        else if (running === 0 && launched >= r.order.length) finish(undefined);
        else if (running === 0) launch();
      });
    };
    launch();
  });
}
