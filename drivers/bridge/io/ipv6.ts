/**
 * Whether a link made now in the daemon's namespace can hold IPv6
 * addresses: its `disable_ipv6` comes from conf/default (writing conf/all
 * sets default too), and without the file the kernel has no IPv6 at all
 * (booted with ipv6.disable=1). /proc/sys/net is the reading process's own
 * namespace's.
 */
import { readFile } from 'node:fs/promises';

/** True unless new links here would get IPv6 disabled (or the kernel has none). */
export async function newLinksGetIpv6(): Promise<boolean> {
  const value = await readFile('/proc/sys/net/ipv6/conf/default/disable_ipv6', 'utf8').catch(() => undefined);
  return value !== undefined && value.trim() === '0';
}
