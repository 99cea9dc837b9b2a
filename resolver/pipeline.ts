/**
 * The resolver chain (STYLE G4): accept → local → inserted stages (cache,
 * forward...) → SERVFAIL fallback (we never invent NXDOMAIN).
 * The local-hit path is synchronous: no promise is allocated for it. This is
 * the only catch-all (G8): an unexpected error becomes SERVFAIL + one warning.
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { acceptQuery, type Accepted } from './accept.js';
import { buildErrorReply, buildLocalReply } from './answer.js';
import { RCODE } from './constants.js';
import { resolveLocal } from './local.js';
import { finishRelay } from './relay.js';
import { typeName, type Outcome, type ResolverMetrics } from './metrics.js';
import type { Query, Transport } from './query.js';
import type { ResolverView } from './view.js';

/**
 * What a stage returns: a reply built for this query, an upstream reply to
 * relay, or nothing at all. A relayed reply is normalized (relay.ts: no OPT,
 * the query's question); settle() gives it the query's ID, our OPT and the
 * client's size limit (relay.ts finishRelay, R8).
 */
export type Reply =
  | { readonly kind: 'built'; readonly bytes: Buffer; readonly rcode: number; readonly outcome: Outcome }
  | {
      readonly kind: 'relay';
      readonly bytes: Buffer;
      readonly outcome: Outcome;
      /** True when the stage hands the buffer over and it may be changed in place (no copy). */
      readonly owned?: boolean;
    }
  | { readonly kind: 'drop' };

/** The rest of the chain after a stage. */
export type Next = (q: Query) => Reply | Promise<Reply>;

/** One stage: answer, or pass to `next` (G4). Return a Reply synchronously when you can. */
export type Handler = (q: Query, next: Next) => Reply | Promise<Reply>;

/**
 * Bytes in, reply bytes out (undefined: send nothing). Never throws, never
 * rejects. `bytes` are read only during the call (a batched listener reuses
 * them for the next datagram): what a pending reply needs is copied
 * (acceptQuery keeps a copy of the header and question).
 */
export type HandleFn = (bytes: Buffer, transport: Transport) => Buffer | undefined | Promise<Buffer | undefined>;

/** What createPipeline needs. */
export interface PipelineOptions {
  readonly view: ResolverView;
  /** Stages between local answers and the SERVFAIL fallback, in order. */
  readonly stages: readonly Handler[];
  readonly logger: Logger;
  readonly metrics: ResolverMetrics;
  readonly clock: Clock;
}

/** An error reply (SERVFAIL, REFUSED...) to an accepted query, counted as outcome 'error'. */
export function errorReply(q: Query, rcode: number): Reply {
  return { kind: 'built', bytes: buildErrorReply(q, rcode), rcode, outcome: 'error' };
}

/** The local stage (R3–R7, R9): answers or NODATA at once, a miss goes to `next`. */
export function localStage(view: ResolverView): Handler {
  return (q, next) => {
    const r = resolveLocal(view, q);
    if (r.kind === 'miss') return next(q);
    const outcome = r.kind === 'answer' ? 'local' : 'nodata';
    return { kind: 'built', bytes: buildLocalReply(q, r), rcode: RCODE.NOERROR, outcome };
  };
}

/** Build the chain and return the per-packet entry point. */
export function createPipeline(opts: PipelineOptions): HandleFn {
  const ctx: Ctx = { logger: opts.logger, metrics: opts.metrics, clock: opts.clock };
  const chain = compose([localStage(opts.view), ...opts.stages], (q) => errorReply(q, RCODE.SERVFAIL));
  return (bytes, transport) => {
    const t0 = ctx.clock.now();
    const q = admit(ctx, bytes, transport, t0);
    if (q === undefined || q instanceof Uint8Array) return q;
    let r: Reply | Promise<Reply>;
    try {
      r = chain(q);
    } catch (err) {
      r = fail(ctx, q, err);
    }
    if (!(r instanceof Promise)) return settle(ctx, q, r, t0);
    return r.then(
      (x) => settle(ctx, q, x, t0),
      (err: unknown) => settle(ctx, q, fail(ctx, q, err), t0),
    );
  };
}

interface Ctx {
  readonly logger: Logger;
  readonly metrics: ResolverMetrics;
  readonly clock: Clock;
}

// R2: a Query, or the FORMERR/NOTIMP/BADVERS bytes to send, or undefined (drop); counted here.
function admit(ctx: Ctx, bytes: Buffer, transport: Transport, t0: number): Query | Buffer | undefined {
  let acc: Accepted;
  try {
    acc = acceptQuery(bytes, transport);
  } catch (err) {
    // accept.ts is written never to throw; should it, the packet is dropped, not the process.
    ctx.logger.warn({ err }, 'resolver: could not parse a query, dropped');
    acc = { kind: 'drop' };
  }
  if (acc.kind === 'query') return acc;
  const seconds = (ctx.clock.now() - t0) / 1000;
  if (acc.kind === 'drop') {
    ctx.metrics.observe(-1, -1, 'dropped', seconds);
    return undefined;
  }
  ctx.metrics.observe(-1, acc.rcode, 'error', seconds);
  return acc.bytes;
}

// G8: the one place an unexpected error becomes SERVFAIL, with one warning.
function fail(ctx: Ctx, q: Query, err: unknown): Reply {
  ctx.logger.warn({ err, name: q.name, qtype: typeName(q.qtype) }, 'resolver: query failed, answering SERVFAIL');
  return errorReply(q, RCODE.SERVFAIL);
}

// Reply → bytes (a relay gets the query's ID, OPT and size limit), then metrics and the debug line (R16).
function settle(ctx: Ctx, q: Query, reply: Reply, t0: number): Buffer | undefined {
  let r = reply;
  if (r.kind === 'relay' && r.bytes.length < 12) r = fail(ctx, q, new Error('relayed reply shorter than a DNS header'));
  let bytes: Buffer | undefined;
  let rcode = -1;
  if (r.kind === 'built') {
    bytes = r.bytes;
    rcode = r.rcode;
  } else if (r.kind === 'relay') {
    bytes = finishRelay(r.bytes, q, r.owned === true);
    bytes[0] = q.id >> 8;
    bytes[1] = q.id & 0xff;
    rcode = bytes[3]! & 0x0f;
  }
  const outcome = r.kind === 'drop' ? 'dropped' : r.outcome;
  ctx.metrics.observe(q.qtype, rcode, outcome, (ctx.clock.now() - t0) / 1000);
  if (ctx.logger.isLevelEnabled('debug')) {
    ctx.logger.debug({ name: q.name, qtype: typeName(q.qtype), transport: q.transport, rcode, outcome }, 'query');
  }
  return bytes;
}

/** Chain the stages right to left so each one's `next` is the rest (CoreDNS NextOrFailure). */
function compose(stages: readonly Handler[], last: Next): Next {
  let next = last;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i]!;
    const rest = next;
    next = (q) => stage(q, rest);
  }
  return next;
}
