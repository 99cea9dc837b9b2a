/**
 * The R13 stage, before the in-flight limit and the forwarder: a fresh cache
 * hit is answered at once (the pipeline fits it to the client, TC when cut);
 * a miss joins an identical query already in flight (same key, partition and
 * transport) or goes on, and its reply is stored.
 *
 * Coalescing is bounded (FS5, docs/behaviour.md): a flight takes at
 * most `maxFollowersPerFlight` followers and a sandbox at most `maxFollowers`
 * (past either the query is REFUSED at once) and `maxFollowerBytes` in all,
 * each follower charged its question and the reply it can be sent (past that
 * the query goes upstream on its own, under the in-flight cap).
 * A follower holds only its Query, which accept.ts keeps to the header and
 * question (ID, question, transport, EDNS size), never the datagram it came in.
 */
import { RCODE } from './constants.js';
import type { SharedCache } from './cache.js';
import { cacheKey } from './cache.js';
import { skipName } from './wire-read.js';
import { echoOwners, finishRelay } from './relay.js';
import type { ResolverMetrics } from './metrics.js';
import { errorReply, type Handler, type Reply } from './pipeline.js';
import type { Query } from './query.js';
import type { UpstreamSelector } from './upstreams.js';
import type { NetworkView, ResolverView } from './view.js';

// What a waiting follower costs beyond its question bytes: the Query object, its strings, a promise and a closure.
const FOLLOWER_OVERHEAD = 512;

/** What cacheStage needs. */
export interface CacheStageOptions {
  readonly view: ResolverView;
  readonly selector: UpstreamSelector;
  /** The cache, or undefined when caching is off (coalescing may still be on). */
  readonly cache: SharedCache | undefined;
  /** Coalesce identical queries in flight (R13). */
  readonly coalesce: boolean;
  /** Followers one flight may take. */
  readonly maxFollowersPerFlight: number;
  /** Followers of this sandbox waiting at once. */
  readonly maxFollowers: number;
  /** Bytes those followers may hold (question bytes plus a fixed overhead each). */
  readonly maxFollowerBytes: number;
  readonly metrics: ResolverMetrics;
}

/** One query in flight upstream and how many wait for it. */
interface Flight {
  readonly reply: Promise<Reply>;
  followers: number;
}

/** A stage plus what it holds now (for tests and the per-sandbox memory bound). */
export interface CacheStage {
  readonly stage: Handler;
  /** Followers waiting now, and the bytes they hold. */
  readonly followers: { readonly count: number; readonly bytes: number };
}

/**
 * The cache partition of a sandbox (cache.ts): its networks' names, sorted;
 * a sandbox on no network has its own. Tenants on other networks never share it.
 * Each name is written with its length first ("5:front3:web"), so no two sets
 * (and no set and a lone sandbox, "=id") give the same string, whatever the names hold.
 */
export function partitionOf(view: Pick<ResolverView, 'id' | 'networks'>): string {
  if (view.networks.length === 0) return `=${view.id}`;
  return view.networks.map((n) => `${n.name.length}:${n.name}`).sort().join('');
}

/** Build the R13 stage (see the file comment). */
export function cacheStage(o: CacheStageOptions): CacheStage {
  const { cache, metrics } = o;
  const inflight = flightTable();
  const followers = followerPool(o);
  let lastNetworks: readonly NetworkView[] | undefined;
  let partition = '';
  const partitionNow = (): string => {
    if (o.view.networks !== lastNetworks) {
      lastNetworks = o.view.networks;
      partition = partitionOf(o.view);
    }
    return partition;
  };

  const keep = (part: string, key: string, r: Reply): Reply => {
    if (cache !== undefined && r.kind === 'relay' && r.outcome === 'forwarded') cache.store(part, key, r.bytes);
    return r;
  };
  const stage: Handler = (q, next) => {
    const { servers, key: setKey } = o.selector.select(o.view);
    if (servers.length === 0) return next(q);
    const part = partitionNow();
    const key = cacheKey(setKey, q);
    if (cache !== undefined) {
      const hit = cache.lookup(part, key);
      if (hit !== undefined) {
        metrics.countForwarding(hit.bytes.length > q.maxSize ? 'cache_truncated' : 'cache_hit');
        return { kind: 'relay', bytes: cache.serve(hit, q), outcome: 'cached', owned: true };
      }
      metrics.countForwarding('cache_miss');
    }
    // A TCP flight apart from the UDP one (its reply may be larger). \u0002 never occurs in a key's name part: control
    // bytes are escaped there (\DDD), while a printable prefix ("tcp|") would collide with a name asked as such.
    const flightKey = q.transport === 'udp' ? key : `\u0002${key}`;
    const leader = o.coalesce ? inflight.get(flightKey) : undefined;
    if (leader !== undefined) return followers.join(leader, q, () => next(q));
    const r = next(q);
    if (!(r instanceof Promise)) return keep(part, key, r);
    if (!o.coalesce) return r.then((x) => keep(part, key, x));
    // The flight ends in the same reaction that stores the reply (one promise per query, not two).
    // (`at` is set below; clear() runs in a later reaction.)
    const clear = (): void => inflight.clear(flightKey, at, flight);
    const flight: Flight = {
      reply: r.then(
        (x) => {
          clear();
          return keep(part, key, x);
        },
        (err: unknown) => {
          clear();
          throw err;
        },
      ),
      followers: 0,
    };
    const at = inflight.add(flightKey, flight);
    return flight.reply;
  };
  return {
    stage,
    get followers() {
      return followers.now();
    },
  };
}

/**
 * The flights in progress by key: key → slot (a small integer) in a Map, the flight in an array at that slot. Not a
 * Map of flights: a Map churned once per query keeps what it held alive across scavenges after each rehash (why:
 * common/live-list.ts), here each query's whole promise chain; slot numbers and key strings hold nothing, and a
 * cleared array slot points at nothing.
 */
function flightTable(): {
  get(key: string): Flight | undefined;
  /** Returns the flight's slot, for clear(). */
  add(key: string, flight: Flight): number;
  clear(key: string, at: number, flight: Flight): void;
} {
  const slotOf = new Map<string, number>();
  const flights: (Flight | undefined)[] = [];
  const free: number[] = [];
  return {
    get(key) {
      const at = slotOf.get(key);
      return at === undefined ? undefined : flights[at];
    },
    add(key, flight) {
      const at = free.pop() ?? flights.length;
      flights[at] = flight;
      slotOf.set(key, at);
      return at;
    },
    clear(key, at, flight) {
      if (flights[at] !== flight) return;
      flights[at] = undefined;
      free.push(at);
      if (slotOf.get(key) === at) slotOf.delete(key);
    },
  };
}

// The followers of one sandbox under the FS5 bounds: join() answers a follower from its flight, REFUSED, or alone().
function followerPool(o: CacheStageOptions): {
  join(flight: Flight, q: Query, alone: () => Reply | Promise<Reply>): Reply | Promise<Reply>;
  now(): { count: number; bytes: number };
} {
  let count = 0;
  let bytes = 0;
  return {
    join(flight, q, alone) {
      if (flight.followers >= o.maxFollowersPerFlight || count >= o.maxFollowers) {
        o.metrics.countForwarding('coalesce_refused');
        return errorReply(q, RCODE.REFUSED);
      }
      // Charged up front for the reply it will be sent too (at most its transport's limit): when the flight lands every
      // follower's copy is made in one run, so the bound holds then as well, whatever size the upstream answers with.
      // Past the byte bound (a few large-limit followers: TCP, EDNS 65,535) the query goes upstream on its own, under
      // the in-flight cap, whose queries each hold at most one upstream reply, rather than being refused.
      const size = q.raw.length + FOLLOWER_OVERHEAD + q.maxSize;
      if (bytes + size > o.maxFollowerBytes) {
        o.metrics.countForwarding('coalesce_bypassed');
        return alone();
      }
      o.metrics.countForwarding('coalesced');
      flight.followers++;
      count++;
      bytes += size;
      const leave = (): void => {
        count--;
        bytes -= size;
      };
      return flight.reply.then(
        (r) => {
          leave();
          return follow(r, q);
        },
        (err: unknown) => {
          leave();
          throw err;
        },
      );
    },
    now: () => ({ count, bytes }),
  };
}

// A coalesced query takes the leader's reply as its own: one copy, already cut to this follower's limit with its
// OPT (relay.ts finishRelay), its question's case (R3 echo) and owners (FS6), its ID: finished here, so 'built'.
function follow(r: Reply, q: Query): Reply {
  if (r.kind === 'drop') return r;
  if (r.kind === 'built') return errorReply(q, r.rcode);
  const leader = r.bytes;
  const hasQuestion = leader.length >= q.questionEnd && leader.readUInt16BE(4) === 1;
  // The same question by key, so the same length; checked all the same: a copy over a question of another length
  // would overwrite the reply's first record.
  if (hasQuestion && skipName(leader, 12) + 4 !== q.questionEnd) return errorReply(q, RCODE.SERVFAIL);
  const bytes = finishRelay(leader, q, false);
  if (hasQuestion && bytes.length >= q.questionEnd) {
    q.raw.copy(bytes, 12, 12, q.questionEnd);
    echoOwners(bytes, q);
  }
  bytes[0] = q.id >> 8;
  bytes[1] = q.id & 0xff;
  return { kind: 'built', bytes, rcode: bytes[3]! & 0x0f, outcome: r.outcome };
}
