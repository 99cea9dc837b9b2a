/**
 * The resolver's public door (G1): one sandbox's embedded DNS server
 * (R1–R9, R14–R16). createResolver wires the pure pipeline to io/server.ts.
 */
import { childLogger } from '../common/log.js';
import { AlreadyServingError } from './errors.js';
import { buildForwardingStages, type ForwardingStages, type ForwardingStagesOptions } from './forwarding.js';
import { hostDialer } from './io/dialer.js';
import { createExchanger } from './io/exchange.js';
import { serveSockets, type ServeHandles, type SocketServer } from './io/server.js';
import type { ResolverMetrics } from './metrics.js';
import { normalizeResolverOptions, type ResolverOptions } from './options.js';
import { createPipeline } from './pipeline.js';
import type { Transport } from './query.js';
import type { ResolverView } from './view.js';

export type { NetworkView, LinkAlias, Upstream, UpstreamOrigin, ResolverView } from './view.js';
export { RecordTable, canonicalAddress } from './records.js';
export type { EndpointRecord, EndpointPort, RecordEntry, AddressSet, ServiceTarget } from './records.js';
export type { Query, Edns, Transport } from './query.js';
export { maxReplySize } from './query.js';
export type { Reply, Handler, Next, HandleFn } from './pipeline.js';
export { errorReply } from './pipeline.js';
export { buildErrorReply } from './answer.js';
export { ResolverMetrics, renderPrometheus, typeName, rcodeName, OUTCOMES, LATENCY_BUCKETS } from './metrics.js';
export type { Outcome, MetricsSnapshot } from './metrics.js';
export type { LocalResult, AnswerData, MatchVia, NodataReason } from './local.js';
export { explain } from './explain.js';
export type { Explanation } from './explain.js';
export { TCP_DEFAULTS } from './options.js';
export type { ResolverOptions, TcpLimits } from './options.js';
export type { ServeHandles } from './io/server.js';
export { addressToReverseName, reverseNameToAddress } from './reverse.js';
export { QTYPE, QCLASS, RCODE, OUR_UDP_SIZE, MAX_QUERY_SIZE } from './constants.js';
export { InvalidRecordError, EncodeError, AlreadyServingError, RESOLVER_ERROR_CODES } from './errors.js';
export { createSharedCache, buildForwardingStages } from './forwarding.js';
export type { Dialers, ForwardingStages, ForwardingStagesOptions, ExchangerFactory } from './forwarding.js';
export { SharedCache, analyzeReply, cacheKey } from './cache.js';
export type { CacheEntry, ReplyShape } from './cache.js';
export { partitionOf } from './cache-stage.js';
export { normalizeReply, finishRelay } from './relay.js';
export type { NormalizedReply } from './relay.js';
export { buildUpstreamQuery, echoesCase } from './upstream-query.js';
export type { UpstreamQuery } from './upstream-query.js';
export { CaseEchoPolicy } from './case-echo.js';
export { matchesQuestion } from './forward.js';
export type { Exchanger, ExchangeResult, ExchangeFailure } from './forward.js';
export { selectUpstreams, UpstreamHealth, OWN_ADDRESS } from './upstreams.js';
export type { UpstreamServer, UpstreamSelection } from './upstreams.js';
export { RateLimitedLog } from './limits.js';
export { FORWARDING_DEFAULTS, CACHE_DEFAULTS } from './options.js';
export type { ForwardingOptions, CacheOptions } from './options.js';
export { FORWARDING_EVENTS, METRIC_QTYPES, METRIC_RCODES, MAX_SERVER_LABELS } from './metrics.js';
export type { ForwardingEvent } from './metrics.js';
export { hostDialer, connectTcp, connectUdp } from './io/dialer.js';
export type { Dialer, Family } from './io/dialer.js';

/**
 * One sandbox's forwarding stages (R10–R14) over real sockets: pass `stages`
 * to createResolver with the same `metrics`, and call close() with the
 * resolver's. `dialers` defaults to `{ host: hostDialer }` (no sandbox-origin
 * servers). Throws ERR_INVALID_OPTION on bad options.
 */
export function createForwardingStages(options: ForwardingStagesOptions): ForwardingStages {
  return buildForwardingStages({ ...options, dialers: options.dialers ?? { host: hostDialer } }, createExchanger);
}

/** One sandbox's resolver. */
export interface Resolver {
  readonly view: ResolverView;
  /** R16 counters of this resolver (see renderPrometheus). */
  readonly metrics: ResolverMetrics;
  /** Answer one packet without sockets (unit tests, benchmarks); never throws. */
  handle(bytes: Buffer, transport: Transport): Buffer | undefined | Promise<Buffer | undefined>;
  /** Serve bound UDP and TCP handles (R1) until close(); once per resolver. */
  serve(handles: ServeHandles): void;
  /** Stop serving and close the handles. */
  close(): Promise<void>;
}

/** Create a resolver over a sandbox's live view. Throws ERR_INVALID_OPTION on bad options. */
export function createResolver(options: ResolverOptions): Resolver {
  const opts = normalizeResolverOptions(options);
  const logger = childLogger(opts.logger, { component: 'resolver', sandbox: opts.view.id });
  const metrics = opts.metrics;
  const handle = createPipeline({ view: opts.view, stages: opts.stages, logger, metrics, clock: opts.clock });
  let server: SocketServer | undefined;
  return {
    view: opts.view,
    metrics,
    handle,
    serve(handles) {
      if (server !== undefined) throw new AlreadyServingError(opts.view.id);
      server = serveSockets(handles, handle, { logger, tcp: opts.tcp });
    },
    async close() {
      const s = server;
      server = undefined;
      await s?.close();
    },
  };
}
