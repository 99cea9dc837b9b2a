/**
 * IPv6 decision for the hosts file (H1, as Docker's Sandbox.IPv6Enabled):
 * whether the namespace's loopback has ::1.
 */
import { closeSync } from 'node:fs';
import { fileLimitOf } from '../../common/errors.js';
import { requireNativeHelper } from '../../common/io/native.js';

/**
 * True when ::1 is there inside the namespace: a UDP socket made there binds to [::1]:0 (the helper switches the
 * thread in and back; no process spawned). It is not when IPv6 is disabled there (net.ipv6.conf.all.disable_ipv6=1
 * takes ::1 off `lo`: EADDRNOTAVAIL) or absent from the kernel (EAFNOSUPPORT). `lo` must be up, as every sandbox's
 * is before this is asked. No file of /proc/sys is read: that lookup slows down with every namespace on the
 * machine (their /proc/sys/net entries share the same names; 1.1 ms at 1,000 sandboxes against 0.05 ms at one),
 * where the bind takes ~25 µs at any count.
 */
export async function netnsIpv6Enabled(nsPath: string): Promise<boolean> {
  try {
    closeSync(requireNativeHelper().socketInNetns(nsPath, 6, 'udp', '::1', 0));
    return true;
  } catch (err) {
    // Out of descriptors says nothing about IPv6: thrown (the operation's 503), never decided as "disabled".
    if (fileLimitOf(err) !== undefined) throw err;
    return false;
  }
}
