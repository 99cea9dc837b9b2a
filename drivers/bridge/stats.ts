/**
 * Interface statistics (pure; libcontainer's `NetworkInterface` stats): the
 * counters of /proc/net/dev, and a sandbox interface's counters read from its
 * host-side veth with receive and transmit swapped (what the host end sends,
 * the container receives), as libcontainer does.
 */

/** The counters of one interface. */
export interface LinkCounters {
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly rxErrors: number;
  readonly rxDropped: number;
  readonly txBytes: number;
  readonly txPackets: number;
  readonly txErrors: number;
  readonly txDropped: number;
}

/**
 * Parse /proc/net/dev: two header lines, then `name: rx bytes packets errs drop fifo frame compressed multicast
 * tx bytes packets errs drop fifo colls carrier compressed`.
 */
export function parseProcNetDev(text: string): Map<string, LinkCounters> {
  const out = new Map<string, LinkCounters>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.set(line.slice(0, colon).trim(), {
      rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!,
      txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]!,
    });
  }
  return out;
}

/** The sandbox side's counters from the host side's. */
export function swapDirection(c: LinkCounters): LinkCounters {
  return {
    rxBytes: c.txBytes, rxPackets: c.txPackets, rxErrors: c.txErrors, rxDropped: c.txDropped,
    txBytes: c.rxBytes, txPackets: c.rxPackets, txErrors: c.rxErrors, txDropped: c.rxDropped,
  };
}
