/**
 * R14 upstream limit: at most `max` queries of one sandbox in flight towards
 * upstream servers; over the cap a query is answered REFUSED at once (Docker
 * waits up to 4 s for a slot first; a client is better served by a fast,
 * explicit answer), and the warning is logged at most once per interval.
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { RCODE } from './constants.js';
import type { ResolverMetrics } from './metrics.js';
import { errorReply, type Handler, type Reply } from './pipeline.js';

/**
 * Emits at most one line per `intervalMs`; the lines in between are counted
 * and the count is passed to the next emitted line (`suppressed`).
 */
export class RateLimitedLog {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #emit: (suppressed: number) => void;
  #last = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(clock: Clock, intervalMs: number, emit: (suppressed: number) => void) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#emit = emit;
  }

  /** One occurrence: logged now, or counted for the next line. Returns true when logged. */
  hit(): boolean {
    const now = this.#clock.now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return false;
    }
    const suppressed = this.#suppressed;
    this.#last = now;
    this.#suppressed = 0;
    this.#emit(suppressed);
    return true;
  }
}

/** What inflightLimitStage needs. */
export interface InflightLimitOptions {
  /** Most queries in flight upstream at once (R14; default 1024). */
  readonly max: number;
  /** Least time between two warnings, ms (default 2000, as Docker's logInterval). */
  readonly logIntervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ResolverMetrics;
}

/** A stage that counts queries passing to `next` (the forwarder) and refuses past the cap. */
export interface InflightLimit {
  readonly stage: Handler;
  /** Queries now in flight. */
  readonly inflight: number;
}

/** Build the R14 in-flight limit stage; put it after the cache (hits and coalesced waiters take no slot). */
export function inflightLimitStage(opts: InflightLimitOptions): InflightLimit {
  const { max, metrics } = opts;
  let inflight = 0;
  const log = new RateLimitedLog(opts.clock, opts.logIntervalMs, (suppressed) =>
    opts.logger.warn({ max, suppressed }, `resolver: more than ${max} concurrent upstream queries, answering REFUSED`),
  );
  const release = (r: Reply): Reply => {
    inflight--;
    return r;
  };
  const releaseAndThrow = (err: unknown): never => {
    inflight--;
    throw err;
  };
  const stage: Handler = (q, next) => {
    if (inflight >= max) {
      metrics.countForwarding('inflight_refused');
      log.hit();
      return errorReply(q, RCODE.REFUSED);
    }
    inflight++;
    let r: Reply | Promise<Reply>;
    try {
      r = next(q);
    } catch (err) {
      return releaseAndThrow(err);
    }
    return r instanceof Promise ? r.then(release, releaseAndThrow) : release(r);
  };
  return {
    stage,
    get inflight() {
      return inflight;
    },
  };
}
