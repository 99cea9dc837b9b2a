/**
 * The resolver's public door (G1): one sandbox's embedded DNS server
 * (R1–R9, R14–R16). createResolver wires the pure pipeline to io/server.ts.
 */
import { childLogger } from '../common/log.js';
import { AlreadyServingError } from './errors.js';
import { buildForwardingStages } from './forwarding.js';
import { hostDialer } from './io/dialer.js';
import { createExchanger } from './io/exchange.js';
import { serveSockets } from './io/server.js';
import { normalizeResolverOptions } from './options.js';
import { createPipeline } from './pipeline.js';
export { RecordTable, canonicalAddress } from './records.js';
export { maxReplySize } from './query.js';
export { errorReply } from './pipeline.js';
export { buildErrorReply } from './answer.js';
export { ResolverMetrics, renderPrometheus, typeName, rcodeName, OUTCOMES, LATENCY_BUCKETS } from './metrics.js';
export { explain } from './explain.js';
export { TCP_DEFAULTS } from './options.js';
export { addressToReverseName, reverseNameToAddress } from './reverse.js';
export { QTYPE, QCLASS, RCODE, OUR_UDP_SIZE } from './constants.js';
export { InvalidRecordError, EncodeError, AlreadyServingError, RESOLVER_ERROR_CODES } from './errors.js';
export { createSharedCache, buildForwardingStages } from './forwarding.js';
export { SharedCache, analyzeReply, cacheKey } from './cache.js';
export { matchesQuestion } from './forward.js';
export { selectUpstreams, UpstreamHealth, OWN_ADDRESS } from './upstreams.js';
export { RateLimitedLog } from './limits.js';
export { FORWARDING_DEFAULTS, CACHE_DEFAULTS } from './options.js';
export { FORWARDING_EVENTS } from './metrics.js';
export { hostDialer, connectTcp } from './io/dialer.js';
/**
 * One sandbox's forwarding stages (R10–R14) over real sockets: pass `stages`
 * to createResolver with the same `metrics`, and call close() with the
 * resolver's. `dialers` defaults to `{ host: hostDialer }` (no sandbox-origin
 * servers). Throws ERR_INVALID_OPTION on bad options.
 */
export function createForwardingStages(options) {
    return buildForwardingStages({ ...options, dialers: options.dialers ?? { host: hostDialer } }, createExchanger);
}
/** Create a resolver over a sandbox's live view. Throws ERR_INVALID_OPTION on bad options. */
export function createResolver(options) {
    const opts = normalizeResolverOptions(options);
    const logger = childLogger(opts.logger, { component: 'resolver', sandbox: opts.view.id });
    const metrics = opts.metrics;
    const handle = createPipeline({ view: opts.view, stages: opts.stages, logger, metrics, clock: opts.clock });
    let server;
    return {
        view: opts.view,
        metrics,
        handle,
        serve(handles) {
            if (server !== undefined)
                throw new AlreadyServingError(opts.view.id);
            server = serveSockets(handles, handle, { logger, tcp: opts.tcp });
        },
        async close() {
            const s = server;
            server = undefined;
            await s?.close();
        },
    };
}
//# sourceMappingURL=index.js.map