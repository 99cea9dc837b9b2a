import { RCODE } from './constants.js';
import { errorReply } from './pipeline.js';
/**
 * Emits at most one line per `intervalMs`; the lines in between are counted
 * and the count is passed to the next emitted line (`suppressed`).
 */
export class RateLimitedLog {
    #clock;
    #intervalMs;
    #emit;
    #last = Number.NEGATIVE_INFINITY;
    #suppressed = 0;
    constructor(clock, intervalMs, emit) {
        this.#clock = clock;
        this.#intervalMs = intervalMs;
        this.#emit = emit;
    }
    /** One occurrence: logged now, or counted for the next line. Returns true when logged. */
    hit() {
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
/** Build the R14 in-flight limit stage; put it after the cache (hits and coalesced waiters take no slot). */
export function inflightLimitStage(opts) {
    const { max, metrics } = opts;
    let inflight = 0;
    const log = new RateLimitedLog(opts.clock, opts.logIntervalMs, (suppressed) => opts.logger.warn({ max, suppressed }, `resolver: more than ${max} concurrent upstream queries, answering REFUSED`));
    const release = (r) => {
        inflight--;
        return r;
    };
    const releaseAndThrow = (err) => {
        inflight--;
        throw err;
    };
    const stage = (q, next) => {
        if (inflight >= max) {
            metrics.countForwarding('inflight_refused');
            log.hit();
            return errorReply(q, RCODE.REFUSED);
        }
        inflight++;
        let r;
        try {
            r = next(q);
        }
        catch (err) {
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
//# sourceMappingURL=limits.js.map