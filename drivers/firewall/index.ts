/**
 * Firewall public door: nftables for egress, isolation and published ports
 * (pure plans in ruleset.ts, `nft -j` in io/nft.ts), the host switches
 * (io/sysctl.ts) and the held host ports (io/port-holder.ts).
 */
import { Firewall, type FirewallIo, type FirewallOptions } from './firewall.js';
import { applyNft } from './io/nft.js';
import { enableForwarding, enableRouteLocalnet } from './io/sysctl.js';
import { holdPort } from './io/port-holder.js';
import { flushConntrack } from './io/conntrack.js';

export { Firewall } from './firewall.js';
export type { FirewallIo, FirewallOptions, PortHoldLike } from './firewall.js';
export * from './types.js';
export * from './errors.js';
export * as firewallPlan from './ruleset.js';
export { normalizePublishSpecs, normalizeExposedPorts, parsePublish, parseExpose, normalizePublishSpec } from './publish.js';
export { checkNft, listTable } from './io/nft.js';
export { claimFirewall } from './io/owner.js';

/** The real world: nft, /proc/sys/net, sockets. */
export const REAL_FIREWALL_IO: FirewallIo = { apply: (c) => applyNft(c), enableForwarding, enableRouteLocalnet, holdPort, flushConntrack };

/** A firewall acting on the namespace the daemon runs in. */
export function createFirewall(options: FirewallOptions = {}): Firewall {
  return new Firewall(REAL_FIREWALL_IO, options);
}
