/**
 * Driver errors shared by every driver (G7).
 */
import { SandnsError } from '../common/errors.js';

/**
 * A kernel object a driver would create exists already (409): it is refused
 * up front and never touched, because sandns deletes only what it made
 * (L4). The message names the object and the fix.
 */
export class LinkExistsError extends SandnsError {
  /** `kind` 'sandbox': the name asked for inside the sandbox's namespace (an adopted one can have its own links). */
  constructor(kind: 'bridge' | 'veth' | 'vxlan' | 'sandbox', name: string, cause?: unknown) {
    const where = kind === 'sandbox' ? " in the sandbox's namespace: connect with another ifname" : ` (${kind}): choose another name`;
    super('ERR_LINK_EXISTS', `a network interface named ${name} exists already${where}, or remove it first`, 409, {
      ...(cause === undefined ? {} : { cause }),
      details: { link: name, kind },
    });
    this.name = 'LinkExistsError';
  }
}

/**
 * An IPv6 network (subnet6) on a host whose new links get IPv6 disabled
 * (net.ipv6.conf.default.disable_ipv6=1, or a kernel booted with
 * ipv6.disable=1): the kernel would refuse the bridge's IPv6 gateway
 * address (EACCES). Refused before anything is made (409).
 */
export class HostIpv6DisabledError extends SandnsError {
  constructor(network: string) {
    super(
      'ERR_NETWORK_IPV6_DISABLED',
      `network ${network} has an IPv6 subnet, but IPv6 is disabled on this host (net.ipv6.conf.default.disable_ipv6 is 1, or the kernel has no IPv6): enable it, or leave out subnet6`,
      409,
      { details: { network } },
    );
    this.name = 'HostIpv6DisabledError';
  }
}

/**
 * The network's bridge has no room for another port (409): a Linux bridge
 * holds at most BR_MAX_PORTS - 1 = 1023 ports (net/bridge/br_private.h;
 * the kernel answers EXFULL). Nothing is made: the kernel undoes the veth
 * it created before it gave up. The fix is another network, or fewer
 * endpoints (or other ports) on this one.
 */
export class NetworkFullError extends SandnsError {
  constructor(bridge: string, cause?: unknown) {
    super(
      'ERR_NETWORK_FULL',
      `bridge ${bridge} has no room for another endpoint: a Linux bridge holds at most 1023 ports; connect this sandbox to another network, or disconnect an endpoint first`,
      409,
      { ...(cause === undefined ? {} : { cause }), details: { bridge, maxPorts: 1023 } },
    );
    this.name = 'NetworkFullError';
  }
}
