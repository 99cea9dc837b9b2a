/**
 * Conntrack entries of published UDP ports. A UDP flow's conntrack entry
 * keeps the NAT decision made for its first packet for as long as packets
 * keep coming (30 s unreplied, 120 s once assured, renewed by each one): a
 * client sending from one source port to a host port that was published to
 * another container, or not published yet, keeps reaching the old target
 * after a publish or an unpublish. libnetwork deletes those entries at both;
 * so does this, with conntrack(8) (Debian's `conntrack` package) in the
 * daemon's namespace. TCP needs none: a new connection is a new entry.
 */
import { run } from '../../../common/io/exec.js';

/** One host port's UDP flows of one family. */
export interface ConntrackFlow {
  readonly family: 4 | 6;
  readonly port: number;
}

/**
 * Delete the conntrack entries of UDP flows to `port` (their original destination port, before any DNAT), per flow.
 * conntrack exits 1 when nothing matched ("0 flow entries have been deleted"): that is success. Throws when
 * conntrack cannot run (not installed) or fails otherwise.
 */
export async function flushConntrack(flows: readonly ConntrackFlow[]): Promise<void> {
  for (const f of flows) {
    const r = await run('conntrack', ['-D', '-f', f.family === 4 ? 'ipv4' : 'ipv6', '-p', 'udp', '--orig-port-dst', String(f.port)], { reject: false, timeoutMs: 10_000 });
    if (r.exitCode !== 0 && !/0 flow entries have been deleted/.test(`${r.stdout}\n${r.stderr}`)) throw new Error(`conntrack -D of UDP port ${f.port} failed (exit ${r.exitCode}): ${r.stderr.split('\n')[0]}`);
  }
}
