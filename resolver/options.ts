/**
 * Resolver options: one defaults object, checked once at the edge and trusted
 * inside (STYLE G9).
 */
import { systemClock, type Clock } from '../common/clock.js';
import { InvalidOptionError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { ResolverMetrics } from './metrics.js';
import type { Handler } from './pipeline.js';
import type { ResolverView } from './view.js';

/** R14 TCP limits. */
export interface TcpLimits {
  /** Close a connection with no complete query or reply for this long (ms). Default 8000 (1.B 13). */
  readonly idleTimeoutMs: number;
  /** Queries served on one connection before it is closed. Default 128 (1.B 13). */
  readonly maxQueriesPerConnection: number;
  /** Open connections per sandbox; more are closed at once. Default 256. */
  readonly maxConnections: number;
  /** Unsent reply bytes a connection may hold before it is destroyed. Default 1 MiB. */
  readonly maxPendingBytes: number;
}

/** Defaults of the R14 TCP limits. */
export const TCP_DEFAULTS: TcpLimits = Object.freeze({
  idleTimeoutMs: 8000,
  maxQueriesPerConnection: 128,
  maxConnections: 256,
  maxPendingBytes: 1024 * 1024,
});

/** Options of createResolver. */
export interface ResolverOptions {
  /** The sandbox's live view (G2); read on every query (R15). */
  readonly view: ResolverView;
  readonly logger: Logger;
  /** Stages between local answers and the SERVFAIL fallback (cache, forward ...). */
  readonly stages?: readonly Handler[] | undefined;
  /** Clock for latency metrics; default the system clock. */
  readonly clock?: Clock | undefined;
  /** R14 TCP limits; each defaults as in TCP_DEFAULTS. */
  readonly tcp?: Partial<TcpLimits> | undefined;
  /** Counters to fill (R16), e.g. shared with a forward stage for upstream errors; default a fresh set. */
  readonly metrics?: ResolverMetrics | undefined;
}

/** Options after normalizeResolverOptions. */
export interface NormalizedResolverOptions {
  readonly view: ResolverView;
  readonly logger: Logger;
  readonly stages: readonly Handler[];
  readonly clock: Clock;
  readonly tcp: TcpLimits;
  readonly metrics: ResolverMetrics;
}

/** Check and default createResolver's options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeResolverOptions(raw: ResolverOptions): NormalizedResolverOptions {
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
    if (!(key in TCP_DEFAULTS)) throw new InvalidOptionError(`tcp.${key}`, 'is not a known TCP limit');
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

function definedOnly(o: Partial<TcpLimits>): Partial<TcpLimits> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
