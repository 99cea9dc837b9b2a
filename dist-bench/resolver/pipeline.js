import { acceptQuery } from './accept.js';
import { buildErrorReply, buildLocalReply } from './answer.js';
import { RCODE } from './constants.js';
import { resolveLocal } from './local.js';
import { typeName } from './metrics.js';
/** An error reply (SERVFAIL, REFUSED ...) to an accepted query, counted as outcome 'error'. */
export function errorReply(q, rcode) {
    return { kind: 'built', bytes: buildErrorReply(q, rcode), rcode, outcome: 'error' };
}
/** The local stage (R3–R7, R9): answers or NODATA at once, a miss goes to `next`. */
export function localStage(view) {
    return (q, next) => {
        const r = resolveLocal(view, q);
        if (r.kind === 'miss')
            return next(q);
        const outcome = r.kind === 'answer' ? 'local' : 'nodata';
        return { kind: 'built', bytes: buildLocalReply(q, r), rcode: RCODE.NOERROR, outcome };
    };
}
/** Build the chain and return the per-packet entry point. */
export function createPipeline(opts) {
    const ctx = { logger: opts.logger, metrics: opts.metrics, clock: opts.clock };
    const chain = compose([localStage(opts.view), ...opts.stages], (q) => errorReply(q, RCODE.SERVFAIL));
    return (bytes, transport) => {
        const t0 = ctx.clock.now();
        const q = admit(ctx, bytes, transport, t0);
        if (q === undefined || q instanceof Uint8Array)
            return q;
        let r;
        try {
            r = chain(q);
        }
        catch (err) {
            r = fail(ctx, q, err);
        }
        if (!(r instanceof Promise))
            return settle(ctx, q, r, t0);
        return r.then((x) => settle(ctx, q, x, t0), (err) => settle(ctx, q, fail(ctx, q, err), t0));
    };
}
// R2: a Query, or the FORMERR/NOTIMP/BADVERS bytes to send, or undefined (drop); counted here.
function admit(ctx, bytes, transport, t0) {
    let acc;
    try {
        acc = acceptQuery(bytes, transport);
    }
    catch (err) {
        // accept.ts is written never to throw; should it, the packet is dropped, not the process.
        ctx.logger.warn({ err }, 'resolver: could not parse a query, dropped');
        acc = { kind: 'drop' };
    }
    if (acc.kind === 'query')
        return acc;
    const seconds = (ctx.clock.now() - t0) / 1000;
    if (acc.kind === 'drop') {
        ctx.metrics.observe(-1, -1, 'dropped', seconds);
        return undefined;
    }
    ctx.metrics.observe(-1, acc.rcode, 'error', seconds);
    return acc.bytes;
}
// G8: the one place an unexpected error becomes SERVFAIL, with one warning.
function fail(ctx, q, err) {
    ctx.logger.warn({ err, name: q.name, qtype: typeName(q.qtype) }, 'resolver: query failed, answering SERVFAIL');
    return errorReply(q, RCODE.SERVFAIL);
}
// Reply → bytes (a relay gets the query's ID), then metrics and the debug line (R16).
function settle(ctx, q, reply, t0) {
    let r = reply;
    if (r.kind === 'relay' && r.bytes.length < 12)
        r = fail(ctx, q, new Error('relayed reply shorter than a DNS header'));
    let bytes;
    let rcode = -1;
    if (r.kind === 'built') {
        bytes = r.bytes;
        rcode = r.rcode;
    }
    else if (r.kind === 'relay') {
        bytes = r.owned === true ? r.bytes : Buffer.from(r.bytes);
        bytes.writeUInt16BE(q.id, 0);
        rcode = bytes[3] & 0x0f;
    }
    const outcome = r.kind === 'drop' ? 'dropped' : r.outcome;
    ctx.metrics.observe(q.qtype, rcode, outcome, (ctx.clock.now() - t0) / 1000);
    if (ctx.logger.isLevelEnabled('debug')) {
        ctx.logger.debug({ name: q.name, qtype: typeName(q.qtype), transport: q.transport, rcode, outcome }, 'query');
    }
    return bytes;
}
/** Chain the stages right to left so each one's `next` is the rest (CoreDNS NextOrFailure). */
function compose(stages, last) {
    let next = last;
    for (let i = stages.length - 1; i >= 0; i--) {
        const stage = stages[i];
        const rest = next;
        next = (q) => stage(q, rest);
    }
    return next;
}
//# sourceMappingURL=pipeline.js.map