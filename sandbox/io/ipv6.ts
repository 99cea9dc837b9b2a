/**
 * IPv6 decision for the hosts file (as Docker): enabled unless the
 * namespace has IPv6 disabled.
 */
import { readFileSync } from 'node:fs';
import { requireNativeHelper } from '../../common/io/native.js';

/**
 * True unless net.ipv6.conf.all.disable_ipv6 is 1 inside the namespace. /proc/sys/net
 * shows the namespace of the thread that opens it, so the read runs switched into it
 * (no process spawned); no IPv6 at all (no such file) counts as disabled.
 */
export async function netnsIpv6Enabled(nsPath: string): Promise<boolean> {
  try {
    const text = requireNativeHelper().callInNetns(nsPath, () => readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8'));
    return text.trim() !== '1';
  } catch {
    return false;
  }
}
