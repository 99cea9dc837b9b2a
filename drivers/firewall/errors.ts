/**
 * Firewall errors (published ports).
 */
import { SandnsError } from '../../common/errors.js';

/** The host port asked for is taken: by another mapping of sandns, or by a socket of another process (409). */
export class PortAllocatedError extends SandnsError {
  /** `holder`: the endpoint id that publishes it, when it is an endpoint (the controller names it in the message). */
  constructor(hostIp: string | undefined, port: number, protocol: string, by: string, holder?: string) {
    const where = hostIp === undefined ? `*:${port}` : hostIp.includes(':') ? `[${hostIp}]:${port}` : `${hostIp}:${port}`;
    super('ERR_PORT_ALLOCATED', `host port ${where}/${protocol} is already allocated (${by}): choose another host port or omit it for a free one`, 409, {
      details: { hostIp: hostIp ?? null, hostPort: port, protocol, ...(holder === undefined ? {} : { endpointId: holder }) },
    });
    this.name = 'PortAllocatedError';
  }
}

/** No free host port is left in the range asked for (or the daemon's range). */
export class NoFreePortError extends SandnsError {
  constructor(first: number, last: number, protocol: string) {
    super('ERR_PORT_NO_FREE', `no free host port left in ${first}-${last}/${protocol}: widen the range or free a port`, 409, {
      details: { first, last, protocol },
    });
    this.name = 'NoFreePortError';
  }
}

/** Codes defined here (for the README error table test). */
/**
 * The firewall is on but nftables cannot be run (`nft` not found, or not
 * executable): the daemon refuses to start rather than fail every network
 * create later with the nft command line as its error (503).
 */
export class FirewallUnavailableError extends SandnsError {
  constructor(why: string, cause?: unknown) {
    super('ERR_FIREWALL_UNAVAILABLE', `the firewall needs nftables, but ${why}: install it (Debian: apt-get install nftables), or start the daemon with --no-firewall`, 503, {
      ...(cause === undefined ? {} : { cause }),
      details: { why },
    });
    this.name = 'FirewallUnavailableError';
  }
}

/** Another daemon owns the firewall of this network namespace (409): one table per namespace, rebuilt whole by its owner. */
export class FirewallInUseError extends SandnsError {
  constructor(pid: number) {
    super('ERR_FIREWALL_IN_USE', `sandns daemon ${pid === 0 ? '(pid unknown)' : pid} owns the firewall of this network namespace (its nftables table is rebuilt from that daemon's networks alone): stop it (if it uses this --state-dir, it is this daemon, already running), run this one in another namespace, or start it with --no-firewall`, 409, {
      details: { pid },
    });
    this.name = 'FirewallInUseError';
  }
}

export const FIREWALL_ERROR_CODES = ['ERR_PORT_ALLOCATED', 'ERR_PORT_NO_FREE', 'ERR_FIREWALL_UNAVAILABLE', 'ERR_FIREWALL_IN_USE'] as const;
