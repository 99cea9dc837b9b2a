/**
 * The `resolve` explanation: resolver explain() for local answers and NODATA
 * (R3–R9), and for a miss what the forwarding rules make of it (R10, R11):
 * which upstreams, in which order, or why there is none and the answer is
 * SERVFAIL. The probe's reply tells a relayed answer from a failure.
 */
import { explain, type ResolverView } from '../../controller/index.js';
import type { ProbeReply } from './dig.js';

/** Where an answer comes from. */
export type AnswerSource = 'local' | 'nodata' | 'upstream' | 'servfail';

/** The explanation the API returns (JSON-friendly, no live objects). */
export interface ExplainView {
  /** One line for people. */
  summary: string;
  source: AnswerSource;
  /** The network whose record table decided (local, nodata). */
  network?: string;
  /** The name as matched (alias, name, reverse name, service name). */
  name?: string;
  via?: string;
  /** NODATA reason: no-data-of-type (R6), single-label (R9), class. */
  reason?: string;
  /** The local answer's data (addresses, PTR target, SRV targets). */
  data?: string[];
  /** The upstreams a miss goes to, in order. */
  upstreams?: string[];
}

function upstreamLabel(u: ResolverView['upstreams'][number]): string {
  return `${u.address}${u.port === 53 ? '' : `:${u.port}`} (${u.origin === 'sandbox' ? "from the sandbox's namespace" : 'from the host'})`;
}

function explainMiss(view: ResolverView, head: string, reply: ProbeReply | undefined, forwarding: boolean): ExplainView {
  // R11: host-side servers are skipped when the sandbox is on internal networks only.
  const usable = view.upstreams.filter((u) => u.origin === 'sandbox' || view.externalAccess).map(upstreamLabel);
  const base = { upstreams: usable };
  if (usable.length === 0) {
    const why = view.upstreams.length === 0
      ? 'there are no upstream servers (the origin resolv.conf names none and the sandbox has no --dns)'
      : 'the only servers are host-side ones and the sandbox is on internal networks only';
    return { ...base, source: 'servfail', summary: `${head}: not known on any network of this sandbox, and ${why}: SERVFAIL` };
  }
  if (!forwarding) {
    return { ...base, source: 'servfail', summary: `${head}: not known locally; this daemon does not forward yet: SERVFAIL` };
  }
  if (reply?.status === 'SERVFAIL' || reply?.status === 'TIMEOUT') {
    return { ...base, source: 'servfail', summary: `${head}: not known locally; forwarded to ${usable.join(', ')}; every server timed out or failed: SERVFAIL` };
  }
  const who = usable.length === 1 ? `answered by ${usable[0]}` : `to ${usable.join(', ')} in order (a server that failed recently goes last, R12)`;
  const status = reply === undefined ? '' : `, relayed as ${reply.status}`;
  return { ...base, source: 'upstream', summary: `${head}: not known locally; forwarded upstream, ${who}${status}` };
}

/** Explain the answer to `name`/`type` for a sandbox's view; `reply` is what the probe got, if it ran. */
export function explainAnswer(view: ResolverView, name: string, type: string, reply: ProbeReply | undefined, forwarding: boolean): ExplainView {
  const e = explain(view, name, type);
  const r = e.result;
  if (r.kind === 'answer') {
    const d = r.data;
    const data = d.type === 'address' ? [...d.set.v4, ...d.set.v6] : d.type === 'ptr' ? [`${d.target}.`] : d.targets.map((t) => `${t.target}.:${t.port}`);
    return { summary: e.summary, source: 'local', network: r.network.name, name: r.name, via: r.via, data };
  }
  if (r.kind === 'nodata') {
    return { summary: e.summary, source: 'nodata', ...(r.network ? { network: r.network.name } : {}), name: r.name, ...(r.via ? { via: r.via } : {}), reason: r.reason };
  }
  return explainMiss(view, `${e.qtype} ${e.name}`, reply, forwarding);
}
