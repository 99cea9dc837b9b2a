/**
 * Local answers (R3–R7, R9): a question × the sandbox's view → answer, NODATA
 * or miss (G6). Pure; reads the view's current arrays on every call (R15).
 * Every name comparison ignores ASCII case (RFC 4343 §3; FS8): peer names,
 * the network part of `name.network` and link aliases alike. Docker matches
 * network names and aliases case-sensitively and so forwards
 * `web.MyNet` upstream, to whatever address the upstream has for it.
 */
import { QCLASS, QTYPE } from './constants.js';
import type { AddressSet, ServiceTarget } from './records.js';
import { addressOfReverseName } from '../common/ip.js';
import { isReverseName } from './reverse.js';
import type { LinkAlias, NetworkView, ResolverView } from './view.js';

/** How a name was found: a link alias, a plain name, a reverse address or an SRV name. */
export type MatchVia = 'alias' | 'name' | 'reverse' | 'service';

/** The data of a local answer. */
export type AnswerData =
  | { readonly type: 'address'; readonly set: AddressSet }
  | { readonly type: 'ptr'; readonly target: string }
  | { readonly type: 'srv'; readonly targets: readonly ServiceTarget[] };

/** Why a local NODATA: the name has no data of the type (R6), the single-label rule (R9), or a non-IN class. */
export type NodataReason = 'no-data-of-type' | 'single-label' | 'class';

/** Result of the local lookup (G6): R6 is the `nodata` arm, never a forward. */
export type LocalResult =
  | {
      readonly kind: 'answer';
      readonly network: NetworkView;
      readonly name: string;
      readonly via: MatchVia;
      readonly data: AnswerData;
    }
  | {
      readonly kind: 'nodata';
      readonly network: NetworkView | undefined;
      readonly name: string;
      readonly via: MatchVia | undefined;
      readonly reason: NodataReason;
    }
  | { readonly kind: 'miss' };

/** The question fields local lookup needs (a Query satisfies it). */
export interface LocalQuestion {
  /** As asked, with trailing dot. */
  readonly name: string;
  /** Lowercased, no trailing dot. */
  readonly lname: string;
  readonly qtype: number;
  readonly qclass: number;
}

const MISS: LocalResult = Object.freeze({ kind: 'miss' });

/** Resolve a question against the view (R3–R7, R9). */
export function resolveLocal(view: ResolverView, q: LocalQuestion): LocalResult {
  const r =
    q.qtype === QTYPE.PTR && isReverseName(q.lname) ? resolveReverse(view, q.lname) : resolveForward(view, q);
  if (r.kind === 'miss') {
    // R9, ndots set, A/AAAA, no dot in the name → NODATA, not forwarded.
    const single = view.ndotsSet && (q.qtype === QTYPE.A || q.qtype === QTYPE.AAAA) && !q.lname.includes('.');
    return single ? nodata(undefined, q.lname, undefined, 'single-label') : MISS;
  }
  // Docker answers any class with IN data; we answer IN/ANY only and
  // keep other classes of a known name local as NODATA (R6: no leak upstream).
  if (r.kind === 'answer' && q.qclass !== QCLASS.IN && q.qclass !== QCLASS.ANY) {
    return nodata(r.network, r.name, r.via, 'class');
  }
  return r;
}

/** PTR for a full reverse name of an address some network knows (as Docker; unknown → miss). */
function resolveReverse(view: ResolverView, lname: string): LocalResult {
  const ip = addressOfReverseName(lname);
  if (ip === undefined) return MISS;
  for (const network of view.networks) {
    const target = network.records.lookupReverse(ip);
    if (target !== undefined) return { kind: 'answer', network, name: lname, via: 'reverse', data: { type: 'ptr', target } };
  }
  return MISS;
}

/**
 * Forward lookup over the `name.network` candidates: `a.b.c` tries
 * (a.b.c, any network), then (a.b, c), then (a, b.c); the first hit decides.
 */
function resolveForward(view: ResolverView, q: LocalQuestion): LocalResult {
  const { lname, qtype } = q;
  const r = lookupCandidate(view, lname, undefined, qtype);
  if (r !== undefined) return r;
  for (let i = lastDot(lname, lname.length - 1); i > 0; i = lastDot(lname, i - 1)) {
    const network = networkNamedAt(view, lname, i + 1);
    if (network === undefined) continue;
    const hit = lookupCandidate(view, lname.slice(0, i), network, qtype);
    if (hit !== undefined) return hit;
  }
  return MISS;
}

// The last '.' at or before `from`, or -1 (String#lastIndexOf is a runtime call; this loop is inlined).
function lastDot(s: string, from: number): number {
  for (let i = from; i >= 0; i--) if (s.charCodeAt(i) === 0x2e) return i;
  return -1;
}

/**
 * The network whose name is `lname[from, length)` ignoring ASCII case (FS8),
 * or undefined. Allocation-free: this runs for every dotted miss.
 */
function networkNamedAt(view: ResolverView, lname: string, from: number): string | undefined {
  const len = lname.length - from;
  for (const n of view.networks) {
    if (n.name.length === len && equalsLowered(n.name, lname, from)) return n.name;
  }
  return undefined;
}

// True when `name`, lowercased (ASCII only, RFC 4343 §3), equals `lname[from, from + name.length)`.
function equalsLowered(name: string, lname: string, from: number): boolean {
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lname.charCodeAt(from + i)) return false;
  }
  return true;
}

// Link aliases keyed by their lowercased form, rebuilt when the view swaps its map (R15).
const loweredAliases = new WeakMap<ReadonlyMap<string, readonly LinkAlias[]>, ReadonlyMap<string, readonly LinkAlias[]>>();

function aliasesOf(view: ResolverView): ReadonlyMap<string, readonly LinkAlias[]> {
  const declared = view.linkAliases;
  let m = loweredAliases.get(declared);
  if (m === undefined) {
    const lowered = new Map<string, LinkAlias[]>();
    for (const [k, v] of declared) {
      const key = (k.endsWith('.') ? k.slice(0, -1) : k).toLowerCase();
      lowered.set(key, [...(lowered.get(key) ?? []), ...v]); // declarations in the map's (R4) order
    }
    m = lowered;
    loweredAliases.set(declared, m);
  }
  return m;
}

/**
 * One candidate: the link-alias pass over every declaration of the name (each endpoint's, in R4 order; the first
 * whose target answers wins), then the name pass in view order, skipping every declaring network (R3, R4).
 */
function lookupCandidate(view: ResolverView, lname: string, only: string | undefined, qtype: number): LocalResult | undefined {
  const aliases = view.linkAliases.size === 0 ? undefined : aliasesOf(view).get(lname);
  for (const alias of aliases ?? []) {
    if (only !== undefined && alias.network !== only) continue;
    const network = view.networks.find((n) => n.name === alias.network);
    const target = alias.target.endsWith('.') ? alias.target.slice(0, -1) : alias.target;
    const hit = network === undefined ? undefined : lookupIn(network, target.toLowerCase(), 'alias', qtype);
    if (hit !== undefined) return hit;
  }
  for (const network of view.networks) {
    if (only !== undefined && network.name !== only) continue;
    // A link alias shadows a same-named peer on every declaring endpoint's network (R3).
    if (aliases?.some((a) => a.network === network.name) === true) continue;
    const hit = lookupIn(network, lname, 'name', qtype);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The answer or NODATA from one network, or undefined when it does not know the name. */
function lookupIn(network: NetworkView, lname: string, via: MatchVia, qtype: number): LocalResult | undefined {
  const set = network.records.lookup(lname);
  if (set !== undefined) {
    const has =
      qtype === QTYPE.A
        ? set.v4.length > 0
        : qtype === QTYPE.AAAA
          ? set.v6.length > 0
          : qtype === QTYPE.ANY && set.v4.length + set.v6.length > 0;
    // R6: a known name gets NODATA for every type it has no data for (MX: as Docker).
    // ANY gets the addresses (RFC 8482 §4.2 lets a responder return a subset).
    return has
      ? { kind: 'answer', network, name: lname, via, data: { type: 'address', set } }
      : nodata(network, lname, via, 'no-data-of-type');
  }
  const targets = network.records.lookupService(lname);
  if (targets === undefined) return undefined;
  return qtype === QTYPE.SRV && targets.length > 0
    ? { kind: 'answer', network, name: lname, via: 'service', data: { type: 'srv', targets } }
    : nodata(network, lname, 'service', 'no-data-of-type');
}

function nodata(network: NetworkView | undefined, name: string, via: MatchVia | undefined, reason: NodataReason): LocalResult {
  return { kind: 'nodata', network, name, via, reason };
}
