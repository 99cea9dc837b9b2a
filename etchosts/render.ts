/**
 * A whole hosts file: defaults, extra hosts, own lines (H1, H2; as Docker).
 */
import { formatHostsLine, isIpv6, validateHostsRecords, type HostsRecord } from './entries.js';

/** Default lines of every hosts file (as Docker). */
const DEFAULT_V4: readonly HostsRecord[] = [{ ip: '127.0.0.1', hosts: 'localhost' }];

/** Default IPv6 lines, written only when the sandbox has IPv6 (as Docker). */
const DEFAULT_V6: readonly HostsRecord[] = [
  { ip: '::1', hosts: 'localhost ip6-localhost ip6-loopback' },
  { ip: 'fe00::', hosts: 'ip6-localnet' },
  { ip: 'ff00::', hosts: 'ip6-mcastprefix' },
  { ip: 'ff02::1', hosts: 'ip6-allnodes' },
  { ip: 'ff02::2', hosts: 'ip6-allrouters' },
];

/** What a hosts file is built from. */
export interface RenderHostsOptions {
  /** Whether the sandbox has IPv6: without it, IPv6 defaults and records are left out (H1). */
  ipv6: boolean;
  /** Extra hosts (`--add-host`), in the order given (H2). */
  extra: readonly HostsRecord[];
  /** The sandbox's own records, one per address (H2). */
  own: readonly HostsRecord[];
}

/**
 * Render a hosts file: defaults, then extra hosts, then own lines (H1, H2).
 * Every record is validated first; IPv6 records are dropped without IPv6.
 */
export function renderHosts(opts: RenderHostsOptions): string {
  const extra = validateHostsRecords(opts.extra);
  const own = validateHostsRecords(opts.own);
  const records = opts.ipv6
    ? [...DEFAULT_V4, ...DEFAULT_V6, ...extra, ...own]
    : [...DEFAULT_V4, ...extra, ...own].filter((rec) => !isIpv6(rec.ip));
  return records.map(formatHostsLine).join('');
}
