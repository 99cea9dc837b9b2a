import { RCODE } from './constants.js';
import { RateLimitedLog } from './limits.js';
/**
 * True when `reply` is a response to the question in `query[12, questionEnd)`:
 * QR set, opcode QUERY, one question equal to ours ignoring ASCII case
 * (RFC 4343; some servers randomise case, draft-vixie-dnsext-dns0x20). An
 * error reply with no question (FORMERR, REFUSED ... from some servers) also
 * matches: it only causes failover or is relayed, never cached.
 */
export function matchesQuestion(reply, query, questionEnd) {
    if (reply.length < 12 || (reply[2] & 0xf8) !== 0x80)
        return false;
    const qd = (reply[4] << 8) | reply[5];
    const rcode = reply[3] & 0x0f;
    if (qd === 0)
        return rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN;
    if (qd !== 1 || reply.length < questionEnd)
        return false;
    const nameEnd = questionEnd - 4;
    for (let i = 12; i < nameEnd; i++) {
        const a = reply[i];
        const b = query[i];
        if (a === b)
            continue;
        const lower = a | 0x20;
        if (lower !== (b | 0x20) || lower < 0x61 || lower > 0x7a)
            return false;
    }
    for (let i = nameEnd; i < questionEnd; i++)
        if (reply[i] !== query[i])
            return false;
    return true;
}
/** Build the R10 forwarding stage. */
export function forwardStage(o) {
    const { clock, health, metrics, logger } = o;
    let last = { server: '', reason: 'timeout' };
    // Docker logs every upstream timeout at error (1.J 63, pain point 20): we log each at debug, warn at most every interval.
    const warn = new RateLimitedLog(clock, o.logIntervalMs, (suppressed) => logger.warn({ upstream: last.server, reason: last.reason, err: last.error, suppressed }, 'resolver: upstream server failed'));
    const note = (s, q, reason, error) => {
        if (reason === 'closed')
            return;
        metrics.upstreamError(s.label, reason);
        // R12: SERVFAIL is often about one name (e.g. a DNSSEC failure), not the server, and
        // 'overload' (no free query ID) is ours: no cool-down for either.
        if (reason !== 'servfail' && reason !== 'overload')
            health.failed(s);
        if (logger.isLevelEnabled('debug'))
            logger.debug({ upstream: s.label, reason, name: q.name, err: error }, 'resolver: upstream attempt failed');
        last = { server: s.label, reason, error };
        warn.hit();
    };
    const forward = async (q, next, servers) => {
        const deadline = clock.now() + o.budgetMs;
        for (const s of health.order(servers)) {
            const left = deadline - clock.now();
            if (left < 1)
                break;
            metrics.upstreamQuery(s.label);
            const r = await o.exchanger.exchange(s, q, Math.min(o.timeoutMs, left));
            if (!r.ok) {
                note(s, q, r.reason, r.error);
                if (r.reason === 'closed')
                    break;
                continue;
            }
            const rcode = r.bytes[3] & 0x0f;
            if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) {
                note(s, q, rcode === RCODE.SERVFAIL ? 'servfail' : 'refused');
                continue;
            }
            health.succeeded(s);
            return { kind: 'relay', bytes: r.bytes, outcome: 'forwarded', owned: true };
        }
        return next(q);
    };
    return (q, next) => {
        const { servers } = o.selector.select(o.view);
        return servers.length === 0 ? next(q) : forward(q, next, servers);
    };
}
//# sourceMappingURL=forward.js.map