/**
 * explain(): which network and record would answer a name, or why NODATA or a
 * miss, for `sandns resolve` (R3–R7, R9). Runs the same resolveLocal as the
 * hot path, so it cannot disagree with it.
 */
import dnsTypes from 'dns-packet/types.js';
import { normalizeName } from '../common/dns-name.js';
import { InvalidOptionError } from '../common/errors.js';
import { QCLASS } from './constants.js';
import { resolveLocal, type LocalResult } from './local.js';
import { typeName } from './metrics.js';
import type { ResolverView } from './view.js';

/** What the local stage would do with a question, and why. */
export interface Explanation {
  /** The name as given, with a trailing dot. */
  readonly name: string;
  readonly qtype: string;
  readonly result: LocalResult;
  /** One line for humans. */
  readonly summary: string;
}

/** Explain the local answer for `name` and `qtype` (mnemonic or number; default A) in class IN. */
export function explain(view: ResolverView, name: string, qtype: string | number = 'A'): Explanation {
  const type = typeof qtype === 'number' ? qtype : dnsTypes.toType(qtype.toUpperCase());
  if (!Number.isInteger(type) || type <= 0 || type > 65535) {
    throw new InvalidOptionError('qtype', `must be a record type mnemonic or number (got ${JSON.stringify(qtype)})`);
  }
  const asked = name.endsWith('.') ? name : `${name}.`;
  const result = resolveLocal(view, { name: asked, lname: normalizeName(name), qtype: type, qclass: QCLASS.IN });
  const t = typeName(type);
  return { name: asked, qtype: t, result, summary: summarize(result, asked, t) };
}

function summarize(r: LocalResult, name: string, t: string): string {
  if (r.kind === 'miss') {
    return `${t} ${name}: not known on any network of this sandbox; forwarded upstream, or SERVFAIL without upstreams`;
  }
  const where = r.network === undefined ? '' : ` on network ${r.network.name} (via ${r.via ?? 'name'} "${r.name}")`;
  if (r.kind === 'nodata') {
    const why =
      r.reason === 'single-label'
        ? 'single-label name with ndots set'
        : r.reason === 'class'
          ? 'known name, class other than IN'
          : `known name without ${t} data`;
    return `${t} ${name}: NODATA${where}: ${why}`;
  }
  const d = r.data;
  const data =
    d.type === 'address'
      ? [...d.set.v4, ...d.set.v6].join(', ')
      : d.type === 'ptr'
        ? `${d.target}.`
        : d.targets.map((s) => `${s.target}.:${s.port}`).join(', ');
  return `${t} ${name}: answered${where}, TTL ${r.network.ttl}: ${data}`;
}
