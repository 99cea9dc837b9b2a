/**
 * ResolverView: what one sandbox's resolver needs to know about the sandbox
 * (STYLE G2: the consumer owns the interface; sandbox/ implements it).
 *
 * The resolver reads the view on every query, so a join or leave that swaps
 * the sandbox's arrays is visible at once (R15, G11).
 */
import type { RecordTable } from './records.js';

/** One network the sandbox is attached to, as the resolver sees it. */
export interface NetworkView {
  /** Network name (used for `name.network` qualification and PTR targets). */
  readonly name: string;
  /** The network's record table, shared by every sandbox on the network. */
  readonly records: RecordTable;
  /** TTL of local answers from this network, in seconds (R5; default 600). */
  readonly ttl: number;
  /** True for an internal network (no external access through it). */
  readonly internal: boolean;
}

/** A link alias declared by this sandbox's endpoint (R3): alias -> target on a network. */
export interface LinkAlias {
  /** The target's DNS name on `network`. */
  readonly target: string;
  /** The network the target is looked up on. */
  readonly network: string;
}

/** Where an external server is queried from (R11). */
export type UpstreamOrigin = 'host' | 'sandbox';

/** One external DNS server. */
export interface Upstream {
  /** IPv4 or IPv6 address (no zone). */
  readonly address: string;
  /** Port, normally 53. */
  readonly port: number;
  /** 'host': queried from the controller's namespace; 'sandbox': from the sandbox's own. */
  readonly origin: UpstreamOrigin;
}

/** The live view of one sandbox that its resolver consults per query. */
export interface ResolverView {
  /** Sandbox id (for logs and metrics). */
  readonly id: string;
  /** Networks the sandbox is on, in R4 order (first that knows a name decides). */
  readonly networks: readonly NetworkView[];
  /** Link aliases of this sandbox, keyed by alias as declared (matched ignoring case, FS8): every endpoint's declaration, in R4 order. */
  readonly linkAliases: ReadonlyMap<string, readonly LinkAlias[]>;
  /** True when the sandbox's resolv.conf options carry any ndots (R9). */
  readonly ndotsSet: boolean;
  /** External servers, in order (R10). Empty: no forwarding. */
  readonly upstreams: readonly Upstream[];
  /** False when only internal networks are attached: host-origin upstreams are skipped (R11). */
  readonly externalAccess: boolean;
}
