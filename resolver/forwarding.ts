/**
 * Builds one sandbox's forwarding stages (R10–R14): cache + coalescing →
 * in-flight limit → forwarder. createResolver (index.ts) calls it with the
 * resolver's own counters and the real exchanger (io/exchange.ts, G3), or
 * the `forwarding.exchanger` a test or benchmark gives.
 */
import { systemClock, type Clock } from '../common/clock.js';
import { InvalidOptionError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { SharedCache } from './cache.js';
import { cacheStage } from './cache-stage.js';
import { forwardStage, type Exchanger } from './forward.js';
import type { Dialer } from './io/dialer.js';
import { inflightLimitStage } from './limits.js';
import { ResolverMetrics } from './metrics.js';
import { normalizeCacheOptions, normalizeForwardingOptions, type CacheOptions, type ForwardingOptions } from './options.js';
import type { Handler } from './pipeline.js';
import { UpstreamHealth, UpstreamSelector, type UpstreamSelection } from './upstreams.js';
import type { ResolverView } from './view.js';

/** Dialers by origin (R11): 'host' for the controller's namespace, 'sandbox' for the sandbox's own. */
export interface Dialers {
  readonly host: Dialer;
  /** Without it, sandbox-origin servers fail ('no-dialer') and the next server is tried. */
  readonly sandbox?: Dialer | undefined;
}

/** Options of buildForwardingStages. */
export interface ForwardingStagesOptions {
  /** The sandbox's live view: upstreams and externalAccess are read per query (R15). */
  readonly view: ResolverView;
  readonly logger: Logger;
  /** The resolver's counters, shared with its pipeline (R16). */
  readonly metrics: ResolverMetrics;
  /** Clock for timeouts, cool-downs and a private cache; default the system clock. */
  readonly clock?: Clock | undefined;
  /** Where upstream sockets come from; default `{ host: hostDialer }`. */
  readonly dialers?: Dialers | undefined;
  /** A cache shared between sandboxes (createSharedCache), false for none; default a private one. */
  readonly cache?: SharedCache | false | undefined;
  /** Forwarding options; each defaults as in FORWARDING_DEFAULTS. */
  readonly options?: Partial<ForwardingOptions> | undefined;
}

/** The stages for createResolver and what the sandbox must call when it goes away. */
export interface ForwardingStages {
  /** Cache, in-flight limit, forwarder, in order. */
  readonly stages: readonly Handler[];
  /** Queries of this sandbox now in flight upstream (R14). */
  readonly inflight: number;
  /** Coalesced followers of this sandbox waiting now, and the bytes they hold (FS5). */
  readonly followers: { readonly count: number; readonly bytes: number };
  /** Close the upstream sockets; queries in flight end with SERVFAIL. */
  close(): Promise<void>;
}

/** What builds the exchanger, given the checked options (index.ts passes io/exchange.ts's). */
export type ExchangerFactory = (o: {
  readonly dialers: Dialers;
  readonly clock: Clock;
  readonly logger: Logger;
}) => Exchanger;

/** A cache to share between sandboxes' forwarding stages (R13); throws ERR_INVALID_OPTION on bad bounds. */
export function createSharedCache(options: Partial<CacheOptions> & { readonly clock?: Clock | undefined } = {}): SharedCache {
  return new SharedCache(normalizeCacheOptions(options));
}

/** Build the forwarding stages over `makeExchanger`; throws ERR_INVALID_OPTION on bad options (G9). */
export function buildForwardingStages(raw: ForwardingStagesOptions, makeExchanger: ExchangerFactory): ForwardingStages {
  const { view, logger, metrics, clock = systemClock, dialers, cache: cacheOpt } = checkStagesOptions(raw);
  const opts = normalizeForwardingOptions(raw.options);
  const log = logger.child({ component: 'forwarder' });
  const selector = new UpstreamSelector(opts.maxUpstreams, (s) => logSelection(log, s));
  const cache = cacheOpt === false ? undefined : (cacheOpt ?? createSharedCache({ clock }));
  const exchanger = makeExchanger({ dialers, clock, logger: log });
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
  const cached = cacheStage({
    view,
    selector,
    cache,
    coalesce: opts.coalesce,
    maxFollowersPerFlight: opts.maxFollowersPerFlight,
    maxFollowers: opts.maxFollowers,
    maxFollowerBytes: opts.maxFollowerBytes,
    metrics,
  });
  const stages = Object.freeze([cached.stage, limit.stage, forward]);
  return {
    stages,
    get inflight() {
      return limit.inflight;
    },
    get followers() {
      return cached.followers;
    },
    close: () => exchanger.close(),
  };
}

function checkStagesOptions(raw: ForwardingStagesOptions): ForwardingStagesOptions & { readonly dialers: Dialers } {
  if (raw === null || typeof raw !== 'object') throw new InvalidOptionError('options', 'must be an object');
  const { view, logger, metrics, dialers, cache } = raw;
  if (view === null || typeof view !== 'object' || !Array.isArray(view.upstreams)) {
    throw new InvalidOptionError('view', 'must be a ResolverView with an upstreams array');
  }
  if (logger === null || typeof logger !== 'object' || typeof logger.child !== 'function') {
    throw new InvalidOptionError('logger', 'must be a pino logger');
  }
  if (!(metrics instanceof ResolverMetrics)) throw new InvalidOptionError('metrics', 'must be the ResolverMetrics given to createResolver');
  if (dialers === undefined || typeof dialers.host?.udpQuery !== 'function' || typeof dialers.host.tcpConnect !== 'function') {
    throw new InvalidOptionError('dialers.host', 'must be a Dialer (udpQuery, tcpConnect)');
  }
  if (dialers.sandbox !== undefined && typeof dialers.sandbox.udpQuery !== 'function') {
    throw new InvalidOptionError('dialers.sandbox', 'must be a Dialer (udpQuery, tcpConnect) or undefined');
  }
  if (cache !== undefined && cache !== false && !(cache instanceof SharedCache)) {
    throw new InvalidOptionError('cache', 'must be a SharedCache from createSharedCache, false, or undefined');
  }
  return { ...raw, dialers };
}

// A dropped own address is logged at info, as Docker does; so is a sandbox left without host-side servers.
function logSelection(log: Logger, s: UpstreamSelection): void {
  for (const u of s.dropped) log.info({ upstream: u.address, origin: u.origin }, 'resolver: not using this address as an upstream DNS server (own address or invalid)');
  if (s.servers.length === 0 && s.blocked > 0) log.info({ blocked: s.blocked }, 'resolver: no external access, host-side upstream servers not used (R11)');
  log.debug({ upstreams: s.servers.map((x) => `${x.origin}:${x.label}`) }, 'resolver: upstream servers');
}
