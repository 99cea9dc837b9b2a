/**
 * Builds one sandbox's forwarding stages (R10–R14): cache + coalescing →
 * in-flight limit → forwarder, to pass as createResolver's `stages`. The
 * sandbox layer calls createForwardingStages (index.ts), which supplies the
 * real exchanger (io/exchange.ts, G3); tests may build with a fake one.
 */
import { systemClock } from '../common/clock.js';
import { InvalidOptionError } from '../common/errors.js';
import { cacheStage, SharedCache } from './cache.js';
import { forwardStage } from './forward.js';
import { inflightLimitStage } from './limits.js';
import { ResolverMetrics } from './metrics.js';
import { normalizeCacheOptions, normalizeForwardingOptions } from './options.js';
import { UpstreamHealth, UpstreamSelector } from './upstreams.js';
/** A cache to share between sandboxes' forwarding stages (R13); throws ERR_INVALID_OPTION on bad bounds. */
export function createSharedCache(options = {}) {
    return new SharedCache(normalizeCacheOptions(options));
}
/** Build the forwarding stages over `makeExchanger`; throws ERR_INVALID_OPTION on bad options (G9). */
export function buildForwardingStages(raw, makeExchanger) {
    const { view, logger, metrics, clock = systemClock, dialers, cache: cacheOpt } = checkStagesOptions(raw);
    const opts = normalizeForwardingOptions(raw.options);
    const log = logger.child({ component: 'forwarder' });
    const selector = new UpstreamSelector(opts.maxUpstreams, (s) => logSelection(log, s));
    const cache = cacheOpt === false ? undefined : (cacheOpt ?? createSharedCache({ clock }));
    const exchanger = makeExchanger({ dialers, clock, logger: log, rotateAfter: opts.udpRotateAfter });
    const limit = inflightLimitStage({ max: opts.maxInFlight, logIntervalMs: opts.logIntervalMs, clock, logger: log, metrics });
    const forward = forwardStage({
        view,
        selector,
        health: new UpstreamHealth(clock, opts.cooldownMs),
        exchanger,
        clock,
        logger: log,
        metrics,
        timeoutMs: opts.timeoutMs,
        budgetMs: opts.budgetMs,
        logIntervalMs: opts.logIntervalMs,
    });
    const stages = Object.freeze([cacheStage({ view, selector, cache, coalesce: opts.coalesce, metrics }), limit.stage, forward]);
    return {
        stages,
        get inflight() {
            return limit.inflight;
        },
        close: () => exchanger.close(),
    };
}
function checkStagesOptions(raw) {
    if (raw === null || typeof raw !== 'object')
        throw new InvalidOptionError('options', 'must be an object');
    const { view, logger, metrics, dialers, cache } = raw;
    if (view === null || typeof view !== 'object' || !Array.isArray(view.upstreams)) {
        throw new InvalidOptionError('view', 'must be a ResolverView with an upstreams array');
    }
    if (logger === null || typeof logger !== 'object' || typeof logger.child !== 'function') {
        throw new InvalidOptionError('logger', 'must be a pino logger');
    }
    if (!(metrics instanceof ResolverMetrics))
        throw new InvalidOptionError('metrics', 'must be the ResolverMetrics given to createResolver');
    if (dialers === undefined || typeof dialers.host?.udpSocket !== 'function' || typeof dialers.host.tcpConnect !== 'function') {
        throw new InvalidOptionError('dialers.host', 'must be a Dialer (udpSocket, tcpConnect)');
    }
    if (dialers.sandbox !== undefined && typeof dialers.sandbox.udpSocket !== 'function') {
        throw new InvalidOptionError('dialers.sandbox', 'must be a Dialer (udpSocket, tcpConnect) or undefined');
    }
    if (cache !== undefined && cache !== false && !(cache instanceof SharedCache)) {
        throw new InvalidOptionError('cache', 'must be a SharedCache from createSharedCache, false, or undefined');
    }
    return { ...raw, dialers };
}
// Docker 1.H 47 logs the dropped own address at info; an empty list is worth a warning (Docker 1.I 59).
function logSelection(log, s) {
    for (const u of s.dropped)
        log.info({ upstream: u.address, origin: u.origin }, 'resolver: not using this address as an upstream DNS server (own address or invalid)');
    if (s.servers.length === 0 && s.blocked > 0)
        log.info({ blocked: s.blocked }, 'resolver: no external access, host-side upstream servers not used (R11)');
    log.debug({ upstreams: s.servers.map((x) => `${x.origin}:${x.label}`) }, 'resolver: upstream servers');
}
//# sourceMappingURL=forwarding.js.map