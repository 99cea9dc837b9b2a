/**
 * IPv6 decision for the hosts file (as Docker): enabled unless the
 * namespace has IPv6 disabled.
 */
import { runInNetns } from '../../common/io/exec.js';

/** True unless net.ipv6.conf.all.disable_ipv6 is 1 inside the namespace. */
export async function netnsIpv6Enabled(nsPath: string): Promise<boolean> {
  try {
    const { stdout } = await runInNetns(nsPath, 'cat', ['/proc/sys/net/ipv6/conf/all/disable_ipv6']);
    return stdout.trim() !== '1';
  } catch {
    return false;
  }
}
