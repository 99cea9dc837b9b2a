/**
 * Local answers (R3–R7, R9): a question × the sandbox's view → answer, NODATA
 * or miss (G6). Pure; reads the view's current arrays on every call (R15).
 */
import { QCLASS, QTYPE } from './constants.js';
import { isReverseName, reverseNameToAddress } from './reverse.js';
const MISS = Object.freeze({ kind: 'miss' });
/** Resolve a question against the view (R3–R7, R9). */
export function resolveLocal(view, q) {
    const r = q.qtype === QTYPE.PTR && isReverseName(q.lname) ? resolveReverse(view, q.lname) : resolveForward(view, q);
    if (r.kind === 'miss') {
        // R9, Docker 1.G 45: ndots set, A/AAAA, no dot in the name → NODATA, not forwarded.
        const single = view.ndotsSet && (q.qtype === QTYPE.A || q.qtype === QTYPE.AAAA) && !q.lname.includes('.');
        return single ? nodata(undefined, q.lname, undefined, 'single-label') : MISS;
    }
    // Docker answers any class with IN data (1.B 14); we answer IN/ANY only and
    // keep other classes of a known name local as NODATA (R6: no leak upstream).
    if (r.kind === 'answer' && q.qclass !== QCLASS.IN && q.qclass !== QCLASS.ANY) {
        return nodata(r.network, r.name, r.via, 'class');
    }
    return r;
}
/** PTR for a full reverse name of an address some network knows (1.C 17; unknown → miss). */
function resolveReverse(view, lname) {
    const ip = reverseNameToAddress(lname);
    if (ip === undefined)
        return MISS;
    for (const network of view.networks) {
        const target = network.records.lookupReverse(ip);
        if (target !== undefined)
            return { kind: 'answer', network, name: lname, via: 'reverse', data: { type: 'ptr', target } };
    }
    return MISS;
}
/**
 * Forward lookup over the `name.network` candidates (1.D 22): `a.b.c` tries
 * (a.b.c, any network), then (a.b, c), then (a, b.c); the first hit decides.
 */
function resolveForward(view, q) {
    const { lname, qtype } = q;
    const asked = view.linkAliases.size === 0 && !lname.includes('.') ? lname : q.name.slice(0, -1);
    const r = lookupCandidate(view, asked, lname, undefined, qtype);
    if (r !== undefined)
        return r;
    for (let i = lname.lastIndexOf('.'); i > 0; i = lname.lastIndexOf('.', i - 1)) {
        const network = asked.slice(i + 1); // network names match case-sensitively (1.D 21)
        if (!view.networks.some((n) => n.name === network))
            continue;
        const hit = lookupCandidate(view, asked.slice(0, i), lname.slice(0, i), network, qtype);
        if (hit !== undefined)
            return hit;
    }
    return MISS;
}
/** One candidate: the link-alias pass, then the name pass in view order (1.D 23, 1.E 32). */
function lookupCandidate(view, asked, lname, only, qtype) {
    const alias = view.linkAliases.size === 0 ? undefined : view.linkAliases.get(asked);
    if (alias !== undefined && (only === undefined || alias.network === only)) {
        const network = view.networks.find((n) => n.name === alias.network);
        const target = alias.target.endsWith('.') ? alias.target.slice(0, -1) : alias.target;
        const hit = network === undefined ? undefined : lookupIn(network, target.toLowerCase(), 'alias', qtype);
        if (hit !== undefined)
            return hit;
    }
    for (const network of view.networks) {
        if (only !== undefined && network.name !== only)
            continue;
        // A link alias shadows a same-named peer on the declaring endpoint's network (R3, 1.D 23).
        if (alias !== undefined && alias.network === network.name)
            continue;
        const hit = lookupIn(network, lname, 'name', qtype);
        if (hit !== undefined)
            return hit;
    }
    return undefined;
}
/** The answer or NODATA from one network, or undefined when it does not know the name. */
function lookupIn(network, lname, via, qtype) {
    const set = network.records.lookup(lname);
    if (set !== undefined) {
        const has = qtype === QTYPE.A
            ? set.v4.length > 0
            : qtype === QTYPE.AAAA
                ? set.v6.length > 0
                : qtype === QTYPE.ANY && set.v4.length + set.v6.length > 0;
        // R6: a known name gets NODATA for every type it has no data for (MX: 1.C 16).
        // ANY gets the addresses (RFC 8482 §4.2 lets a responder return a subset).
        return has
            ? { kind: 'answer', network, name: lname, via, data: { type: 'address', set } }
            : nodata(network, lname, via, 'no-data-of-type');
    }
    const targets = network.records.lookupService(lname);
    if (targets === undefined)
        return undefined;
    return qtype === QTYPE.SRV && targets.length > 0
        ? { kind: 'answer', network, name: lname, via: 'service', data: { type: 'srv', targets } }
        : nodata(network, lname, 'service', 'no-data-of-type');
}
function nodata(network, name, via, reason) {
    return { kind: 'nodata', network, name, via, reason };
}
//# sourceMappingURL=local.js.map