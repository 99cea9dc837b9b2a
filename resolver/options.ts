/**
 * Resolver options: one defaults object, checked once at the edge and trusted
 * inside (STYLE G9).
 */
import { systemClock, type Clock } from '../common/clock.js';
import { InvalidOptionError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { SharedCache } from './cache.js';
import type { ExchangerFactory } from './forwarding.js';
import type { Dialer } from './io/dialer.js';
import type { Handler } from './pipeline.js';
import type { ResolverView } from './view.js';

/** R14 TCP limits. */
export interface TcpLimits {
  /** Close a connection with no complete query or reply for this long (ms). Default 8000. */
  readonly idleTimeoutMs: number;
  /** Queries served on one connection before it is closed. Default 128. */
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
  /**
   * Forwarding of names not answered locally (R10–R14): the resolver builds
   * its cache, in-flight limit and forwarder from this. Absent or false: no
   * forwarding (a name that is not local gets SERVFAIL).
   */
  readonly forwarding?: ResolverForwarding | false | undefined;
  /** Extra stages run after local answers and before forwarding (tests, embedders); default none. */
  readonly stages?: readonly Handler[] | undefined;
  /** Clock for latency metrics, timeouts, cool-downs and a private cache; default the system clock. */
  readonly clock?: Clock | undefined;
  /** R14 TCP limits; each defaults as in TCP_DEFAULTS. */
  readonly tcp?: Partial<TcpLimits> | undefined;
}

/** How a resolver forwards (createResolver's `forwarding`). */
export interface ResolverForwarding {
  /** A cache shared between sandboxes (createSharedCache), false for none; default a private one. */
  readonly cache?: SharedCache | false | undefined;
  /** Where upstream sockets come from: `host` defaults to the controller's namespace; without `sandbox`, sandbox-origin servers are skipped (R11). */
  readonly dialers?: { readonly host?: Dialer | undefined; readonly sandbox?: Dialer | undefined } | undefined;
  /** Forwarding limits and timeouts; each defaults as in FORWARDING_DEFAULTS. */
  readonly options?: Partial<ForwardingOptions> | undefined;
  /** Builds the upstream exchanger (tests, benchmarks); default real UDP/TCP sockets through the dialers. */
  readonly exchanger?: ExchangerFactory | undefined;
}

/** Options after normalizeResolverOptions. */
export interface NormalizedResolverOptions {
  readonly view: ResolverView;
  readonly logger: Logger;
  readonly stages: readonly Handler[];
  readonly clock: Clock;
  readonly tcp: TcpLimits;
}

/** Check and default createResolver's options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeResolverOptions(raw: ResolverOptions): NormalizedResolverOptions {
  const { view, logger, stages = [], clock = systemClock, tcp = {} } = raw;
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
  return Object.freeze({
    view,
    logger,
    stages: Object.freeze([...stages]),
    clock,
    tcp: Object.freeze(limits),
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** R10–R14 forwarding options (createResolver's `forwarding.options`); each defaults as in FORWARDING_DEFAULTS. */
export interface ForwardingOptions {
  /** Upstream servers used per sandbox, counted after filtering (R10; Docker's maxExtDNS is 3). */
  readonly maxUpstreams: number;
  /** Per-server timeout in ms (R12; under a glibc client's 5 s). */
  readonly timeoutMs: number;
  /** Budget of one query over all its servers, in ms (R12; ends before a glibc client's 5 s). */
  readonly budgetMs: number;
  /** How long a failed server is tried last, in ms (R12). */
  readonly cooldownMs: number;
  /** Queries of one sandbox in flight upstream at once; more are REFUSED at once (R14). */
  readonly maxInFlight: number;
  /** Least time between two rate-limited warnings, in ms (R14; Docker's logInterval). */
  readonly logIntervalMs: number;
  /** Coalesce identical queries in flight into one upstream query (R13). */
  readonly coalesce: boolean;
  /** Queries that may wait on one query in flight (coalesced followers); more are REFUSED. */
  readonly maxFollowersPerFlight: number;
  /** Coalesced followers of one sandbox waiting at once; more are REFUSED. */
  readonly maxFollowers: number;
  /** Bytes those followers may hold in all (each: its header and question, 512 of overhead and its reply limit, Query.maxSize). */
  readonly maxFollowerBytes: number;
}

/** Defaults of the forwarding options. */
export const FORWARDING_DEFAULTS: ForwardingOptions = Object.freeze({
  maxUpstreams: 3,
  timeoutMs: 2000,
  budgetMs: 4500,
  cooldownMs: 30_000,
  maxInFlight: 1024,
  logIntervalMs: 2000,
  coalesce: true,
  maxFollowersPerFlight: 128,
  maxFollowers: 1024,
  maxFollowerBytes: 1024 * 1024,
});

/** R13 cache bounds and TTL caps; each defaults as in CACHE_DEFAULTS. */
export interface CacheOptions {
  /** Most entries (R13). */
  readonly maxEntries: number;
  /** Most bytes, counting each entry's reply, key and bookkeeping (R13). */
  readonly maxBytes: number;
  /** Longest lifetime of a positive entry, in s (R13). */
  readonly maxTtl: number;
  /** Longest lifetime of a negative entry, in s (RFC 2308 §5 suggests 1–3 h; containers churn faster). */
  readonly maxNegativeTtl: number;
}

/** Defaults of the cache options. */
export const CACHE_DEFAULTS: CacheOptions = Object.freeze({
  maxEntries: 10_000,
  maxBytes: 16 * 1024 * 1024,
  maxTtl: 3600,
  maxNegativeTtl: 900,
});

/** Cache options after normalizeCacheOptions, with the clock entries age by. */
export interface NormalizedCacheOptions extends CacheOptions {
  readonly clock: Clock;
}

/** Check and default forwarding options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeForwardingOptions(raw: Partial<ForwardingOptions> = {}): Readonly<ForwardingOptions> {
  const { coalesce, ...numbers } = { ...FORWARDING_DEFAULTS, ...definedOnly(raw) };
  if (typeof coalesce !== 'boolean') throw new InvalidOptionError('options.coalesce', 'must be true or false');
  checkPositiveIntegers('options', numbers, FORWARDING_DEFAULTS);
  return Object.freeze({ ...numbers, coalesce });
}

/** Check and default cache options; throws ERR_INVALID_OPTION naming the field. */
export function normalizeCacheOptions(raw: Partial<CacheOptions> & { readonly clock?: Clock | undefined } = {}): NormalizedCacheOptions {
  const { clock = systemClock, ...rest } = raw;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
    throw new InvalidOptionError('cache.clock', 'must be a Clock');
  }
  const numbers = { ...CACHE_DEFAULTS, ...definedOnly(rest) };
  checkPositiveIntegers('cache', numbers, CACHE_DEFAULTS);
  return Object.freeze({ ...numbers, clock });
}

function checkPositiveIntegers(prefix: string, values: object, known: object): void {
  for (const [key, value] of Object.entries(values)) {
    if (!(key in known)) throw new InvalidOptionError(`${prefix}.${key}`, 'is not a known option');
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new InvalidOptionError(`${prefix}.${key}`, `must be a positive integer (got ${String(value)})`);
    }
  }
}
