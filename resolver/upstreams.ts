/**
 * Which upstream servers a sandbox's query may go to, and in which order
 * (R10–R12). Pure: time comes from an injected Clock (G12).
 */
import type { Clock } from '../common/clock.js';
import { parseIp } from '../common/ip.js';
import type { ResolverView, Upstream, UpstreamOrigin } from './view.js';

/** The resolver's own address: never an upstream (R10). */
export const OWN_ADDRESS = '127.0.0.11';

/** One usable upstream server, normalised once per change of the view's list. */
export interface UpstreamServer {
  /** Canonical address (RFC 5952 for IPv6), as replies' source addresses are reported. */
  readonly address: string;
  readonly port: number;
  readonly origin: UpstreamOrigin;
  readonly family: 4 | 6;
  /** `address:port` (`[v6]:port`), the metrics label (R16). */
  readonly label: string;
  /** Identity for health and cache keys; sandbox-origin servers include the sandbox id. */
  readonly id: string;
}

/** The servers a query may use, the cache key of that set, and what was left out. */
export interface UpstreamSelection {
  /** Usable servers in configured order, at most `max`. */
  readonly servers: readonly UpstreamServer[];
  /**
   * Identity of the ordered set (R13): equal keys mean the same servers reached
   * from the same place. A sandbox-origin `10.0.0.2` is a different server in
   * each sandbox's namespace, so its id carries the sandbox id.
   */
  readonly key: string;
  /** Entries equal to 127.0.0.11 (dropped, as Docker) or with no valid address. */
  readonly dropped: readonly Upstream[];
  /** Host-origin entries skipped because the sandbox has no external access (R11). */
  readonly blocked: number;
}

/**
 * Filter and cap a view's upstreams: drop 127.0.0.11 (whatever its origin, R10)
 * and unparsable addresses, skip host-origin servers without external access,
 * then keep the first `max` (after the filters, so a sandbox's own `dns`
 * entry is not crowded out by host servers it may not use).
 */
export function selectUpstreams(view: Pick<ResolverView, 'id' | 'upstreams' | 'externalAccess'>, max: number): UpstreamSelection {
  const servers: UpstreamServer[] = [];
  const dropped: Upstream[] = [];
  let blocked = 0;
  for (const u of view.upstreams) {
    const address = normalizeAddress(u.address);
    if (address === undefined || address === OWN_ADDRESS || !Number.isInteger(u.port) || u.port < 1 || u.port > 65535) {
      dropped.push(u);
      continue;
    }
    if (u.origin === 'host' && !view.externalAccess) {
      blocked++;
      continue;
    }
    if (servers.length >= max) continue;
    const family = address.includes(':') ? 6 : 4;
    const label = family === 6 ? `[${address}]:${u.port}` : `${address}:${u.port}`;
    const id = u.origin === 'host' ? `host/${label}` : `sandbox/${view.id}/${label}`;
    servers.push({ address, port: u.port, origin: u.origin, family, label, id });
  }
  return { servers, key: servers.map((s) => s.id).join(','), dropped, blocked };
}

/** Canonical form of an upstream address; an IPv4-mapped IPv6 address becomes IPv4. */
export function normalizeAddress(address: string): string | undefined {
  const a = parseIp(address);
  return a === undefined ? undefined : (a.mappedV4 ?? a.text);
}

/**
 * Memoises selectUpstreams on the identity of the view's upstream array and
 * its externalAccess flag: the sandbox replaces the array on a change (R15,
 * G11), so a query costs two comparisons, not a re-parse.
 */
export class UpstreamSelector {
  readonly #max: number;
  readonly #onChange: (s: UpstreamSelection) => void;
  #list: readonly Upstream[] | undefined;
  #external = false;
  #current: UpstreamSelection | undefined;

  /** `onChange` sees each new selection once (e.g. to log dropped entries). */
  constructor(max: number, onChange: (s: UpstreamSelection) => void = () => undefined) {
    this.#max = max;
    this.#onChange = onChange;
  }

  /** The selection for the view as it is now. */
  select(view: ResolverView): UpstreamSelection {
    if (this.#current !== undefined && view.upstreams === this.#list && view.externalAccess === this.#external) {
      return this.#current;
    }
    const s = selectUpstreams(view, this.#max);
    const changed = this.#current === undefined || s.key !== this.#current.key || s.dropped.length !== this.#current.dropped.length;
    this.#list = view.upstreams;
    this.#external = view.externalAccess;
    this.#current = s;
    if (changed) this.#onChange(s);
    return s;
  }
}

/**
 * R12 memory of failures: a server that timed out, could not be reached or
 * refused recently is tried after the others until `cooldownMs` has passed
 * since its last failure, instead of first on every query (Docker keeps no
 * such memory and waits out a dead first server on every query).
 */
export class UpstreamHealth {
  readonly #clock: Clock;
  readonly #cooldownMs: number;
  readonly #failedAt = new Map<string, number>();

  constructor(clock: Clock, cooldownMs: number) {
    this.#clock = clock;
    this.#cooldownMs = cooldownMs;
  }

  /** Record a failure of `server` now. */
  failed(server: UpstreamServer): void {
    this.#failedAt.set(server.id, this.#clock.now());
  }

  /** Record a good reply: the server is no longer held back. */
  succeeded(server: UpstreamServer): void {
    if (this.#failedAt.size !== 0) this.#failedAt.delete(server.id);
  }

  /** True while `server` is in its cool-down. */
  coolingDown(server: UpstreamServer): boolean {
    const at = this.#failedAt.get(server.id);
    if (at === undefined) return false;
    if (this.#clock.now() - at < this.#cooldownMs) return true;
    this.#failedAt.delete(server.id);
    return false;
  }

  /** `servers` in trial order: servers in cool-down last, each group in configured order. */
  order(servers: readonly UpstreamServer[]): readonly UpstreamServer[] {
    if (this.#failedAt.size === 0 || servers.length < 2) return servers;
    const good: UpstreamServer[] = [];
    const held: UpstreamServer[] = [];
    for (const s of servers) (this.coolingDown(s) ? held : good).push(s);
    return held.length === 0 ? servers : good.concat(held);
  }
}
