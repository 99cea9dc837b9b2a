/**
 * One daemon per network namespace owns the firewall: its nftables table
 * (`inet sandns`) is rebuilt whole from that daemon's networks, so a second
 * daemon in the same namespace (another --state-dir) would wipe the first's
 * published ports, egress and isolation at its first network create, and the
 * last network delete of either would drop the table for both. The claim is
 * a listening unix socket in the abstract namespace (`@sandns-firewall`,
 * common/io/claim.ts): abstract names belong to a network namespace, which
 * is what the table belongs to too, and the kernel frees one when its
 * process ends, however it ends.
 */
import { claimAbstractName } from '../../../common/io/claim.js';
import { FirewallInUseError } from '../errors.js';

/**
 * Claim the firewall of this process's network namespace; returns the release. Throws ERR_FIREWALL_IN_USE (409)
 * naming the owner when another process holds it.
 */
export function claimFirewall(): Promise<() => Promise<void>> {
  return claimAbstractName('sandns-firewall', (pid) => new FirewallInUseError(pid));
}
