/**
 * Resolver options: one defaults object, checked once at the edge and trusted
 * inside (STYLE G9).
 */
import { systemClock } from '../common/clock.js';
import { InvalidOptionError } from '../common/errors.js';
import { ResolverMetrics } from './metrics.js';
/** Defaults of the R14 TCP limits. */
export const TCP_DEFAULTS = Object.freeze({
    idleTimeoutMs: 8000,
    maxQueriesPerConnection: 128,
    maxConnections: 256,
    maxPendingBytes: 1024 * 1024,
});
/** Check and default createResolver's options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeResolverOptions(raw) {
    const { view, logger, stages = [], clock = systemClock, tcp = {}, metrics } = raw;
    if (view === null || typeof view !== 'object' || !Array.isArray(view.networks)) {
        throw new InvalidOptionError('view', 'must be a ResolverView with a networks array');
    }
    if (logger === null || typeof logger !== 'object' || typeof logger.warn !== 'function') {
        throw new InvalidOptionError('logger', 'must be a pino logger');
    }
    if (!Array.isArray(stages) || stages.some((s) => typeof s !== 'function')) {
        throw new InvalidOptionError('stages', 'must be an array of handler functions');
    }
    const limits = { ...TCP_DEFAULTS, ...definedOnly(tcp) };
    for (const [key, value] of Object.entries(limits)) {
        if (!(key in TCP_DEFAULTS))
            throw new InvalidOptionError(`tcp.${key}`, 'is not a known TCP limit');
        if (!Number.isSafeInteger(value) || value < 1) {
            throw new InvalidOptionError(`tcp.${key}`, `must be a positive integer (got ${String(value)})`);
        }
    }
    if (metrics !== undefined && !(metrics instanceof ResolverMetrics)) {
        throw new InvalidOptionError('metrics', 'must be a ResolverMetrics');
    }
    return Object.freeze({
        view,
        logger,
        stages: Object.freeze([...stages]),
        clock,
        tcp: Object.freeze(limits),
        metrics: metrics ?? new ResolverMetrics(view.id),
    });
}
function definedOnly(o) {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
/** Defaults of the forwarding options. */
export const FORWARDING_DEFAULTS = Object.freeze({
    maxUpstreams: 3,
    timeoutMs: 2000,
    budgetMs: 4500,
    cooldownMs: 30_000,
    maxInFlight: 1024,
    logIntervalMs: 2000,
    udpRotateAfter: 4096,
    coalesce: true,
});
/** Defaults of the cache options. */
export const CACHE_DEFAULTS = Object.freeze({
    maxEntries: 10_000,
    maxBytes: 16 * 1024 * 1024,
    maxTtl: 3600,
    maxNegativeTtl: 900,
});
/** Check and default forwarding options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeForwardingOptions(raw = {}) {
    const { coalesce, ...numbers } = { ...FORWARDING_DEFAULTS, ...definedOnly(raw) };
    if (typeof coalesce !== 'boolean')
        throw new InvalidOptionError('options.coalesce', 'must be true or false');
    checkPositiveIntegers('options', numbers, FORWARDING_DEFAULTS);
    return Object.freeze({ ...numbers, coalesce });
}
/** Check and default cache options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeCacheOptions(raw = {}) {
    const { clock = systemClock, ...rest } = raw;
    if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
        throw new InvalidOptionError('cache.clock', 'must be a Clock');
    }
    const numbers = { ...CACHE_DEFAULTS, ...definedOnly(rest) };
    checkPositiveIntegers('cache', numbers, CACHE_DEFAULTS);
    return Object.freeze({ ...numbers, clock });
}
function checkPositiveIntegers(prefix, values, known) {
    for (const [key, value] of Object.entries(values)) {
        if (!(key in known))
            throw new InvalidOptionError(`${prefix}.${key}`, 'is not a known option');
        if (!Number.isSafeInteger(value) || value < 1) {
            throw new InvalidOptionError(`${prefix}.${key}`, `must be a positive integer (got ${String(value)})`);
        }
    }
}
//# sourceMappingURL=options.js.map