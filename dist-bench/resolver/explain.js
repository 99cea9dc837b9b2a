/**
 * explain(): which network and record would answer a name, or why NODATA or a
 * miss, for `sandns resolve` (R3–R7, R9). Runs the same resolveLocal as the
 * hot path, so it cannot disagree with it.
 */
import dnsTypes from 'dns-packet/types.js';
import { normalizeName } from '../common/dns-name.js';
import { InvalidOptionError } from '../common/errors.js';
import { QCLASS } from './constants.js';
import { resolveLocal } from './local.js';
import { typeName } from './metrics.js';
/** Explain the local answer for `name` and `qtype` (mnemonic or number; default A) in class IN. */
export function explain(view, name, qtype = 'A') {
    const type = typeof qtype === 'number' ? qtype : dnsTypes.toType(qtype.toUpperCase());
    if (!Number.isInteger(type) || type <= 0 || type > 65535) {
        throw new InvalidOptionError('qtype', `must be a record type mnemonic or number (got ${JSON.stringify(qtype)})`);
    }
    const asked = name.endsWith('.') ? name : `${name}.`;
    const result = resolveLocal(view, { name: asked, lname: normalizeName(name), qtype: type, qclass: QCLASS.IN });
    const t = typeName(type);
    return { name: asked, qtype: t, result, summary: summarize(result, asked, t) };
}
function summarize(r, name, t) {
    if (r.kind === 'miss') {
        return `${t} ${name}: not known on any network of this sandbox; forwarded upstream, or SERVFAIL without upstreams`;
    }
    const where = r.network === undefined ? '' : ` on network ${r.network.name} (via ${r.via ?? 'name'} "${r.name}")`;
    if (r.kind === 'nodata') {
        const why = r.reason === 'single-label'
            ? 'single-label name with ndots set (R9)'
            : r.reason === 'class'
                ? 'known name, class other than IN'
                : `known name without ${t} data (R6)`;
        return `${t} ${name}: NODATA${where}: ${why}`;
    }
    const d = r.data;
    const data = d.type === 'address'
        ? [...d.set.v4, ...d.set.v6].join(', ')
        : d.type === 'ptr'
            ? `${d.target}.`
            : d.targets.map((s) => `${s.target}.:${s.port}`).join(', ');
    return `${t} ${name}: answered${where}, TTL ${r.network.ttl}: ${data}`;
}
//# sourceMappingURL=explain.js.map