/**
 * Interface statistics (pure; libcontainer's `NetworkInterface` stats): the
 * kernel's link counters (IFLA_STATS64, read over rtnetlink by io/netlink.ts),
 * and a sandbox interface's counters read from its host-side veth with receive
 * and transmit swapped (what the host end sends, the container receives), as
 * libcontainer does.
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

/** The kernel's 64-bit link counters (IFLA_STATS64, struct rtnl_link_stats64), as rtnetlink parses them. */
export interface KernelLinkStats {
  readonly rxBytes?: bigint | undefined;
  readonly rxPackets?: bigint | undefined;
  readonly rxErrors?: bigint | undefined;
  readonly rxDropped?: bigint | undefined;
  readonly txBytes?: bigint | undefined;
  readonly txPackets?: bigint | undefined;
  readonly txErrors?: bigint | undefined;
  readonly txDropped?: bigint | undefined;
}

/** One interface's counters from its IFLA_STATS64 (a counter the kernel left out is 0; numbers are exact to 2^53). */
export function countersOf(s: KernelLinkStats): LinkCounters {
  const n = (v: bigint | undefined): number => Number(v ?? 0n);
  return {
    rxBytes: n(s.rxBytes), rxPackets: n(s.rxPackets), rxErrors: n(s.rxErrors), rxDropped: n(s.rxDropped),
    txBytes: n(s.txBytes), txPackets: n(s.txPackets), txErrors: n(s.txErrors), txDropped: n(s.txDropped),
  };
}

/** The sandbox side's counters from the host side's. */
export function swapDirection(c: LinkCounters): LinkCounters {
  return {
    rxBytes: c.txBytes, rxPackets: c.txPackets, rxErrors: c.txErrors, rxDropped: c.txDropped,
    txBytes: c.rxBytes, txPackets: c.rxPackets, txErrors: c.rxErrors, txDropped: c.rxDropped,
  };
}
