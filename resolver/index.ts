/**
 * The resolver's public door (G1): one sandbox's embedded DNS server
 * (R1–R16). createResolver builds everything a resolver needs from its
 * options (the pipeline, the forwarding stages, the counters) and wires the
 * real sockets (io/) in; other folders use only what is exported here.
 */
import { systemClock } from '../common/clock.js';
import { childLogger } from '../common/log.js';
import { AlreadyServingError } from './errors.js';
import { buildForwardingStages, type ForwardingStages } from './forwarding.js';
import { hostDialer } from './io/dialer.js';
import { createExchanger } from './io/exchange.js';
import { serveSockets, type ServeHandles, type SocketServer } from './io/server.js';
import { ResolverMetrics } from './metrics.js';
import { normalizeResolverOptions, type ResolverForwarding, type ResolverOptions } from './options.js';
import { createPipeline } from './pipeline.js';
import type { Transport } from './query.js';
import type { ResolverView } from './view.js';

export type { NetworkView, LinkAlias, Upstream, UpstreamOrigin, ResolverView } from './view.js';
export { RecordTable } from './records.js';
export type { EndpointRecord } from './records.js';
export type { ResolverMetrics } from './metrics.js';
export { renderPrometheus } from './metrics.js';
export { explain } from './explain.js';
export type { Explanation } from './explain.js';
export type { ResolverOptions, ResolverForwarding, ForwardingOptions, CacheOptions, TcpLimits } from './options.js';
export type { ServeHandles, DatagramListener, UdpPeer } from './io/server.js';
export type { Transport } from './query.js';
export type { Dialer, Family, SocketEnd, UdpFlight, UdpSink } from './io/dialer.js';
export { hostDialer, connectUdp, dgramQuery } from './io/dialer.js';
export { MAX_QUERY_SIZE } from './constants.js';
export { createSharedCache } from './forwarding.js';
export type { SharedCache } from './cache.js';

/** One sandbox's resolver. */
export interface Resolver {
  readonly view: ResolverView;
  /** This resolver's counters (R16): queries by type and outcome, upstream errors, latency; see renderPrometheus. */
  readonly metrics: ResolverMetrics;
  /** Queries of this resolver now in flight upstream (R14); 0 without forwarding. */
  readonly inflight: number;
  /**
   * Answer one packet without sockets (unit tests, benchmarks): the reply
   * bytes, or undefined when the packet is dropped (R2). Never throws: an
   * unexpected error becomes SERVFAIL and one warning (G8).
   */
  handle(bytes: Buffer, transport: Transport): Buffer | undefined | Promise<Buffer | undefined>;
  /** Serve bound UDP and TCP handles (R1) until close(); once per resolver, else throws ERR_RESOLVER_ALREADY_SERVING. */
  serve(handles: ServeHandles): void;
  /** Stop serving, close the handles and the upstream sockets; queries in flight upstream end with SERVFAIL. */
  close(): Promise<void>;
}

function forwardingOf(options: ResolverOptions, metrics: ResolverMetrics, logger: ResolverOptions['logger']): ForwardingStages | undefined {
  const fwd: ResolverForwarding | false | undefined = options.forwarding;
  if (fwd === undefined || fwd === false) return undefined;
  return buildForwardingStages({
    view: options.view, logger, metrics, clock: options.clock ?? systemClock, cache: fwd.cache,
    dialers: { host: fwd.dialers?.host ?? hostDialer, sandbox: fwd.dialers?.sandbox },
    ...(fwd.options === undefined ? {} : { options: fwd.options }),
  }, fwd.exchanger ?? createExchanger);
}

/**
 * Create one sandbox's resolver over its live view.
 *
 * `options.view` is read on every query (R15). With `options.forwarding`
 * the resolver builds its own cache stage (a private cache, or
 * `forwarding.cache` shared between sandboxes), in-flight limit and
 * forwarder (R10–R14) and sends upstream through `forwarding.dialers`
 * (default: sockets in the caller's namespace). `options.tcp` limits are in
 * milliseconds, queries and bytes (TCP_DEFAULTS). Counters are created here
 * and shared by every stage (`resolver.metrics`).
 *
 * Throws ERR_INVALID_OPTION naming the field: a view without networks or
 * upstreams, no logger, a stage that is not a function, a TCP limit or
 * forwarding option out of range, a cache that is not a SharedCache, a
 * dialer without udpQuery/tcpConnect.
 */
export function createResolver(options: ResolverOptions): Resolver {
  const opts = normalizeResolverOptions(options);
  const logger = childLogger(opts.logger, { component: 'resolver', sandbox: opts.view.id });
  const metrics = new ResolverMetrics(opts.view.id);
  const forwarding = forwardingOf(options, metrics, opts.logger);
  const stages = [...opts.stages, ...(forwarding?.stages ?? [])];
  const handle = createPipeline({ view: opts.view, stages, logger, metrics, clock: opts.clock });
  let server: SocketServer | undefined;
  return {
    view: opts.view,
    metrics,
    get inflight() {
      return forwarding?.inflight ?? 0;
    },
    handle,
    serve(handles) {
      if (server !== undefined) throw new AlreadyServingError(opts.view.id);
      server = serveSockets(handles, handle, { logger, tcp: opts.tcp });
    },
    async close() {
      const s = server;
      server = undefined;
      await s?.close();
      await forwarding?.close();
    },
  };
}
